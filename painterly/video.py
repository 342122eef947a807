"""Video in and out (PyAV / FFmpeg), and image sequences: frames are decoded in order as (H, W, 3)
uint8 arrays (`Frames`), and written either as numbered PNGs (`FolderWriter`) or as a video in
segments under OUT.parts/ that are joined, with the source's audio copied unchanged (no
re-encoding), into OUT (`PartsWriter`). Every segment closes cleanly, so an interrupted run leaves
a playable video with its audio and can be resumed. Library errors are `InputError`s naming the file."""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from . import images
from .errors import InputError
from .options import OptionError

PathLike = Union[str, os.PathLike]

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}
#: The encoder each container gets unless `codec` says otherwise.
DEFAULT_CODECS = {".webm": "libvpx-vp9", ".avi": "mpeg4"}
DEFAULT_CODEC = "libx264"
#: Constant-quality defaults (lower = better, larger): visually near-lossless for x264/x265.
DEFAULT_CRF = {"libx264": 18, "libx265": 20, "libvpx-vp9": 31, "libaom-av1": 30, "libsvtav1": 30}
PRESET_CODECS = ("libx264", "libx265")
#: Audio codecs each container can hold as they are (anything else is left out, with a note).
AUDIO_OK = {".mp4": {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"},
            ".m4v": {"aac", "mp3", "ac3", "eac3", "alac"}, ".mov": {"aac", "mp3", "ac3", "alac", "pcm_s16le"},
            ".webm": {"opus", "vorbis"}, ".avi": {"mp3", "ac3", "pcm_s16le", "aac"}, ".mkv": None}
#: Frame rate of a folder of frames unless given.
FOLDER_FPS = 25.0
#: A segment of the output is closed (and safe on disk) after this many seconds of work or frames.
PART_SECONDS, PART_FRAMES = 30.0, 300


def is_video(path: PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def is_frames_folder(path: PathLike) -> bool:
    """An output path that means 'a folder of numbered frames': an existing folder, a trailing
    slash, or a name without a suffix."""
    s = str(path)
    return Path(s).is_dir() or s.endswith(("/", os.sep)) or not Path(s).suffix


def _open(path: Path) -> Any:
    import av
    if not path.is_file():
        raise InputError(f"video {path} does not exist")
    try:
        container = av.open(str(path))
    except Exception as e:  # noqa: BLE001 - PyAV raises FFmpeg errors of many kinds
        raise InputError(f"video {path} cannot be read ({e.__class__.__name__}): not a video, or damaged") from None
    if not container.streams.video:
        container.close()
        raise InputError(f"video {path} has no video stream")
    return container


def probe(path: PathLike) -> dict:
    """Frame count (estimated when the container does not say), frame rate, size, audio codec, seconds."""
    with _open(Path(path)) as c:
        s = c.streams.video[0]
        rate = s.average_rate or s.guessed_rate or Fraction(25)
        seconds = float(s.duration * s.time_base) if s.duration else (c.duration / 1e6 if c.duration else 0.0)
        frames = s.frames or int(round(seconds * float(rate)))
        audio = c.streams.audio[0].codec_context.name if c.streams.audio else None
        return {"frames": int(frames or 0), "fps": float(rate), "rate": rate, "width": s.width, "height": s.height,
                "audio": audio, "seconds": seconds}


# ----------------------------------------------------------------------------- reading

class Frames:
    """The frames of a video file or of a folder of images (sorted by name) from `start` seconds for
    `duration` seconds. Iterating yields (index, frame) with index counted from `start`; a frame
    that cannot be decoded stops with an InputError naming it (`on_error="stop"`), or is yielded as
    None (`"continue"`) after `on_damaged(index, reason)`."""

    def __init__(self, src: PathLike, start: float = 0.0, duration: Optional[float] = None,
                 on_error: str = "stop", fps: Optional[float] = None,
                 on_damaged: Optional[Callable[[int, str], None]] = None):
        self.src, self.start, self.duration, self.on_error = Path(src), float(start or 0.0), duration, on_error
        self.on_damaged = on_damaged
        self.folder = self.src.is_dir()
        if self.folder:
            self.files = images.list_images(self.src, "frames")
            self.rate = Fraction(fps or FOLDER_FPS).limit_denominator(1001)
            w, h = images.image_size(self.files[0], "frame")
            self.width, self.height, self.audio, total = w, h, None, len(self.files)
            first = int(round(self.start * float(self.rate)))
            self.files = self.files[first:]
        else:
            info = probe(self.src)
            self.rate, self.width, self.height, self.audio = info["rate"], info["width"], info["height"], info["audio"]
            total = max(0, info["frames"] - int(round(self.start * info["fps"])))
            if info["seconds"] and self.start >= info["seconds"]:
                raise OptionError("start", f"{self.start:g} s is past the end of {self.src} ({info['seconds']:.2f} s)")
        self.fps = float(self.rate)
        if self.folder and not self.files:
            raise OptionError("start", f"{self.start:g} s is past the last frame of {self.src}")
        total = len(self.files) if self.folder else total
        self.expected = min(total, math.ceil(duration * self.fps)) if duration else total

    def __iter__(self) -> Iterator[tuple[int, Optional[np.ndarray]]]:
        return self.read()

    def _damaged(self, index: int, reason: str, where: str) -> None:
        if self.on_error == "stop":
            raise OptionError("on_error", f"is stop, and {where} is damaged ({reason}): set it to continue to "
                                          "paint on, repeating the frame before it")
        if self.on_damaged:
            self.on_damaged(index, f"{where} is damaged ({reason})")

    def read(self, skip: int = 0) -> Iterator[tuple[int, Optional[np.ndarray]]]:
        """The frames in order, leaving out the first `skip` (a resumed run)."""
        end = self.expected
        if self.folder:
            for i in range(skip, end):
                try:
                    yield i, np.asarray(images.to_rgb(images.open_image(self.files[i], "frame")))
                except InputError as e:
                    self._damaged(i, str(e).split(" is ", 1)[-1], f"frame {self.files[i]}")
                    yield i, None
            return
        yield from self._decode(skip, end)

    def _decode(self, skip: int, end: int) -> Iterator[tuple[int, Optional[np.ndarray]]]:
        import av
        with _open(self.src) as c:
            stream = c.streams.video[0]
            stream.thread_type = "SLICE"          # frame threading would report errors frames late
            tb = stream.time_base
            t0 = self.start
            if t0 > 0:
                c.seek(int(t0 / tb) + (stream.start_time or 0), stream=stream, backward=True, any_frame=False)
            i = 0
            half = 0.5 / self.fps
            for packet in c.demux(stream):
                try:
                    decoded = packet.decode()
                except (av.error.InvalidDataError, av.error.PatchWelcomeError, av.error.BugError) as e:   # a damaged packet mid-stream
                    if i >= skip:
                        at = (packet.pts - (stream.start_time or 0)) * tb if packet.pts is not None else None
                        n = round(float(at) * self.fps) if at is not None else i + round(t0 * self.fps)
                        where = f"video {self.src}, frame {n + 1}" + (f" (at {float(at):.2f} s)" if at is not None else "")
                        self._damaged(i, getattr(e, "strerror", None) or str(e), where)
                        yield i, None
                    i += 1
                    if i >= end:
                        return
                    continue
                for frame in decoded:
                    ts = (frame.pts - (stream.start_time or 0)) * tb if frame.pts is not None else None
                    if ts is not None and t0 > 0 and ts < t0 - half:
                        continue                  # before the start (seeking lands on a keyframe)
                    if i >= end:
                        return
                    if i >= skip:
                        yield i, frame.to_ndarray(format="rgb24")
                    i += 1
            if i == 0 and not skip:
                raise InputError(f"video {self.src} has no decodable frames")


# ----------------------------------------------------------------------------- writing

def _np_save(path: Path, **arrays: np.ndarray) -> None:
    def write(f):
        np.savez(f, **arrays)
    images._atomic_write(path, write, True)


class FolderWriter:
    """Numbered PNGs OUT/frame_000001.png ... (lossless), each written atomically; a resumed run
    continues after the last complete one."""

    def __init__(self, dst: PathLike, key: str, resume: bool = False):
        self.dir = images.prepare_output_folder(dst, "output")
        self.state_file = self.dir / ".painterly-resume.npz"
        self.key = key
        existing = sorted(self.dir.glob("frame_*.png"))
        self.done = 0
        if resume:
            self.done, self.state = _resume_state(self.state_file, key, self.dir)
            self.done = min(self.done, len(existing))
        else:
            self.state = None
            for f in existing:            # a fresh run replaces an earlier run's frames
                f.unlink()
        self.note: Optional[str] = None

    def write(self, frame: np.ndarray) -> None:
        self.done += 1
        images.save_image(images.Image.fromarray(frame), self.dir / f"frame_{self.done:06d}.png")

    def checkpoint(self, state: dict) -> None:
        _np_save(self.state_file, key=np.array(self.key), done=np.array(self.done), **state)

    def finish(self, complete: bool, audio_from: Optional[PathLike] = None, start: float = 0.0) -> Path:
        """Frames have no audio; a complete run removes its resume state."""
        if complete and self.state_file.exists():
            self.state_file.unlink()
        return self.dir


def _resume_state(path: Path, key: str, where: Path) -> tuple[int, Optional[dict]]:
    """(frames done, temporal state) of an interrupted run with the same settings."""
    if not path.exists():
        raise OptionError("resume", f"found nothing to resume in {where}: run without it first")
    with np.load(path) as z:
        if str(z["key"]) != key:
            raise OptionError("resume", f"{where} was made with other inputs or options: run without it to start "
                                        "again")
        return int(z["done"]), {k: z[k] for k in z.files if k not in ("key", "done")}


class PartsWriter:
    """A video written in segments under OUT.parts/ (each a complete, playable file once closed) and
    joined into OUT, with the source's audio, by `finish`. `resume` continues after the segments an
    interrupted run closed."""

    def __init__(self, dst: PathLike, rate: Fraction, key: str, codec: Optional[str] = None,
                 crf: Optional[int] = None, preset: Optional[str] = None, resume: bool = False):
        import av
        self.dst = Path(dst)
        self.suffix = self.dst.suffix.lower()
        if self.suffix not in VIDEO_SUFFIXES:
            raise InputError(f"output {self.dst} must be a video ({', '.join(sorted(VIDEO_SUFFIXES))}) or a folder "
                             "of frames when the input is a video")
        images.check_output_path(self.dst, {self.suffix})
        self.codec = codec or DEFAULT_CODECS.get(self.suffix, DEFAULT_CODEC)
        if self.codec not in av.codecs_available:
            raise OptionError("codec", f"'{self.codec}' is not an encoder this FFmpeg has (e.g. libx264, libx265, "
                                       "libvpx-vp9, mpeg4)")
        if preset is not None and self.codec not in PRESET_CODECS:
            raise OptionError("preset", f"works with {', '.join(PRESET_CODECS)}, not {self.codec}")
        self.crf = crf if crf is not None else DEFAULT_CRF.get(self.codec)
        if crf is not None and self.codec not in DEFAULT_CRF:
            raise OptionError("crf", f"works with {', '.join(DEFAULT_CRF)}, not {self.codec}")
        self.preset = preset or ("medium" if self.codec in PRESET_CODECS else None)
        self.rate, self.key = rate, key
        self.size: Optional[tuple[int, int]] = None   # the first frame's, even (4:2:0 needs it)
        self.parts = self.dst.with_name(self.dst.name + ".parts")
        self.manifest_file = self.parts / "manifest.json"
        self.manifest: dict = {"key": key, "parts": []}
        self.state: Optional[dict] = None
        if resume:
            if not self.manifest_file.exists():
                raise OptionError("resume", f"found nothing to resume for {self.dst} (no {self.parts}): run without it "
                                            "first")
            m = json.loads(self.manifest_file.read_text())
            if m.get("key") != key:
                raise OptionError("resume", f"{self.parts} was made with other inputs or options: run without it to "
                                            "start again")
            self.manifest = m
            self.size = tuple(m["size"]) if m.get("size") else None
            self.manifest["parts"] = [p for p in m["parts"] if (self.parts / p["file"]).is_file()]
            if (self.parts / "state.npz").exists():
                self.state = _resume_state(self.parts / "state.npz", key, self.parts)[1]
        else:
            if self.parts.exists():
                shutil.rmtree(self.parts)
            self.parts.mkdir()
        self.done = sum(p["frames"] for p in self.manifest["parts"])
        self._out: Any = None
        self._stream: Any = None
        self._frames = 0
        self._opened = 0.0
        self.note: Optional[str] = None

    def _open_part(self) -> None:
        import av
        n = len(self.manifest["parts"])
        self._name = f"part_{n:05d}{self.suffix}"
        self._tmp = self.parts / f".{self._name}.tmp{self.suffix}"
        self._out = av.open(str(self._tmp), mode="w")
        opts = {}
        if self.crf is not None:
            opts["crf"] = str(self.crf)
            if self.codec == "libvpx-vp9":
                opts["b"] = "0"
        if self.preset:
            opts["preset"] = self.preset
        s = self._out.add_stream(self.codec, rate=self.rate, options=opts)
        s.width, s.height = self.size
        s.pix_fmt = "yuv420p"
        self._stream, self._frames, self._opened = s, 0, time.monotonic()

    def write(self, frame: np.ndarray) -> None:
        import av
        if self.size is None:
            h, w = frame.shape[:2]
            self.size = (w - w % 2, h - h % 2)
            self.manifest["size"] = list(self.size)
        if self._out is None:
            self._open_part()
        w, h = self.size
        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:h, :w]), format="rgb24")
        f.pts = self._frames
        f.time_base = 1 / Fraction(self.rate)
        for packet in self._stream.encode(f):
            self._out.mux(packet)
        self._frames += 1
        self.done += 1

    def due(self) -> bool:
        """Time to close the segment (so a crash loses at most this much)."""
        return self._out is not None and (self._frames >= PART_FRAMES
                                          or time.monotonic() - self._opened >= PART_SECONDS)

    def checkpoint(self, state: dict) -> None:
        """Close the open segment (flush the encoder) and record it with the temporal state."""
        from .signals import uninterrupted
        if self._out is None:
            return
        with uninterrupted():
            for packet in self._stream.encode():
                self._out.mux(packet)
            self._out.close()
            os.replace(self._tmp, self.parts / self._name)
            self.manifest["parts"].append({"file": self._name, "frames": self._frames})
            if state:
                _np_save(self.parts / "state.npz", key=np.array(self.key), done=np.array(self.done), **state)
            images.atomic_write_text(self.manifest_file, json.dumps(self.manifest, indent=1))
            self._out = None

    def abandon(self) -> None:
        """Drop the open segment unwritten (after an error)."""
        if self._out is not None:
            try:
                self._out.close()
            except Exception:  # noqa: BLE001 - the segment is dropped anyway
                pass
            self._out = None
            if self._tmp.exists():
                self._tmp.unlink()

    def finish(self, complete: bool, audio_from: Optional[PathLike] = None, start: float = 0.0) -> Path:
        """Join the segments into OUT (temp file, then rename) with the audio of `audio_from` from
        `start` for as long as the video; remove OUT.parts/ when `complete`."""
        from .signals import uninterrupted
        if not self.manifest["parts"]:
            return self.dst
        with uninterrupted():
            self._join(audio_from, start)
            if complete:
                shutil.rmtree(self.parts, ignore_errors=True)
        return self.dst

    def _join(self, audio_from: Optional[PathLike], start: float) -> None:
        import av
        tmp = self.dst.with_name(f".{self.dst.stem}.{os.getpid()}.tmp{self.suffix}")
        seconds = self.done / float(self.rate)
        try:
            with av.open(str(tmp), mode="w") as out:
                parts = [av.open(str(self.parts / p["file"])) for p in self.manifest["parts"]]
                try:
                    v_out = out.add_stream_from_template(parts[0].streams.video[0])
                    src = self._audio_source(audio_from)
                    a_out = out.add_stream_from_template(src.streams.audio[0]) if src is not None else None
                    offset = 0.0
                    for part, p in zip(parts, self.manifest["parts"]):
                        s = part.streams.video[0]
                        shift = int(round(offset / s.time_base))
                        for packet in part.demux(s):
                            if not packet.size:             # the demuxer's end marker
                                continue
                            if packet.pts is not None:
                                packet.pts += shift
                            if packet.dts is not None:
                                packet.dts += shift
                            packet.stream = v_out
                            out.mux(packet)
                        offset += p["frames"] / float(self.rate)
                    if a_out is not None:
                        self._copy_audio(src, out, a_out, start, seconds)
                finally:
                    for part in parts:
                        part.close()
                    if src is not None:
                        src.close()
            os.replace(tmp, self.dst)
        finally:
            if tmp.exists():
                tmp.unlink()

    def _audio_source(self, audio_from: Optional[PathLike]) -> Any:
        """The source opened for its audio, or None (no audio, or a codec this container cannot hold)."""
        import av
        if audio_from is None or Path(audio_from).is_dir():
            return None
        src = av.open(str(audio_from))
        if not src.streams.audio:
            src.close()
            return None
        name = src.streams.audio[0].codec_context.name
        allowed = AUDIO_OK.get(self.suffix)
        if allowed is not None and name not in allowed:
            self.note = f"the audio ({name}) cannot go into {self.suffix} unchanged: left out (use .mkv or .mp4)"
            src.close()
            return None
        return src

    @staticmethod
    def _copy_audio(src: Any, out: Any, a_out: Any, start: float, seconds: float) -> None:
        """Audio packets from `start` to `start + seconds`, moved to begin at 0, bytes unchanged."""
        a = src.streams.audio[0]
        tb = a.time_base
        first = a.start_time or 0
        if start > 0:
            src.seek(int(start / tb) + first, stream=a, backward=True)
        shift = int(round(start / tb)) + first
        for packet in src.demux(a):
            if not packet.size or packet.pts is None:
                continue
            t = (packet.pts - first) * tb
            if start > 0 and t + (packet.duration or 0) * tb <= start:
                continue
            if t >= start + seconds:
                break
            packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
            if start > 0 and packet.pts < 0:     # began before the cut (at 0 it is the encoder's priming)
                continue
            packet.stream = a_out
            out.mux(packet)


def writer(dst: PathLike, frames: Frames, key: str, codec: Optional[str] = None, crf: Optional[int] = None,
           preset: Optional[str] = None, resume: bool = False) -> Union[FolderWriter, PartsWriter]:
    """The writer `dst` asks for: a folder of PNG frames, or a video."""
    if is_frames_folder(dst):
        for name, v in (("codec", codec), ("crf", crf), ("preset", preset)):
            if v is not None:
                raise OptionError(name, f"is for a video output, not the folder of frames {dst}")
        return FolderWriter(dst, key, resume)
    return PartsWriter(dst, frames.rate, key, codec, crf, preset, resume)


def read_all(path: PathLike) -> list[np.ndarray]:
    """Every frame of a video (or folder of frames) as uint8 arrays: for tests and benchmarks."""
    return [f for _, f in Frames(path) if f is not None]
