"""The synchronous HTTP API: what the server offers (methods, examples, trained styles), one
transfer that answers when done (`POST /api/stylize`), results, and health."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, Response

from .. import __version__
from . import catalog, forms, memory, painting, regions, thumbs, uploads
from .state import WebState, get_state

router = APIRouter(prefix="/api")


@router.get("/health")
async def health(st: WebState = Depends(get_state)) -> dict:
    """Liveness and load: jobs running and waiting, and the server's resident memory (MB)."""
    rss = memory.rss_bytes()
    return {"status": "ok", "version": __version__, "running": st.queue.running, "waiting": st.queue.waiting,
            "memory_mb": None if rss is None else round(rss / 2**20)}


@router.get("/methods")
def list_methods(st: WebState = Depends(get_state)) -> dict:
    """The methods this server can run (each with its options schema: names, types, defaults, help,
    choices, min/max), the options every method shares, and the server's limits."""
    s = st.settings
    described = catalog.describe(s.max_steps, s.max_size)
    return {"methods": [d["name"] for d in described], "details": described,
            "common": catalog.common_options(s.max_size),
            "models": sorted({n for d in described for n in d["models"]}), "max_size": s.max_size,
            "max_steps": s.max_steps, "max_upload_bytes": s.max_upload_bytes, "max_pixels": s.max_pixels,
            "max_video_bytes": s.max_video_bytes, "max_video_seconds": s.max_video_seconds}


@router.get("/examples")
def examples() -> dict:
    """The gallery: example photos and paintings, and the trained styles (each with its picture)."""
    return catalog.examples()


@router.get("/examples/{file}", response_class=FileResponse)
def example(file: str):
    """A bundled example photo or painting."""
    p = catalog.example_path(file)
    if p is None:
        raise HTTPException(404, "no such example")
    return FileResponse(p, media_type="image/jpeg", headers={"Cache-Control": "max-age=86400"})


@router.get("/styles/{method}/{model}.jpg")
async def style_picture(method: str, model: str, st: WebState = Depends(get_state)) -> Response:
    """A trained style's picture (the example photo painted with it): shipped, or made once."""
    if not catalog.is_trained_style(method, model):
        raise HTTPException(404, "no such trained style")
    data = await thumbs.picture(st, method, model)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=86400"})


@router.post("/stylize", openapi_extra={"x-painterly-form": True})
async def stylize(request: Request, st: WebState = Depends(get_state)) -> dict:
    """Stylise `content` with `style` (or a trained `model`) and answer when done: the result's url,
    size, time and stop reason. Fields as GET /api/methods lists them; the same form as /api/jobs."""
    form = await request.form(max_files=2, max_fields=64)
    order = forms.parse(form, st.settings)
    content, style = await uploads.read_images(st, order)
    req = await st.in_decode_thread(painting.build_request, st, order, content, style)
    del content, style
    async with st.queue.slot():
        res = await st.in_transfer_thread(painting.paint, req)
    return painting.describe(st, res, order, st.store.put(res.image))


@router.post("/mask")
async def region_mask(request: Request, st: WebState = Depends(get_state)) -> Response:
    """The mask of `where` (sky, not-sky, person, background) on the uploaded `content`, as a grey PNG
    at most 512 px on its long side (white = what a transfer with this `where` paints); the share of
    the photo it covers is in the X-Painterly-Share header. The page lays it over the photo."""
    form = await request.form(max_files=1, max_fields=4)
    for key in form.keys():
        if key not in ("content", "where"):
            raise forms.FieldError(key, "is not a field of /api/mask (it takes content and where)")
    where = forms.parse_field(catalog.where_field(), forms.text(form, "where") or "")
    if not where:
        raise forms.FieldError("where", "is missing: choose sky, not-sky, person or background")
    f = forms.upload(form, "content", "the photo")
    if f is None:
        raise forms.FieldError("content", "is missing: send the photo as a file upload")
    content = await uploads.read_upload(st, f, "content")
    png, share = await st.in_decode_thread(regions.preview, content, where)
    return Response(png, media_type="image/png", headers={"X-Painterly-Share": f"{share:.4f}",
                                                          "Cache-Control": "no-store"})


@router.get("/outputs/{name}", response_class=FileResponse)
def output(name: str, filename: str = "", st: WebState = Depends(get_state)):
    """A result image, until it expires; `filename` names the download."""
    p = st.store.path(name)
    if p is None:
        raise HTTPException(404, "no such result (it may have expired)")
    headers = {}
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{catalog.safe_filename(filename, p.suffix)}"'
    return FileResponse(p, media_type="video/mp4" if p.suffix == ".mp4" else "image/png", headers=headers)
