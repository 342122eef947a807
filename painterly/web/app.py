"""`painterly serve`: a FastAPI app with the HTTP API under /api and the Gradio page at /.

Thin over the library: both front ends call `pipeline.run_stylize` through one bounded
`JobQueue`; uploads are decoded from bytes with the same checks as files (type, size in
bytes and pixels); results live in an `OutputStore` under random names and expire.
"""

from __future__ import annotations

import queue
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import gradio as gr
from fastapi import FastAPI, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse
from PIL import Image
from starlette.concurrency import run_in_threadpool

from .. import __version__, images, methods, options, pipeline
from ..examples import CONTENT, STYLE, bundled
from ..errors import InputError
from .jobs import JobQueue, OutputStore, QueueFull


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
    output_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="painterly-web-")))
    device: str = "auto"


def _check_params(s: Settings, size: int, steps: int) -> None:
    if not 16 <= size <= s.max_size:
        raise InputError(f"size must be between 16 and {s.max_size} px on this server, got {size}")
    if not 1 <= steps <= s.max_steps:
        raise InputError(f"steps must be between 1 and {s.max_steps} on this server, got {steps}")


def web_methods() -> list[methods.Method]:
    """The registered methods a browser can run: they need no model, or list models to pick."""
    return [m for m in methods.all_methods() if m.can_run_in_browser()]


def _method(name: str) -> methods.Method:
    offered = {m.name: m for m in web_methods()}
    if name not in offered:
        raise InputError(f"unknown method '{name}': use one of {', '.join(offered)}")
    return offered[name]


def _model_names(m: methods.Method) -> list[str]:
    return [i.name for i in m.models()] if m.models else []


def _run(s: Settings, jobs: JobQueue, content: Image.Image, style: Optional[Image.Image], size: int, steps: int,
         strength: float, preserve_colors: Optional[str], seed: int, image_callback=None,
         image_every: int = 0, callback=None, method: str = "gatys",
         model: Optional[str] = None) -> pipeline.StylizeResult:
    """One stylisation through the shared queue. `strength` is the pipeline's (0 = photo, 1 = full
    style) for every method; `steps`, `seed` and `model` go to the methods whose options have them."""
    _check_params(s, size, steps)
    m = _method(method)
    if m.needs_model and model not in _model_names(m):
        raise InputError(f"unknown model '{model}' for {m.name}: use one of {', '.join(_model_names(m))}")
    fields = set(m.options.__dataclass_fields__)
    opts: dict[str, Any] = {k: v for k, v in (("steps", steps), ("seed", seed), ("model", model)) if k in fields}
    with jobs.slot():
        return pipeline.run_stylize(content, [style] if m.needs_style else [], method=m.name, size=size,
                                    strength=strength, preserve_colors=preserve_colors or None, device=s.device,
                                    callback=callback if m.iterative else None,
                                    image_callback=image_callback if m.iterative else None,
                                    image_every=image_every, **opts)


def describe_methods() -> list[dict]:
    """Each web-runnable method for a front end: titles, needs, supports, its options schema, models."""
    return [{"name": m.name, "title": m.title, "paper": m.paper, "description": m.description,
             "needs_style": m.needs_style, "needs_model": m.needs_model, "iterative": m.iterative,
             "supports": sorted(m.supports), "options": options.schema(m.options), "models": _model_names(m)}
            for m in web_methods()]


