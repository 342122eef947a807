"""Feature transforms of arbitrary style transfer, as pure functions over (1, C, H, W) tensors.

AdaIN (Huang & Belongie 2017) gives the content features the style's per-channel mean and
standard deviation; WCT (Li et al. 2017) whitens the content features and colours them with
the style's full covariance. Both take optional region masks (one per style) and blend weights.
"""

from __future__ import annotations

from typing import Optional
from collections.abc import Sequence

import torch

from ..linalg import sym_power
from ..losses import blend_weights, resize_mask

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
    mc, sc = mean_std(content, content_mask)
    ms, ss = mean_std(style)
    return ss * (content - mc) / sc + ms


def _flat(feat: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """(1, C, H, W) -> (C, n) of the positions inside the mask (float64 for the eigensolver)."""
    f = feat[0].reshape(feat.shape[1], -1).double()
    if mask is None:
        return f
    keep = resize_mask(mask, feat.shape[-2:])[0, 0].reshape(-1) > 0.5
    return f[:, keep]


def _sqrt_cov(f: torch.Tensor, power: float, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, cov^power) of (C, n) features; tiny eigenvalues are dropped as Li et al. do."""
    mu = f.mean(dim=1, keepdim=True)
    f = f - mu
    cov = f @ f.T / max(1, f.shape[1] - 1) + eps * torch.eye(f.shape[0], dtype=f.dtype, device=f.device)
    return mu, sym_power(cov, power, eps, drop_small=True)


def wct(content: torch.Tensor, style: torch.Tensor, content_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Whitening–colouring transform: content features with the style's mean and covariance."""
    fc = _flat(content, content_mask)
    mc, whiten = _sqrt_cov(fc, -0.5)
    ms, colour = _sqrt_cov(_flat(style, None), 0.5)
    full = content[0].reshape(content.shape[1], -1).double()
    out = colour @ (whiten @ (full - mc)) + ms
    return out.reshape_as(content[0]).unsqueeze(0).to(content.dtype)


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
