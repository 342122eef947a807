"""Photorealistic WCT with the PCA-distilled network, whole image: pure functions over tensors.

    photo, reference -> encoder (features + skips of four blocks)
      level 4 … 1: whiten/colour the current features with the reference's statistics at that level
                   (per label region when label maps are given), then one decoder block
    -> RGB -> smoothing (guided filter with the photo as guide, or matting-affinity closed form)

Every level's transform is an affine map computed from `transforms.Moments`, so the tiled runner
(`tiled.py`) reuses these pieces with statistics accumulated over tiles.
"""

from __future__ import annotations

import time
from typing import Optional

import torch

from ... import images
from ... import labels as lab
from .network import PCAKD, load, pad_to_stride
from .options import PhotoOptions
from .smoothing import smooth
from .transforms import EPS, Moments, apply_maps, region_moments, zca_map


def region_weights(ids: Optional[torch.Tensor], n: int, hw: tuple[int, int]) -> Optional[torch.Tensor]:
    """(1, n, h, w) soft region weights at a feature grid, or None without labels; ids < 0 count for nothing."""
    if ids is None:
        return None
    safe = torch.where(ids < 0, torch.full_like(ids, n), ids)
    return lab.weights_at(safe, n + 1, hw)[:, :n]


def moments(feat: torch.Tensor, weights: Optional[torch.Tensor], n: int) -> list[Moments]:
    """Statistics of (1, C, h, w) features: one Moments per label (one in all without labels)."""
    return region_moments(feat, weights, n)


def level_maps(content: list[Moments], style: list[Moments], whole_style: Moments, alpha: float,
               eps: float = EPS) -> list[tuple]:
    """One affine map per region; a region too small in the reference at this level (< 1 cell) uses
    the reference's whole-image statistics; one empty in the photo has no map (left as it is)."""
    out = []
    for cm, sm in zip(content, style):
        if float(cm.n) <= 0:
            out.append((None, None))
            continue
        out.append(zca_map(cm, sm if float(sm.n) >= 1 else whole_style, alpha, eps))
    return out


def reference_moments(net: PCAKD, style: torch.Tensor, s_ids: Optional[torch.Tensor],
                      n: int) -> tuple[list[list[Moments]], list[Moments]]:
    """Per level (0..3): the reference's statistics per label, and over the whole reference."""
    sp = pad_to_stride(style)
    h, w = style.shape[-2:]
    feats, _ = net.encoder(sp, skips=False)
    per, whole = [], []
    for b, f in enumerate(feats):
        s = 2 ** b
        fh, fw = -(-h // s), -(-w // s)          # the cells that cover the unpadded reference
        f = f[..., :fh, :fw]
        wts = region_weights(s_ids, n, (fh, fw)) if s_ids is not None else None
        per.append(moments(f, wts, n) if wts is not None else [Moments(f.shape[1]).add(f)])
        whole.append(per[-1][0] if wts is None else Moments(f.shape[1]).add(f))
    return per, whole


def prepare(content: torch.Tensor, style: torch.Tensor, o: PhotoOptions):
    """Reference at its working size, label maps read, checked and matched (content ids, style ids, n)."""
    h, w = content.shape[-2:]
    side = o.style_size or max(h, w)
    s = images.resize_long_side(style, min(side, max(style.shape[-2:])) if o.style_size is None else side)
    c_ids = s_ids = None
    n = 1
    if o.content_labels is not None:
        cmap = lab.load(o.content_labels, "content labels", (h, w))
        smap = lab.load(o.style_labels, "style labels", tuple(s.shape[-2:]))
        order = lab.match(cmap, smap)
        c_ids, s_ids, n = cmap.ids, lab.for_style(smap, order), len(cmap.palette)
    return s, c_ids, s_ids, n


@torch.inference_mode()
def stylise(content: torch.Tensor, style: torch.Tensor, o: PhotoOptions, device: str = "cpu",
            net: Optional[PCAKD] = None) -> tuple[torch.Tensor, dict]:
    """(1, 3, H, W) photo in the colour and light of (1, 3, h, w) `style`; returns (image, info)."""
    o.validate()
    t0 = time.perf_counter()
    net = net or load(device)
    style, c_ids, s_ids, n = prepare(content, style, o)
    x_in = content.to(device)
    h, w = x_in.shape[-2:]
    s_per, s_whole = reference_moments(net, style.to(device), s_ids, n)
    xp = pad_to_stride(x_in)
    feats, skips = net.encoder(xp)
    c_ids_p = lab.pad_ids(c_ids, tuple(xp.shape[-2:])) if c_ids is not None else None
    x = feats[-1]
    for b in reversed(range(4)):
        fh, fw = -(-h // 2 ** b), -(-w // 2 ** b)
        wts = region_weights(c_ids_p, n, tuple(x.shape[-2:])) if c_ids_p is not None else None
        core = x[..., :fh, :fw]
        c_mom = moments(core, None if wts is None else wts[..., :fh, :fw], n)
        maps = level_maps(c_mom, s_per[b], s_whole[b], o.alpha)
        x = apply_maps(x, maps, wts)
        x = net.decoder.block(b, x, skips[b])
    t1 = time.perf_counter()
    out = x[..., :h, :w].clamp(0, 1).cpu()
    out = smooth(o.smooth, content.cpu().float(), out, o.smooth_radius, o.smooth_eps, o.matting_lambda)
    t2 = time.perf_counter()
    info = {"alpha": o.alpha, "smooth": o.smooth, "labels": n if c_ids is not None else 0,
            "style_size": list(style.shape[-2:]), "transfer_seconds": t1 - t0, "smooth_seconds": t2 - t1,
            "seconds": t2 - t0}
    return out, info