def create_app(settings: Optional[Settings] = None):
    """The ASGI app: API routes plus the Gradio page mounted at /."""
    s = settings or Settings()
    jobs = JobQueue(s.concurrency, s.max_waiting)
    store = OutputStore(s.output_dir, s.output_ttl)
    app = FastAPI(title="painterly", version=__version__,
                  description="Neural style transfer over HTTP. POST two images to /api/stylize; "
                              "fetch the result from the returned url before it expires.")
    app.state.jobs, app.state.store, app.state.settings = jobs, store, s

    async def read_upload(f: UploadFile, what: str) -> Image.Image:
        data = await f.read(s.max_upload_bytes + 1)
        if len(data) > s.max_upload_bytes:
            raise HTTPException(413, f"{what} is larger than {s.max_upload_bytes // 2**20} MB")
        try:
            return images.decode_bytes(data, what, s.max_pixels)
        except InputError as e:
            raise HTTPException(422 if "too large" not in str(e) else 413, str(e)) from None

    @app.get("/api/health")
    def health() -> dict:
        """Liveness and load: jobs running and waiting."""
        return {"status": "ok", "version": __version__, "running": jobs.running, "waiting": jobs.waiting}

    @app.get("/api/methods")
    def methods() -> dict:
        """The methods this server can run (each with its options schema: names, types, defaults, help,
        choices, min/max), the options every method shares, and the server's limits."""
        described = describe_methods()
        return {"methods": [d["name"] for d in described], "details": described,
                "common": options.schema(pipeline.TransferOptions),
                "models": sorted({n for d in described for n in d["models"]}), "max_size": s.max_size,
                "max_steps": s.max_steps, "max_upload_bytes": s.max_upload_bytes, "max_pixels": s.max_pixels}

    @app.post("/api/stylize")
    async def stylize(content: UploadFile = File(..., description="the photo"),
                      style: Optional[UploadFile] = File(None, description="the painting (not for method model)"),
                      method: str = Form("gatys"), size: int = Form(256), steps: int = Form(100),
                      strength: float = Form(1.0, ge=0.0, le=1.0, description="0 = the photo, 1 = full style"),
                      preserve_colors: str = Form(""), seed: int = Form(0),
                      model: str = Form("", description="a trained model (methods that take one)")) -> dict:
        """Stylise `content` with `style` (or a trained `model`); returns the result's url, size,
        time and stop reason. GET /api/methods lists the methods and their options."""
        try:
            m = _method(method)
        except InputError as e:
            raise HTTPException(422, str(e)) from None
        if m.needs_model and model not in _model_names(m):
            raise HTTPException(422, f"unknown model '{model}': use one of {', '.join(_model_names(m))}")
        if m.needs_style and style is None:
            raise HTTPException(422, f"method {method} needs a style image")
        c_img = await read_upload(content, "content image")
        s_img = await read_upload(style, "style image") if m.needs_style else None
        try:
            res = await run_in_threadpool(_run, s, jobs, c_img, s_img, size, steps, strength,
                                          preserve_colors or None, seed, None, 0, None, method, model or None)
        except QueueFull as e:
            raise HTTPException(503, str(e), headers={"Retry-After": "5"}) from None
        except InputError as e:
            raise HTTPException(422, str(e)) from None
        name = store.put(res.image)
        return {"url": f"/api/outputs/{name}", "width": res.image.width, "height": res.image.height,
                "seconds": res.info["seconds"], "method": method,
                "encoder": res.info.get("encoder") or res.info.get("model"), "stopped": res.stopped,
                "expires_in": s.output_ttl}

    @app.get("/api/outputs/{name}", response_class=FileResponse)
    def output(name: str):
        """A result image, until it expires."""
        p = store.path(name)
        if p is None:
            raise HTTPException(404, "no such result (it may have expired)")
        return FileResponse(p, media_type="image/png")

    blocks = build_page(s, jobs, store)
    return gr.mount_gradio_app(app, blocks, path="/", max_file_size=s.max_upload_bytes, footer_links=["api"])


def _model_choices(name: str):
    names = _model_names(_method(name))
    return gr.update(choices=names, value=names[0] if names else None)


