"""`painterly serve`: a FastAPI app with the HTTP API under /api and the web page at /.

Thin over the library: the page (static HTML/CSS/JS in `static/`) and scripts use the same JSON
API. Every transfer goes through one bounded `JobQueue`; uploads are capped while they stream in,
checked against the server's pixel limit from the header alone, and decoded off the event loop;
results live in an `OutputStore` under random names, expire, and are removed at shutdown.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import time
import warnings
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as FormFile

from .. import __version__, images, methods, options, pipeline
from ..errors import InputError
from . import catalog
from .jobs import Job, JobBook, JobQueue, OutputStore, QueueFull
from .limits import BodyLimit

STATIC = Path(__file__).parent / "static"


@dataclass
class Settings:
    """Server limits; every one is a `painterly serve` option."""

    concurrency: int = 1                    # transfers running at once
    max_waiting: int = 16                   # more requests than this waiting -> 503
    max_upload_bytes: int = 20 * 2**20      # per uploaded file
    max_pixels: int = 40_000_000            # per uploaded image
    max_size: int = 1024                    # largest output long side
    max_steps: int = 1000
    output_ttl: float = 3600.0              # seconds a result stays downloadable
    output_dir: Optional[Path] = None       # default: a fresh /tmp/painterly-web-*, removed at shutdown
    device: str = "auto"


def _check_params(s: Settings, size: int, steps: Optional[int]) -> None:
    if not 16 <= size <= s.max_size:
        raise InputError(f"size must be between 16 and {s.max_size} px on this server, got {size}")
    if steps is not None and not 1 <= steps <= s.max_steps:
        raise InputError(f"steps must be between 1 and {s.max_steps} on this server, got {steps}")


def decode_upload(data: bytes, what: str, max_pixels: int) -> Image.Image:
    """Decode an upload; the pixel limit is checked from the header, before any pixel is decoded,
    and named as this server's limit (`painterly serve --max-megapixels`)."""
    limit = f"this server accepts up to {max_pixels / 1e6:g} MP (painterly serve --max-megapixels): scale it down"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # judged below, by our limit
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
    except Image.DecompressionBombError:
        raise InputError(f"{what} has far too many pixels; {limit}") from None
    except Exception:  # not an image, truncated header...: decode_bytes words it
        w = h = 0
    if w * h > max_pixels:
        raise InputError(f"{what} is too large ({w}x{h} = {w * h / 1e6:.0f} MP); {limit}")
    return images.decode_bytes(data, what, max_pixels)


def _run(s: Settings, content: Image.Image, style: Optional[Image.Image], m: methods.Method, size: int,
         strength: float, values: dict, preserve_colors: Optional[str],
         job: Optional[Job] = None) -> pipeline.StylizeResult:
    """One stylisation (in a worker thread). `values` are the method's own options by field name;
    an iterative method reports to `job` (progress, preview) and stops when it asks."""
    _check_params(s, size, values.get("steps"))
    live = job is not None and m.iterative
    try:
        return pipeline.run_stylize(content, [style] if m.needs_style else [], method=m.name, size=size,
                                    strength=strength, preserve_colors=preserve_colors or None, device=s.device,
                                    callback=job.on_step if live else None,
                                    image_callback=job.on_image if live else None,
                                    image_every=1 if live else 0, **values)
    except KeyboardInterrupt:    # a Stop before the method could keep anything
        raise InputError("stopped before the first step: nothing to keep") from None


def _check_options(m: methods.Method, values: dict) -> None:
    """Validate a method's options before queueing, so a bad value is a 422 and not a failed job."""
    o = pipeline.method_options(m, None, **values)
    options.check_fields(o)
    if hasattr(o, "validate"):
        o.validate()


