"""Video in, video out, frame by frame (PyAV / FFmpeg): any image-to-image function becomes a
video filter. The output keeps the frame rate; audio is not copied. Written to a temporary
file and renamed, so an interrupted run leaves a playable video of the frames done so far."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional, Union

from PIL import Image

from .errors import InputError

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}
_CODECS = {".webm": "libvpx-vp9", ".avi": "mpeg4"}


def is_video(path: Union[str, os.PathLike]) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _open(path: Path):
    import av
    if not path.is_file():
        raise InputError(f"video {path} does not exist")
    try:
        container = av.open(str(path))
    except Exception as e:  # noqa: BLE001 - PyAV raises FFmpeg errors of many kinds
        raise InputError(f"video {path} cannot be read ({e.__class__.__name__}): not a video or damaged") from None
    if not container.streams.video:
        container.close()
        raise InputError(f"video {path} has no video stream")
    return container


def probe(path: Union[str, os.PathLike]) -> dict:
    """Frame count (estimated when the container does not say), frame rate, width, height."""
    with _open(Path(path)) as c:
        s = c.streams.video[0]
        rate = s.average_rate or s.guessed_rate or Fraction(25)
        frames = s.frames
        if not frames and s.duration:
            frames = int(float(s.duration * s.time_base * rate))
        return {"frames": int(frames or 0), "fps": float(rate), "rate": rate, "width": s.width, "height": s.height}


def filter_video(src: Union[str, os.PathLike], dst: Union[str, os.PathLike],
                 fn: Callable[[Image.Image], Image.Image], progress: Optional[Callable[[int], None]] = None,
                 max_frames: Optional[int] = None) -> int:
    """Apply `fn` to every frame of `src`, encode to `dst` (H.264 for .mp4/.mov/.mkv); returns frames written."""
    import av
    src, dst = Path(src), Path(dst)
    if dst.suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(f"output {dst} must be a video ({', '.join(sorted(VIDEO_SUFFIXES))}) when the input is one")
    info = probe(src)
    tmp = dst.with_name(f".{dst.stem}.{os.getpid()}.tmp{dst.suffix}")
    written = 0
    out = None
    try:
        with _open(src) as inp:
            stream_in = inp.streams.video[0]
            stream_in.thread_type = "AUTO"
            out = av.open(str(tmp), mode="w")
            stream = None
            try:
                for frame in inp.decode(stream_in):
                    img = fn(frame.to_image())
                    if stream is None:
                        stream = out.add_stream(_CODECS.get(dst.suffix.lower(), "libx264"), rate=info["rate"])
                        stream.width, stream.height = img.width - img.width % 2, img.height - img.height % 2
                        stream.pix_fmt = "yuv420p"
                    if img.size != (stream.width, stream.height):
                        img = img.crop((0, 0, stream.width, stream.height))
                    for packet in stream.encode(av.VideoFrame.from_image(img)):
                        out.mux(packet)
                    written += 1
                    if progress:
                        progress(written)
                    if max_frames and written >= max_frames:
                        break
            finally:
                if stream is not None:
                    for packet in stream.encode():
                        out.mux(packet)
                out.close()
                out = None
                if written:
                    os.replace(tmp, dst)
    except av.error.InvalidDataError as e:
        raise InputError(f"video {src} is damaged ({e})") from None
    finally:
        if out is not None:
            out.close()
        if tmp.exists():
            tmp.unlink()
    if not written:
        raise InputError(f"video {src} has no decodable frames")
    return written
