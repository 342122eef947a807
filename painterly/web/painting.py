"""From a parsed form to a painted result: the request built and fully checked before it is queued
(options, sizes, the style image's side, memory), then run on the transfer pool.

Checking first means a bad value is a 422 with a sentence, never a 202 and then a failed job.
"""

from __future__ import annotations

from typing import Optional

from PIL import Image

from .. import images, methods, pipeline
from ..errors import InputError
from ..options import OptionError
from ..request import Request
from .forms import FieldError, Order, from_option_error, web_words
from . import catalog, regions
from .jobs import Job
from .state import WebState


def build_request(st: WebState, order: Order, content: Image.Image, style: Optional[Image.Image]) -> Request:
    """The frozen request for `order`, with every check a run makes before decoding (in a worker thread)."""
    s = st.settings
    m = order.method
    transfer = dict(order.transfer)
    where = transfer.pop("where", None)
    mask = regions.mask_source(m, where)
    try:
        if mask is not None:
            transfer["mask"] = mask
            regions.check_present(content, where)     # a photo without that part is refused now, not mid-job
        req = pipeline.make_request(content, [style] if style is not None else [], method=m.name,
                                    device=s.device, **transfer, **order.values)
        painter = pipeline.Painter(req)
        _check_style_side(m, req, s.max_size)
        painter.check()
    except FieldError:
        raise
    except OptionError as e:
        raise from_option_error(e) from None
    except InputError as e:
        raise FieldError(_field_of(str(e)), web_words(str(e)), prefix=False) from None
    return req


def _field_of(message: str) -> Optional[str]:
    """The form field a library message is about, from the input it names first."""
    for field, words in (("content", "content image"), ("style", "style image")):
        if message.startswith(words):
            return field
    return None


def _check_style_side(m: methods.Method, req: Request, max_size: int) -> None:
    """A style option must not make the painting larger than this server's largest result."""
    if m.style_side is None or m.style_field is None or not req.styles:
        return
    w, h = req.content.size
    oh, ow = images.fit_size(h, w, req.transfer.size)
    side = m.style_side(oh, ow, req.options)
    limit = max(max_size, m.style_side(oh, ow, m.options()))     # the method's own default is always fine
    if side > limit:
        raise FieldError(m.style_field, f"makes the painting {side} px on its long side; this server's "
                                        f"largest is {limit} px: lower it")


def paint(req: Request, job: Optional[Job] = None) -> pipeline.StylizeResult:
    """One stylisation (on the transfer pool). An iterative method reports to `job` (progress,
    preview) and stops when it asks, keeping its best image so far."""
    m = methods.get(req.method)
    live = job is not None and m.iterative
    try:
        return pipeline.run(req, callback=job.on_step if live else None,
                            image_callback=job.on_image if live else None, image_every=1 if live else 0)
    except KeyboardInterrupt:    # a Stop before the method could keep anything
        raise InputError("stopped before the first step: nothing to keep") from None
    except OptionError as e:
        raise from_option_error(e) from None
    except InputError as e:
        raise InputError(web_words(str(e))) from None


def describe(st: WebState, res: pipeline.StylizeResult, order: Order, name: str) -> dict:
    """What both endpoints answer for a finished transfer."""
    m = order.method
    style_name = str(order.model) if m.needs_model else (order.style.filename if order.style else "")
    download = catalog.download_name(order.content.filename or "", style_name or "", m.name)
    return {"url": f"/api/outputs/{name}", "kind": "image", "width": res.image.width, "height": res.image.height,
            "seconds": res.info.get("seconds"), "method": m.name,
            "encoder": res.info.get("encoder") or res.info.get("model"), "stopped": res.stopped,
            "expires_in": st.settings.output_ttl, "download_name": download}


def describe_video(st: WebState, done: dict, order: Order) -> dict:
    """What /api/jobs answers for a finished video."""
    m = order.method
    style_name = str(order.model) if m.needs_model else (order.style.filename if order.style else "")
    name = catalog.download_name(order.content.filename or "", style_name or "", m.name)
    return {"url": f"/api/outputs/{done['name']}", "kind": "video", "width": done["width"], "height": done["height"],
            "frames": done["frames"], "fps": done["fps"], "seconds": done["seconds"], "method": m.name,
            "encoder": None, "stopped": done["stopped"], "expires_in": st.settings.output_ttl,
            "download_name": name[:-4] + ".mp4"}
