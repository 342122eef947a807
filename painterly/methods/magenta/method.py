"""Registration of any painting in one pass with Magenta's GPU-trained networks (Ghiasi et al.
2017). The engine is `stylize.py` (networks, weights and style vectors beside it), the tiled
runner `tiled.py`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..base import Method, Output, Run, Runner, Tiled, register
from .options import MagentaOptions

MODEL = "Magenta arbitrary (Ghiasi et al. 2017)"
#: Tile overlap: the transformer's receptive field is about 55 px (9x9, two stride-2 3x3, ten 3x3 at
#: 1/4 size, two upsampling 3x3, 9x9).
HALO = 64
#: Peak bytes per output pixel (bench fast at 1024x768, plus margin): 32-channel maps at 1/4 size
#: and 8-16 channel maps at full size, a few alive at once.
BYTES_PER_PIXEL = 200


def engine_options(r: Run) -> MagentaOptions:
    """The request's options on the run's device, alpha times the shared strength (Ghiasi's mix)."""
    return dataclasses.replace(r.options, alpha=r.options.alpha * r.strength, device=r.device)


def _paint(r: Run, vectors=None) -> Output:
    from .stylize import run
    out, info = run(r.content, r.styles, engine_options(r), r.style_blend, r.style_masks, vectors)
    info.pop("style_vectors", None)
    return Output(out, info={**info, "model": MODEL})


def _run(r: Run) -> Output:
    return _paint(r)


def _prepare(r: Run) -> Runner:
    """The paintings' style vectors once; each photo then mixes in its own and runs the transformer."""
    from .stylize import painting_vectors
    if not r.styles:
        return _run            # the engine's own error
    vectors = painting_vectors(r.styles, engine_options(r))
    return lambda run: _paint(run, vectors)


def _tiled(r: Run, tiles) -> Output:
    from .tiled import run_tiled
    return run_tiled(r, engine_options(r), tiles, HALO, MODEL)


def load_style(src, what: str = "style image", side=None):
    """A painting (1, 3, H, W) checked for the predictor, or a style-vector file (.pt) -> (1, 100).
    `side` (the predictor's square): a much larger file is decoded at reduced size, its short side
    never below twice that."""
    from ... import images
    from . import presets, stylize
    if isinstance(src, (str, Path)) and str(src).lower().endswith(".pt"):
        return presets.load_vector(src)
    s = images.load_image(src, what, stylize.decode_side(src, side, what))
    stylize.check_style_image(s, f"{what} {src}" if isinstance(src, (str, Path)) else what)
    return s


def _predictor_memory(pixels: int, o: MagentaOptions) -> int:
    from .stylize import PREDICTOR_BYTES_PER_PIXEL
    return PREDICTOR_BYTES_PER_PIXEL * o.style_square ** 2


def _bench(device: str):
    from .stylize import run
    opts = MagentaOptions(device=device)
    return "Magenta arbitrary", lambda c, s: run(c, [s], opts)


@register
def magenta() -> Method:
    return Method(
        name="magenta", title="Any painting, networks trained on GPUs (Magenta)", paper="Ghiasi et al. 2017",
        description="Copies any painting's style, learned from thousands of paintings: about a second",
        options=MagentaOptions, run=_run, prepare=_prepare,
        supports=frozenset({"mask", "blend", "style_masks", "strength", "preserve_colors"}),
        memory=lambda h, w, o: h * w * BYTES_PER_PIXEL, strength_field="alpha", bench=_bench,
        style_side=lambda h, w, o: o.style_square, style_field="style_square",
        style_memory=_predictor_memory,
        load_style=load_style, tiled=Tiled(_tiled, halo=HALO, style_masks=True))
