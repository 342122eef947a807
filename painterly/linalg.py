"""The one matrix function painterly needs: powers of a symmetric positive semi-definite matrix
(covariance square roots and inverse square roots for colour matching and WCT)."""

from __future__ import annotations

import torch


def sym_power(m: torch.Tensor, power: float, eps: float = 1e-8, drop_small: bool = False) -> torch.Tensor:
    """m^power through the eigendecomposition. Eigenvalues at or below `eps` are clamped to it, or,
    with `drop_small`, dropped (Li et al.'s WCT does so: the whitening then ignores flat directions)."""
    vals, vecs = torch.linalg.eigh(m)
    if drop_small:
        keep = vals > eps
        vals, vecs = vals[keep], vecs[:, keep]
    else:
        vals = vals.clamp_min(eps)
    return vecs @ torch.diag(vals.pow(power)) @ vecs.T
