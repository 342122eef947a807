"""Photorealistic WCT on tiles, for print sizes in bounded memory, with whole-image statistics.

The whitening/colouring of a level needs the statistics of the *whole* image at that level, and
the features at level b are the decoder's output of level b+1, which depends on the maps of the
deeper levels. So statistics are accumulated over tile cores level by level (exact, as
`painterly.tiling.arbitrary_tiled` does for WCT): one pass for the reference's four levels, four
passes for the photo (deepest first), then one pass that decodes each tile with the four maps
and blends the tiles; the guided filter then runs on tiles of that result (its window, 2 × 30 px,
fits in the halo). Label maps work the same way, sliced per tile. Matting smoothing is a whole-image
linear system and is not offered on tiles.
"""

from __future__ import annotations

import math
import time
from typing import Optional

import torch

from ... import images
from ...errors import InputError
from ...tiling import ALIGN, Progress, core_slice, ramp, read_tile, tile_grid
from ... import labels as lab
from .engine import level_maps, region_weights
from .network import load, pad_to_stride
from .options import PhotoOptions
from .smoothing import guided_filter
from .transforms import Moments, apply_maps, region_moments


def _core(t: torch.Tensor, ys, xs, h: int, w: int) -> torch.Tensor:
    return t[..., core_slice(ys, h, t.shape[-2]), core_slice(xs, w, t.shape[-1])]


def _accumulate(acc: list[Moments], feat: torch.Tensor, ids: Optional[torch.Tensor], n: int, ys, xs, h, w) -> None:
    wts = region_weights(ids, n, tuple(feat.shape[-2:])) if ids is not None else None
    f = _core(feat, ys, xs, h, w)
    got = region_moments(f, None if wts is None else _core(wts, ys, xs, h, w), n)
    for a, g in zip(acc, got):
        a += g


def _chain(net, x: torch.Tensor, maps: list, ids: Optional[torch.Tensor], n: int, stop: int):
    """Encode a tile and run the decoder from the deepest level down to level `stop` (exclusive of its
    map): returns the features entering level `stop` (stop >= 0), or RGB (stop = -1)."""
    xp = pad_to_stride(x)
    feats, skips = net.encoder(xp)
    idp = _ids_tile_full(ids, tuple(xp.shape[-2:]))
    y = feats[-1]
    for b in reversed(range(4)):
        if b == stop:
            return y, idp
        wts = region_weights(idp, n, tuple(y.shape[-2:])) if idp is not None else None
        y = apply_maps(y, maps[b], wts)
        y = net.decoder.block(b, y, skips[b])
    return y[..., : x.shape[-2], : x.shape[-1]], idp


def _ids_tile_full(ids: Optional[torch.Tensor], hw) -> Optional[torch.Tensor]:
    return None if ids is None else lab.pad_ids(ids, hw)


