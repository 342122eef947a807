"""Uploaded images: read with a cap, judged by their header against the server's pixel limit, decoded
off the event loop. Errors are `FieldError`s naming the form field (`content` or `style`)."""

from __future__ import annotations

import io
import warnings
from typing import Optional

from PIL import Image
from starlette.datastructures import UploadFile

from .. import images
from ..errors import InputError
from .forms import FieldError, Order
from .state import WebState

WHAT = {"content": "the photo", "style": "the painting"}


def decode_upload(data: bytes, what: str, max_pixels: int) -> Image.Image:
    """Decode an upload; the pixel limit is checked from the header, before any pixel is decoded."""
    limit = f"this server accepts up to {max_pixels / 1e6:g} MP per image: scale it down"
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


async def read_upload(st: WebState, f: UploadFile, field: str) -> Image.Image:
    """One uploaded file as an image: 413 over the byte or pixel cap, 422 when it is not a picture."""
    s = st.settings
    what = WHAT[field]
    data = await f.read(s.max_upload_bytes + 1)
    if len(data) > s.max_upload_bytes:
        raise FieldError(field, f"{what} is larger than {s.max_upload_bytes // 2**20} MB, this server's limit",
                         status=413, prefix=False)
    try:
        return await st.in_decode_thread(decode_upload, data, what, s.max_pixels)
    except InputError as e:
        big = "too large" in str(e) or "too many pixels" in str(e)
        raise FieldError(field, str(e), status=413 if big else 422, prefix=False) from None


async def read_images(st: WebState, order: Order) -> tuple[Image.Image, Optional[Image.Image]]:
    """The order's photo and painting (None for a method with a model), decoded."""
    content = await read_upload(st, order.content, "content")
    style = await read_upload(st, order.style, "style") if order.style is not None else None
    return content, style
