"""Background transfers (the page's way): submit, follow (state, step, ETA, live preview), stop.

A job is checked in full (form, uploads, options, memory) before it is queued, so a bad value is a
422 at once and never a 202 followed by a failed job.
"""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from ..errors import InputError
from ..request import Request as PaintRequest
from . import forms, painting, uploads
from .forms import Order
from .jobs import Job
from .state import WebState, get_state

router = APIRouter(prefix="/api/jobs")
log = logging.getLogger("painterly.web")


@router.post("", status_code=202, openapi_extra={"x-painterly-form": True})
async def submit(request: Request, st: WebState = Depends(get_state)) -> dict:
    """Start a transfer in the background: the same form as /api/stylize. Poll /api/jobs/{id};
    POST /api/jobs/{id}/stop to stop (an iterative method keeps its best image so far)."""
    form = await request.form(max_files=2, max_fields=64)
    order = forms.parse(form, st.settings)
    content, style = await uploads.read_images(st, order)
    req = await st.in_decode_thread(painting.build_request, st, order, content, style)
    del content, style
    m = order.method
    job = st.book.new(int(getattr(req.options, "steps", 0) or 0) if m.iterative else 0)
    try:
        job.ticket = st.queue.enter()
    except Exception as e:
        job.state, job.error = "failed", str(e)
        raise
    job.task = asyncio.create_task(_work(st, job, order, req))
    return job.status(st.queue)


async def _work(st: WebState, job: Job, order: Order, req: PaintRequest) -> None:
    """Wait for a slot, paint, store the result; the job keeps only its outcome afterwards."""
    try:
        await st.queue.wait(job.ticket)
    except asyncio.CancelledError:
        job.state = "cancelled"
        job.finish()
        return
    job.ticket = None
    try:
        job.state, job.started = "running", time.perf_counter()
        res = await st.in_transfer_thread(painting.paint, req, job)
        del req
        job.result = painting.describe(st, res, order, st.store.put(res.image))
        job.state = "done"
    except InputError as e:
        job.state, job.error = "failed", forms.web_words(str(e))
    except Exception as e:  # noqa: BLE001 (reported to the page in plain words, logged by the server)
        job.state, job.error = "failed", "the transfer failed unexpectedly; the server's log has the details"
        log.exception("job %s failed: %s", job.id, type(e).__name__)
    finally:
        job.finish()
        st.queue.release()


def _find(st: WebState, job_id: str) -> Job:
    job = st.book.get(job_id)
    if job is None:
        raise HTTPException(404, "no such job (it may have expired)")
    return job


@router.get("/{job_id}")
async def job_status(job_id: str, st: WebState = Depends(get_state)) -> dict:
    """State (waiting, running, done, failed, cancelled), place in the queue, step, ETA,
    the latest preview's url and, when done, the result as /api/stylize returns it."""
    return _find(st, job_id).status(st.queue)


@router.get("/{job_id}/preview")
async def job_preview(job_id: str, st: WebState = Depends(get_state)) -> Response:
    """The latest intermediate image (JPEG) of an iterative method."""
    job = _find(st, job_id)
    if job.preview is None:
        raise HTTPException(404, "no preview yet")
    return Response(job.preview, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/{job_id}/stop")
async def job_stop(job_id: str, st: WebState = Depends(get_state)) -> dict:
    """Stop a job: a waiting one is cancelled; a running iterative one stops at the next step
    and keeps its best image so far (as Ctrl-C does)."""
    job = _find(st, job_id)
    job.stop.set()
    if job.state == "waiting" and job.task:
        job.task.cancel()
        await asyncio.sleep(0)
    return job.status(st.queue)
