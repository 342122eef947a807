"""Short videos over HTTP: `POST /api/videos` queues a job (followed at /api/jobs/{id} like any other),
painted frame by frame with a one-pass method by `painterly.stylize_video` (kept steady along the
motion, audio copied). The upload is capped while it streams in and its length, frame count and
size are read from the container's header before a frame is decoded."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from PIL import Image
from starlette.datastructures import UploadFile

from .. import video
from ..errors import InputError
from ..request import Request as PaintRequest
from . import forms, painting, uploads
from .forms import FieldError, Order
from .jobs import Job
from .state import Settings, WebState, get_state

router = APIRouter(prefix="/api/videos")
log = logging.getLogger("painterly.web")
SUFFIXES = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi")
CHUNK = 1 << 20


async def save_upload(st: WebState, f: UploadFile) -> Path:
    """Stream the uploaded video to a private file, refusing it (413) as soon as it passes the cap."""
    s = st.settings
    suffix = Path(f.filename or "").suffix.lower()
    path = st.store.new_path(".upload" + (suffix if suffix in SUFFIXES else ".bin"))
    size = 0
    try:
        with open(path, "wb") as out:
            while chunk := await f.read(CHUNK):
                size += len(chunk)
                if size > s.max_video_bytes:
                    raise FieldError("content", f"the video is larger than {s.max_video_bytes // 2**20} MB, this "
                                                "server's limit", status=413, prefix=False)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def check_header(path: Path, s: Settings) -> dict:
    """The video's length, frame count and size from its header, against this server's limits."""
    try:
        info = video.probe(path)
    except InputError:
        raise FieldError("content", "the video cannot be read: not a video this server can decode, or damaged",
                         prefix=False) from None
    seconds = info["seconds"] or (info["frames"] / info["fps"] if info["fps"] else 0.0)
    if not seconds or not info["frames"]:
        raise FieldError("content", "the video's header does not say how long it is: re-encode it (e.g. as MP4)",
                         prefix=False)
    if seconds > s.max_video_seconds + 0.05:
        raise FieldError("content", f"the video is {seconds:.1f} s long; this server paints videos of up to "
                                    f"{s.max_video_seconds:g} s: trim it", status=413, prefix=False)
    if info["frames"] > s.max_video_seconds * 60:
        raise FieldError("content", f"the video has {info['frames']} frames; this server paints up to "
                                    f"{s.max_video_seconds * 60:.0f}", status=413, prefix=False)
    if info["width"] * info["height"] > s.max_pixels:
        raise FieldError("content", f"the video's frames are too large ({info['width']}x{info['height']}); this "
                                    f"server accepts up to {s.max_pixels / 1e6:g} MP", status=413, prefix=False)
    return info


@router.post("", status_code=202, openapi_extra={"x-painterly-form": True})
async def submit_video(request: Request, st: WebState = Depends(get_state)) -> dict:
    """Paint a short video (`content`) with a one-pass method: the same form as /api/jobs. Poll
    /api/jobs/{id} (step = frames done); the result is an MP4 with the original audio."""
    form = await request.form(max_files=2, max_fields=64, max_part_size=st.settings.max_video_bytes + CHUNK)
    order = forms.parse(form, st.settings)
    if order.transfer.get("where"):
        raise FieldError("where", "paints part of a photo; a video is painted whole: leave it empty")
    if order.method.iterative:
        able = ", ".join(m.name for m in forms.catalog.web_methods() if not m.iterative)
        raise FieldError("method", f"{order.method.name} paints step by step, too slow for a video: use one of {able}")
    src = await save_upload(st, order.content)
    try:
        info = await st.in_decode_thread(check_header, src, st.settings)
        style = await uploads.read_upload(st, order.style, "style") if order.style is not None else None
        frame = Image.new("RGB", (info["width"], info["height"]))      # the checks need only its size
        req = await st.in_decode_thread(painting.build_request, st, order, frame, style)
        req = req.with_content(None)
    except BaseException:
        src.unlink(missing_ok=True)
        raise
    job = st.book.new(int(info["frames"]))
    try:
        job.ticket = st.queue.enter()
    except Exception as e:
        src.unlink(missing_ok=True)
        job.state, job.error = "failed", str(e)
        raise
    job.task = asyncio.create_task(_work(st, job, order, req, src))
    return job.status(st.queue)


def paint_video(st: WebState, req: PaintRequest, src: Path, job: Job) -> dict:
    """The video painted into the result store (in a worker thread); a Stop keeps the frames done."""
    from ..video_paint import stylize_video

    def progress(p) -> None:
        job.step, job.steps = p.done, p.total or job.steps
        if job.stop.is_set():
            raise KeyboardInterrupt
    dst = st.store.new_path(".mp4")
    try:
        res = stylize_video(src, dst, request=req, progress=progress)
    except KeyboardInterrupt:
        raise InputError("stopped before the first frame: nothing to keep") from None
    if not dst.is_file():
        raise InputError("stopped before the first frame: nothing to keep")
    out = video.probe(dst)
    return {"name": dst.name, "width": out["width"], "height": out["height"], "frames": res.frames,
            "fps": round(res.fps, 3), "seconds": round(res.seconds, 2),
            "stopped": "interrupted" if res.interrupted else None}


async def _work(st: WebState, job: Job, order: Order, req: PaintRequest, src: Path) -> None:
    try:
        await st.queue.wait(job.ticket)
    except asyncio.CancelledError:
        job.state = "cancelled"
        job.finish()
        src.unlink(missing_ok=True)
        return
    job.ticket = None
    try:
        job.state, job.started = "running", time.perf_counter()
        done = await st.in_transfer_thread(paint_video, st, req, src, job)
        job.result = painting.describe_video(st, done, order)
        job.state = "done"
    except InputError as e:
        job.state, job.error = "failed", forms.web_words(str(e))
    except Exception as e:  # noqa: BLE001 (reported to the page in plain words, logged by the server)
        job.state, job.error = "failed", "the video failed unexpectedly; the server's log has the details"
        log.exception("video job %s failed: %s", job.id, type(e).__name__)
    finally:
        src.unlink(missing_ok=True)
        job.finish()
        st.queue.release()
