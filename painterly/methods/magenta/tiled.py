"""Magenta's any-painting method on tiles (print size in bounded memory)."""

from __future__ import annotations

import torch

from ... import tiling
from ..base import Output, Run
from .options import MagentaOptions


def run_tiled(r: Run, opts: MagentaOptions, tiles: tiling.Tiles, halo: int, model: str) -> Output:
    """Style vectors from a reduced copy (the predictor sees a 256 px square anyway), the
    transformer on tiles with whole-image norm statistics; with region masks, one tiled pass per
    style composited onto the photo a band of rows at a time."""
    from .files import load
    from .stylize import blend_vectors, check_masks, style_vectors
    opts.validate()
    check_masks(r.styles, r.style_masks)
    styles = [tiling.to_float(s) for s in r.styles]     # uint8 after --preserve-colors match
    vecs = style_vectors(tiling.downscale(r.content, tiling.REDUCED_SIDE), styles, opts)
    net = load("magenta-transformer").to(r.device)
    halo = max(halo, tiles.halo)

    def tiled(vec: torch.Tensor):
        return tiling.run_tiled(tiling.Bound(net, vec, multiple=4), r.content, tiles.tile, halo, tiles.stats,
                                device=r.device, progress=tiles.progress)
    if r.style_masks is None:
        out, info = tiled(blend_vectors(vecs, r.style_blend))
    else:
        out = tiling.to_float(r.content)
        for vec, mask in zip(vecs, r.style_masks):
            styled, info = tiled(vec[None])
            tiling.paste_in_bands(out, styled, mask)
            del styled
    return Output(out, info={**info, "alpha": opts.alpha, "model": model})
