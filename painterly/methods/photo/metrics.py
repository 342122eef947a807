"""How photorealistic a result is, and how far its colours moved: the measures of `painterly bench photo`.

- `ssim_luminance`: SSIM (Wang et al. 2004; 11×11 Gaussian window, σ = 1.5, K1 = 0.01, K2 = 0.03) of
  the luminance (Rec. 601 Y) of output and photo: structure kept, whatever the colours did.
- `colour_distance`: the Fréchet (2-Wasserstein) distance between Gaussians fitted to the pixels'
  CIE L*a*b* colours (D65): sqrt(|μ1 − μ2|² + tr(Σ1 + Σ2 − 2 (Σ1^½ Σ2 Σ1^½)^½)), in L*a*b* units
  (ΔE-like). Mean and covariance both count; the sizes of the two images do not matter.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...linalg import sym_power


def luminance(img: torch.Tensor) -> torch.Tensor:
    w = torch.tensor([0.299, 0.587, 0.114], dtype=img.dtype, device=img.device).view(1, 3, 1, 1)
    return (img * w).sum(dim=1, keepdim=True)


def ssim_luminance(a: torch.Tensor, b: torch.Tensor) -> float:
    """SSIM of the luminance of two (1, 3, H, W) images in [0, 1] of the same size."""
    x, y = luminance(a.double()), luminance(b.double())
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5 ** 2))
    g = g / g.sum()
    win = (g[:, None] * g[None, :]).view(1, 1, 11, 11)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, win)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return float(s.mean())


def rgb_to_lab(img: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) sRGB in [0, 1] -> CIE L*a*b* (D65)."""
    c = img.double()
    lin = torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = torch.tensor([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                      [0.0193339, 0.1191920, 0.9503041]], dtype=torch.float64)
    xyz = torch.einsum("ij,njhw->nihw", m, lin) / torch.tensor([0.95047, 1.0, 1.08883],
                                                              dtype=torch.float64).view(1, 3, 1, 1)
    d = 6 / 29
    f = torch.where(xyz > d ** 3, xyz.clamp_min(1e-12) ** (1 / 3), xyz / (3 * d * d) + 4 / 29)
    return torch.cat([116 * f[:, 1:2] - 16, 500 * (f[:, :1] - f[:, 1:2]), 200 * (f[:, 1:2] - f[:, 2:3])], 1)


def lab_stats(img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    p = rgb_to_lab(img)[0].reshape(3, -1)
    mu = p.mean(dim=1, keepdim=True)
    q = p - mu
    return mu, q @ q.T / q.shape[1]


def colour_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance of the L*a*b* colour distributions of two images (any sizes)."""
    (m1, s1), (m2, s2) = lab_stats(a), lab_stats(b)
    r1 = sym_power(s1, 0.5, 1e-12)
    cross = sym_power(r1 @ s2 @ r1, 0.5, 1e-12)
    d2 = float(((m1 - m2) ** 2).sum() + torch.trace(s1 + s2 - 2 * cross))
    return max(0.0, d2) ** 0.5
