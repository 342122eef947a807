"""Feature transforms of arbitrary style transfer, as pure functions over (1, C, H, W) tensors.

AdaIN (Huang & Belongie 2017) gives the content features the style's per-channel mean and
standard deviation; WCT (Li et al. 2017) whitens the content features and colours them with
the style's full covariance. Both take optional region masks (one per style) and blend weights.
"""

from __future__ import annotations

from typing import Optional
from collections.abc import Sequence

import torch

from ...linalg import sym_power
from ...losses import blend_weights, resize_mask

EPS = 1e-5


def mean_std(feat: torch.Tensor, mask: Optional[torch.Tensor] = None,
             eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation (1, C, 1, 1) over all positions or a mask's."""
    if mask is None:
        return feat.mean(dim=(2, 3), keepdim=True), (feat.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    m = resize_mask(mask, feat.shape[-2:])
    n = m.sum(dim=(2, 3), keepdim=True).clamp_min(1.0)
    mu = (feat * m).sum(dim=(2, 3), keepdim=True) / n
    var = ((feat - mu) ** 2 * m).sum(dim=(2, 3), keepdim=True) / n
    return mu, (var + eps).sqrt()


def adain(content: torch.Tensor, style: torch.Tensor, content_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """AdaIN(x, y) = σ(y) (x − μ(x)) / σ(x) + μ(y); statistics of x taken over `content_mask`."""
    return apply_map(stats_map("adain", mean_std(content, content_mask), mean_std(style)), content)


def _flat(feat: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """(1, C, H, W) -> (C, n) of the positions inside the mask (float64 for the eigensolver)."""
    f = feat[0].reshape(feat.shape[1], -1).double()
    if mask is None:
        return f
    keep = resize_mask(mask, feat.shape[-2:])[0, 0].reshape(-1) > 0.5
    return f[:, keep]


def covariance(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean (C, 1), unbiased covariance (C, C)) of (C, n) features."""
    mu = f.mean(dim=1, keepdim=True)
    f = f - mu
    return mu, f @ f.T / max(1, f.shape[1] - 1)


def _cov_power(cov: torch.Tensor, power: float, eps: float = EPS) -> torch.Tensor:
    """(cov + eps·I)^power; tiny eigenvalues are dropped as Li et al. do."""
    return sym_power(cov + eps * torch.eye(cov.shape[0], dtype=cov.dtype, device=cov.device), power, eps,
                     drop_small=True)


def stats_map(kind: str, content_stats: tuple[torch.Tensor, torch.Tensor],
              style_stats: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The affine map (scale or matrix, shift) a transform applies to the content features, from
    whole-image statistics: AdaIN's (mean, std) per channel, WCT's (mean, covariance). Statistics
    and map are separate so that tiled runs (`painterly.tiling`) can accumulate them over tiles."""
    (mc, vc), (ms, vs) = content_stats, style_stats
    if kind == "adain":
        scale = vs / vc
        return scale, ms - mc * scale
    m = _cov_power(vs, 0.5) @ _cov_power(vc, -0.5)
    return m, ms - m @ mc


def apply_map(affine: tuple[torch.Tensor, torch.Tensor], feat: torch.Tensor) -> torch.Tensor:
    """Apply a `stats_map` result to (1, C, H, W) features."""
    a, b = affine
    if a.dim() == 4:                                   # AdaIN: per-channel scale and shift
        return feat * a + b
    f = feat[0].reshape(feat.shape[1], -1)
    return (a.to(f.dtype) @ f + b.to(f.dtype)).reshape_as(feat[0]).unsqueeze(0)


def wct(content: torch.Tensor, style: torch.Tensor, content_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Whitening–colouring transform: content features with the style's mean and covariance."""
    return apply_map(stats_map("wct", covariance(_flat(content, content_mask)), covariance(_flat(style, None))),
                     content)


def transfer(kind: str, content: torch.Tensor, styles: Sequence[torch.Tensor], alpha: float = 1.0,
             weights: Optional[Sequence[float]] = None,
             masks: Optional[Sequence[torch.Tensor]] = None) -> torch.Tensor:
    """Apply `kind` ('adain' or 'wct') for one or several styles, then blend with the content
    features by strength `alpha` (0 = content, 1 = full style).

    Without masks, several styles are interpolated by `weights` (Huang & Belongie, Fig. 8). With
    one (1, 1, H, W) mask per style, each style is transferred using the content statistics of
    its own region and pasted there; positions outside every mask keep the content features.
    """
    fn = adain if kind == "adain" else wct
    if masks is None:
        w = blend_weights(weights, len(styles))
        total = sum(w)
        t = sum((wi / total) * fn(content, s) for wi, s in zip(w, styles))
    else:
        t = content.clone()
        for s, m in zip(styles, masks):
            mf = resize_mask(m, content.shape[-2:])
            if float(mf.max()) <= 0.5:
                continue
            t = mf * fn(content, s, content_mask=m) + (1 - mf) * t
    return alpha * t + (1 - alpha) * content