def create_app(settings: Optional[Settings] = None):
    """The ASGI app: the JSON API under /api and the page at /."""
    s = settings or Settings()
    catalog.web_methods()   # load the registry now, so that the first request does not wait for it
    owned = s.output_dir is None
    folder = Path(tempfile.mkdtemp(prefix="painterly-web-")) if owned else Path(s.output_dir)
    jobs = JobQueue(s.concurrency, s.max_waiting)
    book = JobBook(s.output_ttl)
    store = OutputStore(folder, s.output_ttl, owned=owned)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        try:
            yield
        finally:            # stop what runs, then remove the results folder
            for j in book.all():
                j.stop.set()
                if j.task and not j.task.done():
                    j.task.cancel()
            store.close()

    app = FastAPI(title="painterly", version=__version__, lifespan=lifespan,
                  description="Neural style transfer over HTTP. POST two images to /api/stylize; "
                              "fetch the result from the returned url before it expires. /api/jobs "
                              "does the same in the background, with progress, a live preview and stop.")
    app.state.jobs, app.state.store, app.state.settings, app.state.book = jobs, store, s, book
    app.add_middleware(BodyLimit, max_bytes=2 * s.max_upload_bytes + 2**16,
                       message=f"the upload is larger than {s.max_upload_bytes // 2**20} MB per image, "
                               "this server's limit (painterly serve --max-upload-mb)")

    async def read_upload(f: UploadFile, what: str) -> Image.Image:
        data = await f.read(s.max_upload_bytes + 1)
        if len(data) > s.max_upload_bytes:
            raise HTTPException(413, f"{what} is larger than {s.max_upload_bytes // 2**20} MB")
        try:
            return await run_in_threadpool(decode_upload, data, what, s.max_pixels)
        except InputError as e:
            raise HTTPException(413 if "too large" in str(e) or "too many pixels" in str(e) else 422,
                                str(e)) from None

    async def prepare(content: UploadFile, style: Optional[UploadFile], m: methods.Method, model: Optional[str]):
        if m.needs_model and model not in catalog.model_names(m):
            raise HTTPException(422, f"unknown model '{model}': use one of {', '.join(catalog.model_names(m))}")
        if m.needs_style and style is None:
            raise HTTPException(422, f"method {m.name} needs a style image")
        c_img = await read_upload(content, "content image")
        s_img = await read_upload(style, "style image") if m.needs_style else None
        return c_img, s_img

    def describe(res: pipeline.StylizeResult, method: str, name: str, download: str) -> dict:
        return {"url": f"/api/outputs/{name}", "width": res.image.width, "height": res.image.height,
                "seconds": res.info["seconds"], "method": method,
                "encoder": res.info.get("encoder") or res.info.get("model"), "stopped": res.stopped,
                "expires_in": s.output_ttl, "download_name": download}

    @app.get("/api/health")
    async def health() -> dict:
        """Liveness and load: jobs running and waiting."""
        return {"status": "ok", "version": __version__, "running": jobs.running, "waiting": jobs.waiting}

    @app.get("/api/methods")
    def list_methods() -> dict:
        """The methods this server can run (each with its options schema: names, types, defaults, help,
        choices, min/max), the options every method shares, and the server's limits."""
        described = catalog.describe(s.max_steps)
        return {"methods": [d["name"] for d in described], "details": described,
                "common": catalog.common_options(s.max_size),
                "models": sorted({n for d in described for n in d["models"]}), "max_size": s.max_size,
                "max_steps": s.max_steps, "max_upload_bytes": s.max_upload_bytes, "max_pixels": s.max_pixels}

    @app.get("/api/examples")
    def examples() -> dict:
        """The gallery: example photos and paintings, and the trained styles."""
        return catalog.examples()

    @app.get("/api/examples/{file}", response_class=FileResponse)
    def example(file: str):
        p = catalog.example_path(file)
        if p is None:
            raise HTTPException(404, "no such example")
        return FileResponse(p, media_type="image/jpeg", headers={"Cache-Control": "max-age=86400"})

    @app.post("/api/stylize")
    async def stylize(content: UploadFile = File(..., description="the photo"),
                      style: Optional[UploadFile] = File(None, description="the painting (not for methods with a model)"),
                      method: str = Form("gatys"), size: int = Form(256), steps: int = Form(100),
                      strength: float = Form(1.0, ge=0.0, le=1.0, description="0 = the photo, 1 = full style"),
                      preserve_colors: str = Form(""), seed: int = Form(0, ge=0, lt=2**63),
                      model: str = Form("", description="a trained model (methods that take one)")) -> dict:
        """Stylise `content` with `style` (or a trained `model`); returns the result's url, size,
        time and stop reason. GET /api/methods lists the methods and their options."""
        try:
            m = catalog.get(method)
        except InputError as e:
            raise HTTPException(422, str(e)) from None
        c_img, s_img = await prepare(content, style, m, model or None)
        fields = set(m.options.__dataclass_fields__)
        values = {k: v for k, v in (("steps", steps), ("seed", seed), ("model", model or None)) if k in fields}
        try:
            async with jobs.slot():
                res = await run_in_threadpool(_run, s, c_img, s_img, m, size, strength, values, preserve_colors)
        except QueueFull as e:
            raise HTTPException(503, str(e), headers={"Retry-After": "5"}) from None
        except InputError as e:
            raise HTTPException(422, str(e)) from None
        download = catalog.download_name(content.filename or "", model if m.needs_model else
                                         (style.filename if style else ""), method)
        return describe(res, method, store.put(res.image), download)

    @app.post("/api/jobs", status_code=202)
    async def submit(request: Request) -> dict:
        """Start a transfer in the background (the page's way): multipart with `content`, `style`
        (unless the method needs none), `method`, `size`, `preserve_colors` and the method's own
        options by name (see /api/methods). Poll /api/jobs/{id}; POST /api/jobs/{id}/stop to stop."""
        form = await request.form(max_files=2, max_fields=64)
        try:
            m = catalog.get(str(form.get("method") or ""))
            values = catalog.parse_values(catalog.method_options(m, s.max_steps), form)
            common = catalog.parse_values(catalog.common_options(s.max_size), form)
            _check_options(m, values)
            _check_params(s, common.get("size", min(512, s.max_size)), values.get("steps"))
        except InputError as e:
            raise HTTPException(422, str(e)) from None
        content, style = form.get("content"), form.get("style")
        if not isinstance(content, FormFile):
            raise HTTPException(422, "no photo was sent (field content)")
        c_img, s_img = await prepare(content, style if isinstance(style, FormFile) else None, m, values.get("model"))
        size = common.get("size", min(512, s.max_size))
        strength = common.get("strength", 1.0)
        preserve = common.get("preserve_colors") or None
        method = m.name
        job = book.new(int(values.get("steps", getattr(m.options(), "steps", 0))) if m.iterative else 0)
        try:
            job.ticket = jobs.enter()
        except QueueFull as e:
            job.state, job.error = "failed", str(e)
            raise HTTPException(503, str(e), headers={"Retry-After": "5"}) from None
        style_name = str(values.get("model")) if m.needs_model else getattr(style, "filename", "")
        download = catalog.download_name(content.filename or "", style_name or "", method)

        async def work() -> None:
            try:
                await jobs.wait(job.ticket)
            except asyncio.CancelledError:
                job.state = "cancelled"
                return
            job.ticket = None
            try:
                job.state, job.started = "running", time.perf_counter()
                res = await run_in_threadpool(_run, s, c_img, s_img, m, size, strength, values, preserve, job)
                job.result = describe(res, method, store.put(res.image), download)
                job.state = "done"
            except InputError as e:
                job.state, job.error = "failed", str(e)
            except Exception as e:  # noqa: BLE001 (reported to the page in plain words, logged by the server)
                job.state, job.error = "failed", f"the transfer failed unexpectedly ({type(e).__name__})"
                raise
            finally:
                job.finished = time.perf_counter()
                jobs.release()

        job.task = asyncio.create_task(work())
        return job.status(jobs)

    def find(job_id: str) -> Job:
        job = book.get(job_id)
        if job is None:
            raise HTTPException(404, "no such job (it may have expired)")
        return job

    @app.get("/api/jobs/{job_id}")
    async def job_status(job_id: str) -> dict:
        """State (waiting, running, done, failed, cancelled), place in the queue, step, ETA,
        the latest preview's url and, when done, the result as /api/stylize returns it."""
        return find(job_id).status(jobs)

    @app.get("/api/jobs/{job_id}/preview")
    async def job_preview(job_id: str) -> Response:
        """The latest intermediate image (JPEG) of an iterative method."""
        job = find(job_id)
        if job.preview is None:
            raise HTTPException(404, "no preview yet")
        return Response(job.preview, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @app.post("/api/jobs/{job_id}/stop")
    async def job_stop(job_id: str) -> dict:
        """Stop a job: a waiting one is cancelled; a running iterative one stops at the next step
        and keeps its best image so far (as Ctrl-C does)."""
        job = find(job_id)
        job.stop.set()
        if job.state == "waiting" and job.task:
            job.task.cancel()
            await asyncio.sleep(0)
        return job.status(jobs)

    @app.get("/api/outputs/{name}", response_class=FileResponse)
    def output(name: str, filename: str = ""):
        """A result image, until it expires; `filename` names the download."""
        p = store.path(name)
        if p is None:
            raise HTTPException(404, "no such result (it may have expired)")
        headers = {}
        if filename:
            headers["Content-Disposition"] = f'attachment; filename="{catalog.safe_filename(filename)}"'
        return FileResponse(p, media_type="image/png", headers=headers)

    app.mount("/", StaticFiles(directory=STATIC, html=True), name="page")
    return app
