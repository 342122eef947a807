"""Colour handling shared by every method: keep the photo's colours, or recolour the style.

- `luminance_transfer`: the output's luminance with the content's chroma (YIQ), the
  "luminance-only transfer" of Gatys et al. 2016 applied as a post-process.
- `match_colours`: an affine map that gives one image the mean and covariance of another's
  RGB colours (the paper's colour-histogram matching, applied to the style before transfer).
"""

from __future__ import annotations

import torch

from .linalg import sym_power

_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114],
                            [0.595716, -0.274453, -0.321263],
                            [0.211456, -0.522591, 0.311135]])
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)


def rgb_to_yiq(img: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB -> YIQ (Y = luminance, I/Q = chroma)."""
    return torch.einsum("ij,njhw->nihw", _RGB_TO_YIQ.to(img), img)


def yiq_to_rgb(img: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) YIQ -> RGB."""
    return torch.einsum("ij,njhw->nihw", _YIQ_TO_RGB.to(img), img)


def luminance_transfer(stylised: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Keep the stylised image's luminance, take chroma from the content (same size)."""
    y = rgb_to_yiq(stylised)[:, :1]
    iq = rgb_to_yiq(content)[:, 1:]
    return yiq_to_rgb(torch.cat([y, iq], dim=1)).clamp(0, 1)


def match_colours(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Recolour `source` so its RGB mean and covariance equal `target`'s (any sizes)."""
    def stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = x[0].reshape(3, -1).double()
        mu = p.mean(dim=1, keepdim=True)
        c = p - mu
        return mu, c @ c.T / c.shape[1] + 1e-5 * torch.eye(3, dtype=p.dtype)

    mu_s, cov_s = stats(source)
    mu_t, cov_t = stats(target)
    a = sym_power(cov_t, 0.5) @ sym_power(cov_s, -0.5)
    p = source[0].reshape(3, -1).double()
    out = a @ (p - mu_s) + mu_t
    return out.reshape_as(source[0]).unsqueeze(0).to(source.dtype).clamp(0, 1)
