"""Registration of optimisation-based transfer (Gatys et al.); the optimiser is `stylize.py`."""

from __future__ import annotations

import dataclasses

from typing import Optional

from ..base import Method, Output, Run, Runner, register
from .options import GatysOptions


def _run(r: Run, encoder=None, memory: Optional[dict] = None) -> Output:
    """One photo; a video frame with a `guide` (Ruder et al.): starts from the previous output warped onto
    it, adds the temporal loss where the motion is reliable, and takes `frame_steps` (a third of the steps)."""
    from . import stylize
    o = dataclasses.replace(r.options, device=r.device)
    init, terms, extra = None, (), {}
    if r.guide is not None:
        from ...temporal.loss import TemporalTerm, guide_tensors
        prev, trust = guide_tensors(r.guide, r.device)
        o = dataclasses.replace(o, steps=o.frame_steps or max(1, o.steps // 3), scales=1)
        scale = (memory or {}).get("total")
        if scale is None:            # the loss of the warped start itself, when no frame before says it
            scale = stylize.run(r.content, r.styles, dataclasses.replace(o, steps=1), style_blend=r.style_blend,
                                mask=r.mask, encoder=encoder, init=prev).history[0]["total"]
        init, terms = prev, TemporalTerm(prev, trust, o.temporal_weight * scale)
        extra = {"temporal_weight": o.temporal_weight * scale, "frame_steps": o.steps}
    res = stylize.run(r.content, r.styles, o, style_blend=r.style_blend, mask=r.mask, callback=r.callback,
                      image_callback=r.image_callback, image_every=r.image_every, encoder=encoder, init=init,
                      terms=terms)
    if memory is not None and res.history:
        h = res.history[-1]
        memory["total"] = h["total"] - h.get("temporal", 0.0) * extra.get("temporal_weight", 0.0)
    return Output(res.image, res.history, res.stopped,
                  {"encoder": res.encoder, "seconds": res.seconds, "options": res.options, **extra})


def _prepare(r: Run) -> Runner:
    """The VGG encoder once for every photo of this size (loading it costs more than a few steps); in a
    video, each frame's final loss sets the scale of the next frame's temporal loss."""
    from . import stylize
    o = dataclasses.replace(r.options, device=r.device)
    o.validate()
    encoder = stylize.make_encoder(o, *r.content.shape[-2:])
    memory: dict = {}
    return lambda run: _run(run, encoder, memory)


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
        iterative=True, uses_guide=True)
