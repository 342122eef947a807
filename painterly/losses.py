"""Losses as pure functions over feature tensors: content (MSE), Gram style, total variation.

Normalisation follows Gatys et al.: a layer's style loss is E_l = 1/(4 N_l^2 M_l^2) sum (G - A)^2,
computed here as 1/4 mean((G/M - A/M)^2) so it does not depend on image size. The content loss is
1/2 mean((F - P)^2), i.e. the paper's 1/2 sum divided by N_l M_l, so the balance between the two
does not change with --size either. Masks weight positions (1 = counts, 0 = ignored).
"""

from __future__ import annotations

import math
from typing import Optional
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def resize_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A (N, 1, H, W) mask resampled to a feature map's (h, w), by area averaging."""
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask
    return F.interpolate(mask, size=size, mode="area" if mask.shape[-1] >= size[-1] else "bilinear")


def gram_matrix(feat: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C) Gram matrix F F^T divided by the number of (masked) positions;
    float32 whatever the features' type (a bfloat16 matmul accumulates in float32)."""
    n, c, h, w = feat.shape
    if mask is not None:
        m = resize_mask(mask, (h, w))
        feat = feat * m.sqrt()   # sqrt so that F F^T weights each position by m
        count = m.sum(dim=(1, 2, 3)).clamp_min(1.0).view(n, 1, 1)
    else:
        count = torch.full((n, 1, 1), float(h * w), device=feat.device)
    if c > 1 and feat.is_contiguous(memory_format=torch.channels_last):
        # channels-last (the bfloat16 VGG's layout): (N, HW, C) is a view, so no copy, and the
        # gradient comes back channels-last like the convolution's: about 2x faster both ways
        f = feat.permute(0, 2, 3, 1).reshape(n, h * w, c)
        return torch.bmm(f.transpose(1, 2), f).float() / count
    f = feat.reshape(n, c, h * w)
    return torch.bmm(f, f.transpose(1, 2)).float() / count


def content_loss(feat: torch.Tensor, target: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """1/2 mean squared difference between feature maps (Gatys' content loss, size-normalised);
    with a mask, the mean over the (weighted) positions it keeps."""
    if mask is None:
        return 0.5 * F.mse_loss(feat, target)
    m = resize_mask(mask, tuple(feat.shape[-2:]))
    sq = (feat - target).pow(2) * m
    return 0.5 * sq.sum() / (m.expand_as(sq).sum().clamp_min(1.0))


def style_loss(feat: torch.Tensor, target_gram: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Gatys' per-layer style loss between the Gram matrix of `feat` and a target Gram matrix."""
    return 0.25 * F.mse_loss(gram_matrix(feat, mask), target_gram.expand(feat.shape[0], -1, -1))


def blend_weights(blend: Optional[Sequence[float]], n: int) -> list[float]:
    """The weights that mix `n` styles (equal when None), checked: one per style, finite, >= 0,
    not all zero. Every method that blends styles (Gram targets, AdaIN/WCT features) uses these."""
    from .options import OptionError
    w = list(blend) if blend is not None else [1.0] * n
    if len(w) != n:
        raise OptionError("style_blend", f"has {len(w)} weights for {n} style images")
    if any((not math.isfinite(b)) or b < 0 for b in w) or sum(w) <= 0:
        raise OptionError("style_blend", "weights must be >= 0 and not all zero")
    return w


def tv_loss(img: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference between neighbouring pixels (smoothness prior)."""
    dh = img[..., 1:, :] - img[..., :-1, :]
    dw = img[..., :, 1:] - img[..., :, :-1]
    return dh.pow(2).mean() + dw.pow(2).mean()
