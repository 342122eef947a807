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

from .. import __version__, images, pipeline, weights
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


def _strength_to_weight(strength: float) -> Optional[float]:
    """Style strength 0..1 (0.5 = the encoder's balanced default) -> beta multiplier, log scale."""
    return None if strength == 0.5 else 10 ** ((strength - 0.5) * 4)


def _run(s: Settings, jobs: JobQueue, content: Image.Image, style: Optional[Image.Image], size: int, steps: int,
         strength: float, preserve_colors: Optional[str], seed: int, image_callback=None,
         image_every: int = 0, callback=None, method: str = "gatys",
         model: Optional[str] = None) -> pipeline.StylizeResult:
    """One stylisation through the shared queue. `strength` means β (log scale) for gatys,
    α for adain/wct, and a blend with the photo for a trained model."""
    _check_params(s, size, steps)
    opts: dict[str, Any] = {}
    styles = [] if method == "model" else [style]
    if method == "gatys":
        opts = {"steps": steps, "seed": seed}
        mult = _strength_to_weight(strength)
        if mult is not None:
            opts["style_weight"] = weights.spec(weights.auto_encoder()).style_weight * mult
    elif method in ("adain", "wct"):
        opts = {"alpha": strength}
    else:
        if not model:
            raise InputError("pick a trained style for method model")
        opts = {"model": model}
    with jobs.slot():
        res = pipeline.run_stylize(content, styles, method=method, size=size,
                                   preserve_colors=preserve_colors or None, device=s.device,
                                   callback=callback if method == "gatys" else None,
                                   image_callback=image_callback if method == "gatys" else None,
                                   image_every=image_every, **opts)
    if method == "model" and strength < 1.0:
        out = strength * res.tensor + (1 - strength) * images.resize(images.load_image(content), res.tensor.shape[-2:])
        res.tensor, res.image = out, images.tensor_to_pil(out)
    return res


def _model_names() -> list[str]:
    """Names of the shipped trained styles (method model)."""
    from ..feedforward.model import zoo_dir
    return [p.stem for p in sorted(zoo_dir().glob("*.pt"))]


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
        """The methods this server can run and its limits."""
        return {"methods": list(pipeline.METHODS), "models": _model_names(), "max_size": s.max_size, "max_steps": s.max_steps,
                "max_upload_bytes": s.max_upload_bytes, "max_pixels": s.max_pixels}

    @app.post("/api/stylize")
    async def stylize(content: UploadFile = File(..., description="the photo"),
                      style: Optional[UploadFile] = File(None, description="the painting (not for method model)"),
                      method: str = Form("gatys"), size: int = Form(256), steps: int = Form(100),
                      strength: float = Form(0.5, ge=0.0, le=1.0), preserve_colors: str = Form(""),
                      seed: int = Form(0), model: str = Form("", description="a trained style (method model)")
                      ) -> dict:
        """Stylise `content` with `style` (or a trained `model`); returns the result's url, size,
        time and stop reason. `strength`: β for gatys (0.5 = balanced), α for adain/wct."""
        if method not in pipeline.METHODS:
            raise HTTPException(422, f"unknown method '{method}': use one of {', '.join(pipeline.METHODS)}")
        if method == "model" and model not in _model_names():
            raise HTTPException(422, f"unknown model '{model}': use one of {', '.join(_model_names())}")
        if method != "model" and style is None:
            raise HTTPException(422, f"method {method} needs a style image")
        c_img = await read_upload(content, "content image")
        s_img = await read_upload(style, "style image") if method != "model" else None
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


def build_page(s: Settings, jobs: JobQueue, store: OutputStore):
    """The Gradio page: two images in, settings, live intermediate results, a downloadable PNG."""

    def go(content, style, method, model, size, steps, strength, preserve, seed,
           progress=gr.Progress()) -> Iterator[tuple]:  # noqa: B008 (Gradio's idiom)
        if content is None or (style is None and method != "model"):
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
            method = gr.Dropdown(list(pipeline.METHODS), value="gatys", label="Method",
                                 info="gatys: optimisation, slow; adain/wct: any painting in one pass; "
                                      "model: a trained style, instant (no painting needed)")
            names = _model_names()
            model = gr.Dropdown(names, value=names[0] if names else None, label="Trained style (method model)")
            size = gr.Slider(32, s.max_size, value=min(256, s.max_size), step=16, label="Output size (long side, px)")
            steps = gr.Slider(10, s.max_steps, value=100, step=10, label="Iterations")
        with gr.Row():
            strength = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="Style strength",
                                 info="gatys: 0.5 = balanced, each 0.25 is 10x more or less style; "
                                      "other methods: 0 = photo, 1 = full style")
            preserve = gr.Radio(["off", "luminance", "match"], value="off", label="Keep the photo's colours")
            seed = gr.Number(0, precision=0, label="Seed")
        run = gr.Button("Stylize", variant="primary", elem_id="run")
        status = gr.Markdown(elem_id="status")
        download = gr.File(label="Download PNG", elem_id="download")
        run.click(go, [content, style, method, model, size, steps, strength, preserve, seed],
                  [result, download, status])
    page.queue(default_concurrency_limit=s.concurrency, max_size=s.max_waiting)
    return page
