"""The matting Laplacian of Levin, Lischinski & Weiss (2008) and what photorealistic transfer does with it.

For an image I and 3×3 windows w_k, the matting affinity of pixels i, j is

    W_ij = Σ_{k : i, j ∈ w_k} (1 + (I_i − μ_k)ᵀ (Σ_k + ε/9 · 1)⁻¹ (I_j − μ_k)) / 9

(μ_k, Σ_k: mean and covariance of the colours in w_k), and the matting Laplacian is L = D − W
with D = diag(W·1). A locally affine function of the colours costs nothing under vᵀLv, so

- Luan et al. 2017 (Deep Photo Style Transfer) add Σ_c V_c[O]ᵀ L V_c[O] to the Gatys objective:
  the output may only be a locally affine colour transform of the photo (`MattingLoss`);
- Li et al. 2018 (PhotoWCT) smooth a stylised image Y in closed form,
  R = (1 − α)(1 − αS)⁻¹ Y with S = D^-½ W D^-½ and α = 1 / (1 + λ) (`smooth`; solved here in the
  un-normalised form that equals it inside the image and keeps the border from darkening, see there).

Both are written here from the papers. W is built offset by offset (25 sparse diagonals, as
whole-image array operations), so memory stays at a few image-sized arrays plus the matrix
(~25 non-zeros per pixel). Images are (H, W, 3) float arrays in [0, 1] or (1, 3, H, W) tensors.
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np
import torch

EPS = 1e-7
ArrayLike = Union[np.ndarray, torch.Tensor]


def _hwc(img: ArrayLike) -> np.ndarray:
    if isinstance(img, torch.Tensor):
        t = img.detach().float().cpu()
        if t.dim() == 4:
            t = t[0]
        return t.permute(1, 2, 0).numpy().astype(np.float64)
    return np.asarray(img, dtype=np.float64)


def _shift(a: np.ndarray, dy: int, dx: int, fill: float = 0.0) -> np.ndarray:
    """b[y, x] = a[y + dy, x + dx], `fill` outside the image."""
    h, w = a.shape[:2]
    out = np.full_like(a, fill)
    ys, yd = slice(max(0, dy), min(h, h + dy)), slice(max(0, -dy), min(h, h - dy))
    xs, xd = slice(max(0, dx), min(w, w + dx)), slice(max(0, -dx), min(w, w - dx))
    out[yd, xd] = a[ys, xs]
    return out


def _window_stats(img: np.ndarray, eps: float):
    """Per window centre: colour mean (H, W, 3), inverse regularised covariance (H, W, 3, 3), and
    whether the whole 3×3 window lies inside the image (only those windows count, as in Levin et al.)."""
    h, w, _ = img.shape
    offs = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    mu = sum(_shift(img, dy, dx) for dy, dx in offs) / 9
    second = sum(_shift(img, dy, dx)[..., :, None] * _shift(img, dy, dx)[..., None, :] for dy, dx in offs) / 9
    cov = second - mu[..., :, None] * mu[..., None, :]
    inside = np.zeros((h, w), bool)
    inside[1:-1, 1:-1] = True
    cov[~inside] = np.eye(3)
    inv = np.linalg.inv(cov + (eps / 9) * np.eye(3))
    inv[~inside] = 0
    return mu, inv, inside


def matting_affinity(img: ArrayLike, eps: float = EPS):
    """W as a scipy CSR matrix (H·W × H·W, symmetric; pixels in row-major order)."""
    import scipy.sparse as sp
    im = _hwc(img)
    h, w, _ = im.shape
    n = h * w
    mu, inv, inside = _window_stats(im, eps)
    idx = np.arange(n).reshape(h, w)
    # Per window offset c (the window centred at i + c): μ_k, (I_i − μ_k)ᵀ inv_k, and whether it is inside.
    per_c = {}
    for cy in (-1, 0, 1):
        for cx in (-1, 0, 1):
            m_k = _shift(mu, cy, cx)
            yi = np.einsum("hwa,hwab->hwb", im - m_k, _shift(inv, cy, cx))
            per_c[cy, cx] = (m_k, yi, _shift(inside, cy, cx, False))
    rows, cols, vals = [], [], []
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            v = np.zeros((h, w))
            jm = _shift(im, dy, dx)                        # I_j for j = i + d
            for cy in range(max(-1, dy - 1), min(1, dy + 1) + 1):
                for cx in range(max(-1, dx - 1), min(1, dx + 1) + 1):
                    m_k, yi, in_k = per_c[cy, cx]
                    q = (yi * (jm - m_k)).sum(axis=-1)
                    v += np.where(in_k, (1 + q) / 9, 0.0)
            keep = v != 0
            ys, xs = np.nonzero(keep)
            rows.append(idx[ys, xs])
            cols.append(idx[ys + dy, xs + dx])
            vals.append(v[keep])
    r, c, x = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    return sp.csr_matrix((x, (r, c)), shape=(n, n))


def matting_laplacian(img: ArrayLike, eps: float = EPS):
    """L = D − W (scipy CSR): positive semi-definite, rows sum to zero."""
    import scipy.sparse as sp
    wm = matting_affinity(img, eps)
    return (sp.diags(np.asarray(wm.sum(axis=1)).ravel()) - wm).tocsr()


def to_torch_sparse(m, dtype: torch.dtype = torch.float32, device: str = "cpu") -> torch.Tensor:
    """A scipy sparse matrix as a torch sparse CSR tensor."""
    m = m.tocsr()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # "sparse CSR support is in beta": it is what we use
        return torch.sparse_csr_tensor(torch.from_numpy(m.indptr.astype(np.int64)),
                                       torch.from_numpy(m.indices.astype(np.int64)),
                                       torch.from_numpy(m.data).to(dtype), size=m.shape, device=device)


class MattingLoss(torch.nn.Module):
    """Luan et al.'s photorealism regulariser: weight · Σ_c V_cᵀ L V_c / (H·W), L the matting
    Laplacian of the content photo (fixed), V_c the output's channel c as a vector. Zero for any
    locally affine recolouring of the photo; grows with texture and edges the photo does not have.
    `mask` (1, 1, H, W), optional: only the rows of pixels inside it count."""

    def __init__(self, content: ArrayLike, weight: float = 1.0, eps: float = EPS,
                 mask: Optional[torch.Tensor] = None):
        super().__init__()
        import scipy.sparse as sp
        lap = matting_laplacian(content, eps)
        self.hw = _hwc(content).shape[:2]
        if mask is not None:
            m = mask.detach().float().cpu().reshape(-1).numpy()
            lap = (sp.diags(m) @ lap).tocsr()
        self.lap = lap
        self.laplacian = to_torch_sparse(lap)
        self.weight = float(weight)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[-2:]
        if (h, w) != tuple(self.hw):
            raise ValueError(f"MattingLoss was built for {self.hw[1]}x{self.hw[0]}, got {w}x{h}")
        v = img[0].reshape(3, -1).T.contiguous().float()        # (N, 3)
        lv = torch.sparse.mm(self.laplacian.to(v.device), v)
        return self.weight * (v * lv).sum() / (h * w)


def smooth(content: ArrayLike, stylised: ArrayLike, lam: float = 1e-4, eps: float = EPS, tol: float = 1e-4,
           max_iter: int = 2000, report: Optional[dict] = None, init: Optional[ArrayLike] = None) -> np.ndarray:
    """PhotoWCT's closed-form smoothing of `stylised` for the photo `content`; returns (H, W, 3) in [0, 1].

    The paper minimises Σ_ij W_ij |r_i/√d_i − r_j/√d_j|² + λ Σ_i |r_i − y_i|², whose minimiser is
    R = (1 − α)(1 − αS)⁻¹ Y. With the matting affinity, d_i is 9 inside the image but 1 … 6 on its
    border rows and columns, so that form pulls border pixels toward √d_i times their neighbours
    (a dark frame under strong smoothing). Here the smoothness term is rᵀ L r with L = D − W: inside
    the image, where D = 9·1, it is the paper's objective times 9, and constants are kept everywhere.
    So R solves (L + 9λ·1) R = 9λ·Y, by conjugate gradients (the matrix is symmetric positive definite),
    the three channels at once, from `init` (e.g. the guided filter's result) or Y;
    ~500 iterations at 700 px to a relative residual of 1e-4 (~3 min on the shared 2-core machine). `report` gets the iterations and final residual."""
    c, y = _hwc(content), _hwc(stylised)
    if c.shape != y.shape:
        raise ValueError(f"content {c.shape} and stylised {y.shape} differ in size")
    import scipy.sparse as sp
    mu = 9.0 * lam
    a = (matting_laplacian(c, eps) + mu * sp.identity(c.shape[0] * c.shape[1])).tocsr()
    b = mu * y.reshape(-1, 3)
    x = (y if init is None else _hwc(init)).reshape(-1, 3).copy()
    r = b - a @ x
    p = r.copy()
    rs = (r * r).sum(axis=0)
    stop = (tol ** 2) * np.maximum((b * b).sum(axis=0), 1e-30)
    it = 0
    for it in range(max_iter):
        if np.all(rs <= stop):
            break
        ap = a @ p
        step = rs / np.maximum((p * ap).sum(axis=0), 1e-30)
        x += p * step
        r -= ap * step
        rs_new = (r * r).sum(axis=0)
        p = r + p * (rs_new / np.maximum(rs, 1e-30))
        rs = rs_new
    if report is not None:
        report.update(iterations=it, residual=float(np.sqrt((rs / np.maximum(stop / tol ** 2, 1e-30)).max())))
    return np.clip(x.reshape(c.shape), 0, 1)
