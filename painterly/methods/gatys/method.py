"""Registration of optimisation-based transfer (Gatys et al.); the optimiser is `stylize.py`."""

from __future__ import annotations

import dataclasses

from ..base import Method, Output, Run, Runner, register
from .options import GatysOptions


def _run(r: Run, encoder=None) -> Output:
    from . import stylize
    o = dataclasses.replace(r.options, device=r.device)
    res = stylize.run(r.content, r.styles, o, style_blend=r.style_blend, mask=r.mask, callback=r.callback,
                      image_callback=r.image_callback, image_every=r.image_every, encoder=encoder)
    return Output(res.image, res.history, res.stopped,
                  {"encoder": res.encoder, "seconds": res.seconds, "options": res.options})


def _prepare(r: Run) -> Runner:
    """The VGG encoder once for every photo of this size (loading it costs more than a few steps)."""
    from . import stylize
    o = dataclasses.replace(r.options, device=r.device)
    o.validate()
    encoder = stylize.make_encoder(o, *r.content.shape[-2:])
    return lambda run: _run(run, encoder)


def _memory(h: int, w: int, o: GatysOptions) -> int:
    from .stylize import estimate_memory
    return estimate_memory(h, w, o.low_memory)


def _style_memory(pixels: int, o: GatysOptions) -> int:
    from .stylize import estimate_style_memory
    return estimate_style_memory(pixels)


def _style_side(h: int, w: int, o: GatysOptions) -> int:
    from .stylize import style_long_side
    return style_long_side(h, w, o.style_scale)


@register
def gatys() -> Method:
    return Method(
        name="gatys", title="Optimise (Gatys)", paper="Gatys, Ecker & Bethge 2015/2016",
        description="Repaints your photo step by step: the best quality, takes minutes",
        options=GatysOptions, run=_run, prepare=_prepare, supports=frozenset({"mask", "blend", "strength", "preserve_colors"}),
        memory=_memory, style_side=_style_side, style_memory=_style_memory, style_field="style_scale",
        iterative=True)