@torch.inference_mode()
def stylise_tiled(content: torch.Tensor, style: torch.Tensor, o: PhotoOptions, tile: int = 1024, halo: int = 128,
                  device: str = "cpu", progress: Optional[Progress] = None) -> tuple[torch.Tensor, dict]:
    """`engine.stylise` for a uint8 or float (1, 3, H, W) photo, tile by tile; float32 result."""
    o.validate()
    if o.smooth == "matting":
        raise InputError("matting smoothing solves one linear system over the whole image and does not run on "
                         "tiles: use the guided filter (smooth guided) or a smaller size")
    t0 = time.perf_counter()
    net = load(device)
    h, w = content.shape[-2:]
    sh, sw = style.shape[-2:]
    side = o.style_size or min(max(sh, sw), max(h, w))
    s_hw = images.fit_size(sh, sw, side)
    if (sh, sw) != s_hw:
        from ...tiling import downscale
        style = downscale(style, side)
    c_ids = s_ids = None
    n = 1
    if o.content_labels is not None:
        cmap = lab.load(o.content_labels, "content labels", (h, w))
        smap = lab.load(o.style_labels, "style labels", tuple(style.shape[-2:]))
        n = len(cmap.palette)
        c_ids = cmap.ids.to(torch.uint8 if n < 255 else torch.int32)      # 1 byte a pixel at print size
        s_ids = lab.for_style(smap, lab.match(cmap, smap))
    grid_c = tile_grid(h, w, tile, halo)
    sgh, sgw = style.shape[-2:]
    grid_s = tile_grid(sgh, sgw, tile, halo)
    steps, done = len(grid_s) + 5 * len(grid_c) + len(grid_c), 0

    def tick(what: str):
        nonlocal done
        done += 1
        if progress:
            progress(done, steps, what)

    # reference statistics, all levels in one pass
    chans = [net.encoder.blocks[b][-1].out_channels for b in range(4)]
    s_per = [[Moments(c) for _ in range(n)] for c in chans]
    s_whole = [Moments(c) for c in chans]
    for ys, xs in grid_s:
        x = read_tile(style, ys, xs).to(device)
        xp = pad_to_stride(x)
        feats, _ = net.encoder(xp)
        ids = None if s_ids is None else lab.pad_ids(s_ids[ys.start:ys.end, xs.start:xs.end], tuple(xp.shape[-2:]))
        for b, f in enumerate(feats):
            _accumulate(s_per[b], f, ids, n, ys, xs, sgh, sgw)
            s_whole[b] += region_moments(_core(f, ys, xs, sgh, sgw), None, 1)[0]
        tick("reference statistics")
    if s_ids is None:
        s_per = [[wm] for wm in s_whole]

    # the photo's statistics, level by level, deepest first
    maps: list = [None] * 4
    for b in reversed(range(4)):
        acc = [Moments(chans[b]) for _ in range(n)]
        for ys, xs in grid_c:
            x = read_tile(content, ys, xs).to(device)
            ids = None if c_ids is None else c_ids[ys.start:ys.end, xs.start:xs.end].long()
            y, idp = _chain(net, x, maps, ids, n, b)
            _accumulate(acc, y, idp, n, ys, xs, h, w)
            tick(f"level {b + 1} statistics")
        maps[b] = level_maps(acc, s_per[b], s_whole[b], o.alpha)

    # decode every tile with the four maps; blend into a uint8 image (the filter's input)
    raw = torch.zeros(1, 3, h, w)
    feather = max(1, math.ceil(halo / ALIGN) * ALIGN // 4)
    for ys, xs in grid_c:
        x = read_tile(content, ys, xs).to(device)
        ids = None if c_ids is None else c_ids[ys.start:ys.end, xs.start:xs.end].long()
        y, _ = _chain(net, x, maps, ids, n, -1)
        wgt = ramp(ys, h, feather)[:, None] * ramp(xs, w, feather)[None, :]
        raw[..., ys.start:ys.end, xs.start:xs.end] += y.clamp(0, 1).float().cpu() * wgt
        tick("tiles")
    t1 = time.perf_counter()
    if o.smooth == "guided":
        raw8 = raw.clamp_(0, 1).mul_(255).add_(0.5).to(torch.uint8)     # 3 bytes a pixel while filtering
        del raw
        out = torch.zeros(1, 3, h, w)
        for ys, xs in grid_c:
            g = read_tile(content, ys, xs)
            y = guided_filter(g, read_tile(raw8, ys, xs), o.smooth_radius, o.smooth_eps ** 2)
            out[..., ys.core_start:ys.core_end, xs.core_start:xs.core_end] = \
                y[..., ys.core_start - ys.start:ys.core_end - ys.start, xs.core_start - xs.start:xs.core_end - xs.start]
            tick("smoothing")
    else:
        out = raw.clamp_(0, 1)
    info = {"alpha": o.alpha, "smooth": o.smooth, "labels": n if c_ids is not None else 0, "tile": tile,
            "halo": halo, "tiles": len(grid_c), "stats": "exact", "style_size": list(style.shape[-2:]),
            "transfer_seconds": t1 - t0, "seconds": time.perf_counter() - t0}
    return out, info
