"""Photorealistic smoothing: make the decoded image a locally affine function of the photo again.

- `guided_filter`: He et al.'s fast guided filter with the content photo as the (colour) guide,
  as in Chiu & Gurari's release (radius 30, ε = (0.02·255)² on 0..255 = 0.02² on 0..1). OpenCV's
  `cv2.ximgproc.guidedFilter` when opencv-contrib is installed, else the same filter in PyTorch.
- `matting`: PhotoWCT's closed-form smoothing with the matting affinity (`painterly.matting.smooth`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _have_cv2() -> bool:
    try:
        import cv2
        return hasattr(cv2, "ximgproc")
    except ImportError:      # pragma: no cover - depends on the install
        return False


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over the (2r+1)² window inside the image (fewer pixels at borders), via cumulative sums."""
    def along(t: torch.Tensor, dim: int) -> torch.Tensor:
        n = t.shape[dim]
        c = torch.cumsum(t, dim)
        c = torch.cat([torch.zeros_like(c.narrow(dim, 0, 1)), c], dim)
        hi = torch.clamp(torch.arange(n, device=t.device) + r + 1, max=n)
        lo = torch.clamp(torch.arange(n, device=t.device) - r, min=0)
        return c.index_select(dim, hi) - c.index_select(dim, lo)
    ones = torch.ones(*x.shape[-2:], dtype=x.dtype, device=x.device)
    return along(along(x, -1), -2) / along(along(ones, -1), -2)


def guided_filter_torch(guide: torch.Tensor, src: torch.Tensor, radius: int, eps: float) -> torch.Tensor:
    """He et al.'s guided filter with a colour guide: (1, 3, H, W) each, float, eps on the guide's scale."""
    g, p = guide.double(), src.double()
    mg, mp = _box(g, radius), _box(p, radius)
    # guide covariance (3x3 per pixel) and guide/src cross-covariance (3 guide ch x 3 src ch)
    cov_gg = torch.stack([torch.stack([_box(g[:, i] * g[:, j], radius) - mg[:, i] * mg[:, j] for j in range(3)], -1)
                          for i in range(3)], -2)                       # (1, H, W, 3, 3)
    cov_gp = torch.stack([torch.stack([_box(g[:, i] * p[:, j], radius) - mg[:, i] * mp[:, j] for j in range(3)], -1)
                          for i in range(3)], -2)                       # (1, H, W, 3 guide, 3 src)
    eye = torch.eye(3, dtype=g.dtype, device=g.device)
    a = torch.linalg.solve(cov_gg + eps * eye, cov_gp)                  # (1, H, W, 3, 3)
    b = mp.permute(0, 2, 3, 1) - torch.einsum("nhwi,nhwij->nhwj", mg.permute(0, 2, 3, 1), a)
    ma = _box(a.reshape(1, *a.shape[1:3], 9).permute(0, 3, 1, 2), radius).permute(0, 2, 3, 1).reshape(a.shape)
    mb = _box(b.permute(0, 3, 1, 2), radius).permute(0, 2, 3, 1)
    q = torch.einsum("nhwi,nhwij->nhwj", g.permute(0, 2, 3, 1), ma) + mb
    return q.permute(0, 3, 1, 2).to(src.dtype)


def guided_filter(guide: torch.Tensor, src: torch.Tensor, radius: int = 30, eps: float = 0.02 ** 2,
                  backend: str = "auto") -> torch.Tensor:
    """Filter `src` (1, 3, H, W) in [0, 1] with `guide` (same size); returns a clamped float32 tensor."""
    if backend == "torch" or (backend == "auto" and not _have_cv2()):
        return guided_filter_torch(guide, src, radius, eps).clamp(0, 1).float()
    import cv2
    # On 0..255, as the authors call it: OpenCV's filter mis-scales eps for a float guide in 0..1
    # (checked: guide = src = a photo came back blurred at eps = 0.02², sharp at (0.02·255)² on 0..255).
    g = np.ascontiguousarray(guide[0].permute(1, 2, 0).detach().float().cpu().numpy()) * 255
    s = np.ascontiguousarray(src[0].permute(1, 2, 0).detach().float().cpu().numpy()) * 255
    out = cv2.ximgproc.guidedFilter(g, s, int(radius), float(eps) * 255 ** 2, -1) / 255
    return torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1).unsqueeze(0).clamp(0, 1)


def matting(content: torch.Tensor, stylised: torch.Tensor, lam: float = 1e-4) -> torch.Tensor:
    """PhotoWCT's closed-form matting-affinity smoothing of `stylised` for photo `content` (solved from the
    guided filter's result: the same answer, a few per cent fewer iterations)."""
    from ...matting import smooth
    r = smooth(content, stylised, lam, init=guided_filter(content, stylised))
    return torch.from_numpy(r).float().permute(2, 0, 1).unsqueeze(0)


def smooth(kind: str, content: torch.Tensor, stylised: torch.Tensor, radius: int, eps: float,
           lam: float) -> torch.Tensor:
    if kind == "guided":
        return guided_filter(content, stylised, radius, eps * eps)
    if kind == "matting":
        return matting(content, stylised, lam)
    return stylised.clamp(0, 1).float()
