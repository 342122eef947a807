"""Pictures of the trained styles for the gallery: the example photo painted with each style.

Shipped small in `static/styles/` (made once with `python -m painterly.web.thumbs`); a style
without a shipped picture (a model added later) is painted once on the transfer pool and kept in
memory. The cache holds at most one picture per registered style, so it is bounded.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .. import pipeline
from ..examples import bundled
from .routes_pages import STATIC

if TYPE_CHECKING:
    from .state import WebState

FOLDER = STATIC / "styles"
SIDE = 160            # long side in px: a gallery tile shows 64-72 px, the painting box up to 150
PHOTO = "tubingen.jpg"
_made: dict[tuple[str, str], bytes] = {}


def shipped(method: str, model: str) -> Path:
    return FOLDER / f"{method}_{model}.jpg"


def make_picture(method: str, model: str, device: str = "cpu") -> bytes:
    """The example photo painted with one trained style, as a small JPEG."""
    res = pipeline.run_stylize(bundled(PHOTO), None, method=method, size=SIDE, device=device, model=model)
    buf = io.BytesIO()
    res.image.convert("RGB").save(buf, "JPEG", quality=80, optimize=True)
    return buf.getvalue()


async def picture(st: "WebState", method: str, model: str) -> bytes:
    """A trained style's picture: the shipped file, else one painted now (once) and cached."""
    p = shipped(method, model)
    if p.is_file():
        return p.read_bytes()
    key = (method, model)
    if key not in _made:
        async with st.queue.slot():
            _made[key] = await st.in_transfer_thread(make_picture, method, model, st.settings.device)
    return _made[key]


def main() -> int:
    """Paint and save the picture of every trained style the web page offers (run when one is added)."""
    from . import catalog
    FOLDER.mkdir(exist_ok=True)
    for style in catalog.examples()["styles"]:
        out = shipped(style["method"], style["id"])
        out.write_bytes(make_picture(style["method"], style["id"]))
        print(f"{out.relative_to(STATIC)}  {out.stat().st_size // 1024} KB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
