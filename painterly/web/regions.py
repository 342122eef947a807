"""Where the page paints: the whole picture or one automatic region (sky, person, background), as
one form field, `where`, that becomes the request's mask (`auto:REGION`), and the mask preview the
page lays over the photo before painting."""

from __future__ import annotations

import io
from typing import Optional

from PIL import Image

from .. import methods, segment
from .catalog import WHERE
from .forms import FieldError

#: long side of the preview mask (the page shows the photo smaller than this)
PREVIEW_SIDE = 512


def _missing(where: str) -> str:
    return {"sky": "no sky", "not-sky": "nothing but sky", "person": "no person",
            "background": "no person"}[where]


def mask_source(m: methods.Method, where: Optional[str]) -> Optional[str]:
    """The request's `mask` for the form's `where` (None for the whole picture); FieldError when the
    method paints only whole pictures."""
    if not where:
        return None
    if "mask" not in m.supports:
        raise FieldError("where", f"method {m.name} paints the whole picture only: choose '{WHERE['']}'")
    return segment.PREFIX + where


def preview(content: Image.Image, where: str) -> tuple[bytes, float]:
    """The mask of `where` at most PREVIEW_SIDE px on its long side, as PNG bytes (white = painted),
    and the share of the photo it covers; FieldError when the photo has no such part."""
    w, h = content.size
    side = min(PREVIEW_SIDE, max(w, h))
    try:
        m = segment.mask(content, where, size=side)
    except segment.RegionNotFound:
        raise FieldError("where", f"found {_missing(where)} in the photo: choose another part, or "
                                  f"'{WHERE['']}'") from None
    buf = io.BytesIO()
    a = (m[0, 0] * 255 + 0.5).clamp(0, 255).byte().numpy()
    Image.fromarray(a, mode="L").save(buf, "PNG")
    return buf.getvalue(), float((m > 0.5).float().mean())


def check_present(content: Image.Image, where: Optional[str]) -> None:
    """Refuse before queueing a job when the photo has no such part (the run would stop on it)."""
    if where:
        preview(content, where)

