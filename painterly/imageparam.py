"""What the optimiser of an image sees: the pixels themselves, or a Laplacian pyramid of them.

Gatys' objective is a function of the image; an optimiser can move any set of numbers that
maps onto the image. With the pixels, every frequency moves at the same rate, and the coarse
structure a style needs (colour areas, large strokes) takes many L-BFGS steps to build. A
Laplacian pyramid (feature-visualisation work: Olah et al., Lucid; STROTSS) gives each coarse
level its own numbers: a gradient at a coarse level sums over the pixels it covers, so low
frequencies move in few steps. The image is still `image()`; the loss is always evaluated on it.

`pyramid_levels` picks how many levels by size; `PyramidImage(img).image()` returns `img`
(to float rounding) before any step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: the coarsest pyramid level keeps at least this many pixels on its short side
COARSEST_SIDE = 8


def pyramid_levels(h: int, w: int, coarsest: int = COARSEST_SIDE) -> int:
    """How many levels halve (h, w) down to a short side of about `coarsest` px (at least 1)."""
    levels, side = 1, min(h, w)
    while side // 2 >= coarsest:
        side //= 2
        levels += 1
    return levels


def _down(x: torch.Tensor) -> torch.Tensor:
    h, w = x.shape[-2:]
    return F.adaptive_avg_pool2d(x, ((h + 1) // 2, (w + 1) // 2))


def _up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class PixelImage:
    """The pixels themselves as the optimised tensor."""

    def __init__(self, img: torch.Tensor):
        self.x = img.detach().clone().contiguous().requires_grad_(True)

    def parameters(self) -> list[torch.Tensor]:
        return [self.x]

    def image(self) -> torch.Tensor:
        return self.x


class PyramidImage:
    """An image as a Laplacian pyramid: the coarsest level plus the detail each finer level adds.

    `image()` upsamples (bilinear) and adds, coarse to fine. The levels are built so that
    `image()` reproduces `img` before any step: the finest detail is whatever the coarser
    levels do not explain.
    """

    def __init__(self, img: torch.Tensor, levels: int | None = None):
        h, w = img.shape[-2:]
        levels = levels or pyramid_levels(h, w)
        img = img.detach()
        gauss = [img]
        for _ in range(levels - 1):
            gauss.append(_down(gauss[-1]))
        self.sizes = [tuple(g.shape[-2:]) for g in gauss]
        coarse_to_fine = [gauss[-1].clone()]
        recon = coarse_to_fine[0]
        for k in range(levels - 2, -1, -1):
            u = _up(recon, self.sizes[k])
            detail = gauss[k] - u
            coarse_to_fine.append(detail)
            recon = u + detail
        self.levels = [t.contiguous().requires_grad_(True) for t in coarse_to_fine]

    def parameters(self) -> list[torch.Tensor]:
        return self.levels

    def image(self) -> torch.Tensor:
        recon = self.levels[0]
        for k, detail in enumerate(self.levels[1:]):
            recon = _up(recon, self.sizes[-2 - k]) + detail
        return recon


def make(img: torch.Tensor, parametrization: str) -> PixelImage | PyramidImage:
    """The optimised representation of `img` for a parametrisation name."""
    return PyramidImage(img) if parametrization == "pyramid" else PixelImage(img)
