"""Registration of `photo`: a photo in the colour and light of another photo, without paint strokes.
The engine is `engine.py`, the tiled runner `tiled.py`."""

from __future__ import annotations

import dataclasses

from ...options import OptionError
from ..base import Method, Output, Run, Tiled, register
from .options import PhotoOptions

#: Peak bytes per output pixel of a whole-image run (CPU; measured at 700 px, with margin).
BYTES_PER_PIXEL = 1200
#: Tile overlap: the network's receptive field (~150 px) and the guided filter's window (2 x 30 px).
HALO = 128


def _options(r: Run) -> PhotoOptions:
    if len(r.styles) != 1:
        raise OptionError("style_blend", f"photo takes one reference photo, got {len(r.styles)}")
    o = r.options
    return dataclasses.replace(o, alpha=o.alpha * r.strength) if r.strength != 1.0 else o


def _run(r: Run) -> Output:
    from .engine import stylise
    out, info = stylise(r.content, r.styles[0], _options(r), r.device)
    return Output(out, info=info)


def _tiled(r: Run, tiles) -> Output:
    from .tiled import stylise_tiled
    out, info = stylise_tiled(r.content, r.styles[0], _options(r), tiles.tile, max(tiles.halo, HALO), r.device,
                              tiles.progress)
    return Output(out, info=info)


def _bench(device: str):
    from .engine import stylise
    opts = PhotoOptions()
    return "photo", lambda c, s: stylise(c, s, opts, device)


@register
def photo() -> Method:
    return Method(
        name="photo", title="Photo to photo (photorealistic WCT)", paper="Chiu & Gurari 2022; Li et al. 2018",
        description="Gives a photo the colours and light of another photo, without paint strokes: about a second",
        options=PhotoOptions, run=_run, supports=frozenset({"mask", "strength", "preserve_colors"}),
        memory=lambda h, w, o: BYTES_PER_PIXEL * h * w, style_memory=lambda px, o: BYTES_PER_PIXEL // 2 * px,
        style_side=lambda h, w, o: o.style_size or max(h, w), style_field="style_size", strength_field="alpha",
        bench=_bench, tiled=Tiled(_tiled, halo=HALO, buffer_bytes_per_pixel=3))
