"""Painting a video: every frame through one `pipeline.Painter` (the style, AdaIN/WCT targets and
Magenta's style vectors are computed once per video), kept consistent along the motion by the
temporal layer (`painterly.temporal`), read and written by `painterly.video` (audio copied, segments
that survive Ctrl-C, resume).

    stylize_video(src, dst, ...)       a whole video (or a folder of frames) into a video or a folder
    paint_frames(request, frames)      the loop itself over decoded frames, for any caller
    paint_segment(request, src, i, j)  frames i..j of a file, the temporal state seeded by an overlap
                                       (what a distributed engine runs per segment)
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from . import images, methods
from .errors import InputError
from .options import OptionError, check_fields, opt
from .pipeline import Painter, make_request
from .request import Request
from .temporal.blend import KEEP, blend
from .temporal.state import TemporalState

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class VideoOptions:
    """How a video is read, kept consistent and written (the method's options are the request's)."""

    temporal: Optional[bool] = opt(None, help="videos: keep the frames consistent along the motion (optical flow; "
                                              "default on); off paints each frame on its own")
    consistency: float = opt(KEEP, min=0.0, max=0.98,
                             help="one-pass methods: share of the previous output, warped along the motion, kept "
                                  "where the motion is reliable (0 = frame by frame)")
    start: float = opt(0.0, min=0.0, metavar="SECONDS", help="videos: begin this many seconds in")
    duration: Optional[float] = opt(None, above=0.0, metavar="SECONDS", help="videos: paint this many seconds "
                                                                              "(default: to the end)")
    fps: Optional[float] = opt(None, above=0.0, help="a folder of frames as input: its frame rate (default 25)")
    codec: Optional[str] = opt(None, help="video encoder (default libx264; libvpx-vp9 for .webm, mpeg4 for .avi)")
    crf: Optional[int] = opt(None, min=0, max=63, help="video quality, lower is better and larger (default 18 for "
                                                       "libx264, 31 for libvpx-vp9)")
    preset: Optional[str] = opt(None, choices=("ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
                                               "slow", "slower", "veryslow"),
                                help="libx264/libx265 speed preset (default medium)")
    on_error: str = opt("stop", choices=("stop", "continue"),
                        help="a damaged frame in the middle of a video: stop (exit 2), or continue (its place "
                             "repeats the frame before it, so the audio stays in sync)")


@dataclass
class VideoResult:
    """How a video run went: where it went, frames written (in total, this run), speed, what to report."""

    output: Path
    frames: int
    fps: float                                  # the video's frame rate
    interrupted: bool = False
    painted: int = 0                            # frames painted by this run (a resumed run skips some)
    seconds: float = 0.0
    temporal: bool = True
    damaged: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def frames_per_second(self) -> float:
        return self.painted / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class FrameProgress:
    """After each frame: frames done (of `total`, 0 when unknown), painting speed and time left."""

    done: int
    total: int
    fps: float
    eta: Optional[float]
    resumed: int = 0


def _as_float(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float32) / 255.0


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _fit(frame: np.ndarray, size: Optional[int]) -> tuple[np.ndarray, Any]:
    """The frame at the output size as uint8 (what the flow sees) and as the tensor painted."""
    t = images.load_image(frame, "frame")
    hw = images.fit_size(frame.shape[0], frame.shape[1], size)
    if hw != tuple(t.shape[-2:]):
        t = images.resize(t, hw)
        frame = _to_uint8(t[0].permute(1, 2, 0).numpy())
    return frame, t


def paint_frames(request: Request, frames: Iterable[tuple[int, Optional[np.ndarray]]], *, temporal: bool = True,
                 consistency: float = KEEP, state: Optional[TemporalState] = None,
                 painter: Optional[Painter] = None) -> Iterator[tuple[int, Optional[np.ndarray], TemporalState]]:
    """Paint `(index, frame)` pairs ((H, W, 3) uint8, in order) with `request`; yields `(index, output
    uint8 or None for a damaged frame, state)`. With `temporal`, each frame follows the previous output
    along the optical flow: methods with `uses_guide` get it as `Run.guide`, the others are blended
    with it (`temporal.blend`); a frame identical to the one before gets the same output. `state`:
    continue from an earlier frame (a resumed run, a segment's overlap)."""
    painter = painter or Painter(request)
    state = state or TemporalState()
    uses_guide = painter.method.uses_guide
    size = request.transfer.size
    for index, frame in frames:
        if frame is None:
            yield index, None, state
            continue
        small, tensor = _fit(frame, size)
        if temporal and state.same_as_previous(small):
            out = state.output
        else:
            guide = state.guide(small) if temporal else None
            res = painter(tensor, guide=guide)
            out = res.tensor[0].permute(1, 2, 0).float().numpy()
            if guide is not None and not uses_guide and out.shape == guide.previous.shape:
                # pixels the run left as the photo (outside a mask) stay the photo: only painted ones follow
                photo = tensor[0].permute(1, 2, 0).float().numpy()
                kept = np.all(out == photo, axis=-1) if photo.shape == out.shape else None
                out = blend(out, guide, consistency)
                if kept is not None and kept.any():
                    out[kept] = photo[kept]
        state.commit(small, out)
        yield index, _to_uint8(out), state


def paint_segment(request: Request, src: PathLike, first: int, last: int, overlap: int = 0, *,
                  temporal: bool = True, consistency: float = KEEP, start: float = 0.0,
                  painter: Optional[Painter] = None) -> list[np.ndarray]:
    """Frames `first`..`last` (inclusive, counted from `start` seconds) of the video or frames folder
    `src`, painted as uint8 arrays. With `temporal`, the `overlap` frames before `first` are painted
    too, only to seed the temporal state, so that segments painted apart join smoothly; `overlap=0`
    starts the segment as a video's first frame. `painter`: the request already prepared (an engine's
    worker paints many segments with one)."""
    from .video import Frames
    if first < 0 or last < first or overlap < 0:
        raise ValueError(f"paint_segment needs 0 <= first <= last and overlap >= 0, got {first}, {last}, {overlap}")
    lead = min(overlap, first) if temporal else 0
    src_frames = Frames(src, start, on_error="continue")
    out: list[np.ndarray] = []
    reader = src_frames.read(first - lead)
    frames = ((i, f) for i, f in reader if i <= last)
    for i, img, _ in paint_frames(request, frames, temporal=temporal, consistency=consistency, painter=painter):
        if i >= first:
            if img is None:
                img = out[-1] if out else None
            if img is not None:
                out.append(img)
        if i >= last:
            break
    return out


def _key(request: Request, src: Path, o: VideoOptions) -> str:
    """What a resumed run must share with the run it continues: inputs, options, the source file."""
    st = src.stat()
    text = repr((str(src.resolve()), st.st_size, int(st.st_mtime), request.with_content(None), dataclasses.replace(
        o, on_error="stop")))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def video_options(options: Optional[VideoOptions] = None, **values: Any) -> VideoOptions:
    """`options` (or the defaults) with `values` replaced, checked."""
    o = options or VideoOptions()
    if values:
        o = dataclasses.replace(o, **values)
    return check_fields(o)


def stylize_video(src: PathLike, dst: PathLike, styles: Sequence[PathLike] = (),
                  progress: Optional[Callable[[FrameProgress], None]] = None, *, request: Optional[Request] = None,
                  temporal: Optional[bool] = True, video: Optional[VideoOptions] = None, resume: bool = False,
                  on_damaged: Optional[Callable[[int, str], None]] = None, paint: Optional[Callable] = None,
                  **options: Any) -> VideoResult:
    """Paint the video (or folder of frames, sorted by name) `src` into the video or frames folder
    `dst`, frame after frame with one request. `temporal` (default on) keeps frames consistent
    along the motion; False paints each frame on its own. `video`: a `VideoOptions` (start,
    duration, codec, crf, preset, on_error, consistency). The audio is copied unchanged. Ctrl-C or
    SIGTERM keep a playable video of the frames done (with its audio); `resume=True` continues
    such a run. `progress(FrameProgress)` after each frame; `on_damaged(frame, reason)` for each
    damaged frame skipped. `paint(request, frames, first, video_options, state, painter)`: who paints
    the frames from index `first` on, yielding `(index, uint8 output, state)` in order like
    `paint_frames` (default: `paint_frames` here; an engine paints segments elsewhere). `request`, or
    `run_stylize`'s keywords in `options` (`method=`, `size=` ...)."""
    from . import video as vio
    video_fields = {f.name for f in dataclasses.fields(VideoOptions)}
    vo = video_options(video, **{k: options.pop(k) for k in list(options) if k in video_fields})
    if temporal is not None and vo.temporal is None:
        vo = dataclasses.replace(vo, temporal=temporal)
    on = vo.temporal is not False
    if request is not None and options:
        raise TypeError(f"give either a request or options, not both: {', '.join(sorted(options))}")
    req = request or make_request(None, list(styles), **options)
    src = Path(src)
    if not src.exists():
        raise InputError(f"video {src} does not exist")
    damaged: list[int] = []

    def note_damaged(i: int, reason: str) -> None:
        damaged.append(i)
        if on_damaged:
            on_damaged(i, reason)
    frames = vio.Frames(src, vo.start, vo.duration, vo.on_error, vo.fps, note_damaged)
    if not frames.expected:
        raise InputError(f"video {src} has no frames" + (f" after {vo.start:g} s" if vo.start else ""))
    painter = Painter(req)                # checks styles, method and options before anything is written
    out = vio.writer(dst, frames, _key(req, src, vo), vo.codec, vo.crf, vo.preset, resume)
    state = TemporalState()
    if out.state is not None and "frame" in out.state:
        state.seed(out.state["frame"], out.state["output"])
    resumed = out.done
    result = VideoResult(Path(dst), out.done, frames.fps, temporal=on, damaged=damaged)
    t0 = time.perf_counter()
    last: Optional[np.ndarray] = state.output if state.output is None else _to_uint8(state.output)
    pending = 0

    def snapshot() -> dict:
        return {"frame": state.frame, "output": state.output} if on and state.frame is not None else {}
    try:
        painted = (paint(req, frames, out.done, dataclasses.replace(vo, temporal=on), state, painter) if paint else
                   paint_frames(req, frames.read(out.done), temporal=on, consistency=vo.consistency, state=state,
                                painter=painter))
        for i, img, _ in painted:
            if img is None:
                if last is None:
                    pending += 1
                    continue
                img = last
            for _ in range(pending + 1):
                out.write(img)
            pending, last = 0, img
            result.painted += 1
            result.frames = out.done
            if isinstance(out, vio.PartsWriter) and out.due():
                out.checkpoint(snapshot())
            elif isinstance(out, vio.FolderWriter) and result.painted % 10 == 0:
                out.checkpoint(snapshot())
            if progress:
                dt = time.perf_counter() - t0
                fps = result.painted / dt if dt else 0.0
                left = frames.expected - out.done
                progress(FrameProgress(out.done, frames.expected, fps, left / fps if fps else None, resumed))
    except KeyboardInterrupt:
        result.interrupted = True
    except BaseException:
        if isinstance(out, vio.PartsWriter):
            out.abandon()
        raise
    result.seconds = time.perf_counter() - t0
    if isinstance(out, vio.PartsWriter) and not out.done:
        out.abandon()
        if not result.interrupted:
            raise InputError(f"video {src} has no decodable frames")
        return result
    out.checkpoint(snapshot())
    out.finish(not result.interrupted, src, vo.start)
    result.frames = out.done
    if out.note:
        result.notes.append(out.note)
    return result


__all__ = ["FrameProgress", "VideoOptions", "VideoResult", "paint_frames", "paint_segment", "stylize_video",
           "video_options"]