def build_page(s: Settings, jobs: JobQueue, store: OutputStore):
    """The Gradio page: two images in, settings, live intermediate results, a downloadable PNG."""

    def go(content, style, method, model, size, steps, strength, preserve, seed,
           progress=gr.Progress()) -> Iterator[tuple]:  # noqa: B008 (Gradio's idiom)
        if content is None or (style is None and _method(method).needs_style):
            raise gr.Error("Upload (or pick) both a photo and a painting first.")
        for img, what in ((content, "photo"), (style, "painting")):
            if img is not None and img.width * img.height > s.max_pixels:
                raise gr.Error(f"The {what} is {img.width}x{img.height}; this server accepts up to "
                               f"{s.max_pixels / 1e6:.0f} MP.")
        updates: queue.Queue = queue.Queue()
        every = max(1, int(steps) // 10)
        outcome: dict = {}

        def work() -> None:
            try:
                outcome["res"] = _run(s, jobs, content, style, int(size), int(steps), float(strength),
                                      None if preserve == "off" else preserve, int(seed),
                                      image_callback=lambda k, t: updates.put(("image", k, t)),
                                      image_every=every, callback=lambda k, l: updates.put(("step", k, l)),
                                      method=method, model=model)
            except Exception as e:  # reported to the page below
                outcome["error"] = e
            finally:
                updates.put(("done", None, None))

        threading.Thread(target=work, daemon=True).start()
        status = "waiting for a free slot…"
        yield None, None, status
        while True:
            kind, k, payload = updates.get()
            if kind == "done":
                break
            if kind == "step":
                status = f"step {k}/{int(steps)} · loss {payload['total']:.3g}"
                progress((k, int(steps)), desc="stylizing", unit="steps")
            else:
                yield images.tensor_to_pil(payload), None, status
        if "error" in outcome:
            e = outcome["error"]
            raise gr.Error(str(e) if isinstance(e, (InputError, QueueFull)) else f"failed: {type(e).__name__}: {e}")
        res = outcome["res"]
        path = str(store.folder / store.put(res.image))
        what = res.info.get("encoder") or res.info.get("model") or method
        done = f"done in {res.info['seconds']:.2f} s ({res.image.width}x{res.image.height}, {method}, {what})"
        if res.stopped:
            done += f" — {res.stopped}"
        yield res.image, path, done

    ttl = max(60, int(s.output_ttl))
    with gr.Blocks(title="painterly", analytics_enabled=False, delete_cache=(ttl, ttl)) as page:
        gr.Markdown("# painterly\nRepaint a photo in the style of a painting. Upload both, or pick the example.")
        with gr.Row():
            content = gr.Image(type="pil", label="Photo", sources=["upload", "clipboard"], elem_id="content")
            style = gr.Image(type="pil", label="Painting", sources=["upload", "clipboard"], elem_id="style")
            result = gr.Image(type="pil", label="Result", interactive=False, format="png", elem_id="result")
        gr.Examples([[str(bundled(CONTENT)), str(bundled(STYLE))]], inputs=[content, style])
        with gr.Row():
            offered = web_methods()
            method = gr.Dropdown([(m.title, m.name) for m in offered], value=offered[0].name, label="Method",
                                 info="; ".join(f"{m.title} — {m.paper}" for m in offered), elem_id="method")
            model = gr.Dropdown([], value=None, label="Trained model (methods that take one)", elem_id="model")
            method.change(_model_choices, method, model)
            size = gr.Slider(32, s.max_size, value=min(256, s.max_size), step=16, label="Output size (long side, px)")
            steps = gr.Slider(10, s.max_steps, value=100, step=10, label="Iterations")
        with gr.Row():
            strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Style strength",
                                 info="0 = the photo, 1 = full style (every method)")
            preserve = gr.Radio(["off", "luminance", "match"], value="off", label="Keep the photo's colours")
            seed = gr.Number(0, precision=0, label="Seed")
        run = gr.Button("Stylize", variant="primary", elem_id="run")
        status = gr.Markdown(elem_id="status")
        download = gr.File(label="Download PNG", elem_id="download")
        run.click(go, [content, style, method, model, size, steps, strength, preserve, seed],
                  [result, download, status])
    page.queue(default_concurrency_limit=s.concurrency, max_size=s.max_waiting)
    return page
