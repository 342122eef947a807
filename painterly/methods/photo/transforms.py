"""ZCA whitening and colouring of features, per region, as pure functions over tensors.

Chiu & Gurari's order of operations: at each decoder level the features are whitened with
their own (covariance + 1)^-½ and coloured with the reference's (covariance + 1)^½ (biased
covariances; the +1 keeps the tiny distilled features well conditioned), then blended with the
unchanged features by `alpha`. Statistics are `Moments` (weighted sums), so the whole image, a
label region (soft weights at region borders) or a set of tiles all give them the same way;
a level's transform is then one affine map per region.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch

from ...linalg import sym_power

#: Added to both covariances before the square roots (the authors' value).
EPS = 1.0
#: Positions per float64 block when summing statistics.
CHUNK = 1 << 20


class Moments:
    """Weighted sums Σw, Σw·x, Σw·x·xᵀ of C-dimensional features (float64)."""

    def __init__(self, c: int):
        self.n = torch.zeros((), dtype=torch.float64)
        self.s = torch.zeros(c, dtype=torch.float64)
        self.q = torch.zeros(c, c, dtype=torch.float64)

    def add(self, feat: torch.Tensor, weight: Optional[torch.Tensor] = None) -> Moments:
        """Add (1, C, h, w) features, optionally weighted by (1, 1, h, w) weights."""
        f = feat[0].reshape(feat.shape[1], -1)
        w = None if weight is None else weight.reshape(-1)
        for j in range(0, f.shape[1], CHUNK):               # bounded float64 copies
            c = f[:, j:j + CHUNK].double().cpu()
            if w is None:
                self.n += c.shape[1]
                self.s += c.sum(dim=1)
                self.q += c @ c.T
            else:
                wj = w[j:j + CHUNK].double().cpu()
                self.n += wj.sum()
                self.s += c @ wj
                self.q += (c * wj) @ c.T
        return self

    def __iadd__(self, other: Moments) -> Moments:
        self.n, self.s, self.q = self.n + other.n, self.s + other.s, self.q + other.q
        return self

    def mean_cov(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean (C, 1), biased covariance (C, C))."""
        n = float(self.n.clamp_min(1e-12))
        mu = (self.s / n)[:, None]
        cov = self.q / n - mu @ mu.T
        return mu, (cov + cov.T) / 2


def zca_map(content: Moments, style: Moments, alpha: float = 1.0,
            eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """The affine map (M, t) with M x + t = α [(Σ_s+ε)^½ (Σ_c+ε)^-½ (x − μ_c) + μ_s] + (1 − α) x."""
    (mc, cc), (ms, cs) = content.mean_cov(), style.mean_cov()
    eye = torch.eye(cc.shape[0], dtype=cc.dtype)
    a = sym_power(cs + eps * eye, 0.5, 1e-5, drop_small=True) @ sym_power(cc + eps * eye, -0.5, 1e-5, drop_small=True)
    m = alpha * a + (1 - alpha) * eye
    return m, alpha * (ms - a @ mc)


def region_moments(feat: torch.Tensor, weights: Optional[torch.Tensor], n: int) -> list[Moments]:
    """Statistics of (1, C, h, w) features per region of (1, n, h, w) weights (one pass over the
    features), or one Moments over all positions when `weights` is None."""
    c = feat.shape[1]
    if weights is None:
        return [Moments(c).add(feat)]
    out = [Moments(c) for _ in range(n)]
    f = feat[0].reshape(c, -1)
    w = weights[0].reshape(n, -1)
    for j in range(0, f.shape[1], CHUNK):
        x = f[:, j:j + CHUNK].double().cpu()
        wj = w[:, j:j + CHUNK].double().cpu()
        sums, counts = x @ wj.T, wj.sum(dim=1)                 # (C, n), (n,)
        for k, m in enumerate(out):
            if float(counts[k]) <= 0:
                continue
            m.n += counts[k]
            m.s += sums[:, k]
            m.q += (x * wj[k]) @ x.T
    return out


def apply_maps(feat: torch.Tensor, maps: Sequence[tuple[torch.Tensor, torch.Tensor]],
               weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Apply one map to (1, C, h, w) features, or several blended by (1, K, h, w) region weights
    (which sum to one at every position); a region without a map keeps its features."""
    c = feat.shape[1]
    f = feat[0].reshape(c, -1)
    if weights is None:
        m, t = maps[0]
        return torch.addmm(t.to(f), m.to(f), f).reshape_as(feat)
    w = weights[0].reshape(weights.shape[1], -1).to(f)
    out = torch.zeros_like(f)
    for k, (m, t) in enumerate(maps):
        y = f if m is None else torch.addmm(t.to(f), m.to(f), f)
        out.addcmul_(w[k:k + 1], y)
    return out.reshape_as(feat)


def region_transfer(kind: str, content: torch.Tensor, style: torch.Tensor, c_weights: torch.Tensor,
                    s_weights: torch.Tensor, alpha: float = 1.0, eps: float = 1e-5) -> torch.Tensor:
    """Semantic AdaIN/WCT: each region of (1, K, h, w) `c_weights` takes the statistics of the same
    region of the style (`s_weights` on the style's grid). kind "wct": mean and covariance; "adain":
    mean and per-channel standard deviation. A region the style lacks at this grid keeps its features."""
    n = c_weights.shape[1]
    cm, sm = region_moments(content, c_weights, n), region_moments(style, s_weights, n)
    maps = []
    for a, b in zip(cm, sm):
        if float(a.n) <= 0 or float(b.n) < 1:
            maps.append((None, None))
            continue
        if kind == "wct":
            maps.append(zca_map(a, b, alpha, eps))
            continue
        (mc, cc), (ms, cs) = a.mean_cov(), b.mean_cov()
        scale = ((cs.diagonal() + eps) / (cc.diagonal() + eps)).sqrt()
        m = torch.diag(alpha * scale + (1 - alpha))
        maps.append((m, alpha * (ms - scale[:, None] * mc)))
    return apply_maps(content, maps, c_weights)
