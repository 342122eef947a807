"""The short-term temporal loss of Ruder et al. (2016) for optimisation-based methods: the image
should equal the previous output warped onto this frame wherever the flow is trusted,

    L_temporal = 1/D sum_x c(x) (x_t(x) - W(x_{t-1})(x))^2       (D = pixels x channels)

as a term of the perceptual objective (`painterly.objective.ImageTerm`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import images
from ..objective import ImageTerm


def temporal_loss(image: torch.Tensor, previous: torch.Tensor, trust: torch.Tensor) -> torch.Tensor:
    """Mean over pixels and channels of trust x (image - previous)^2; (1, 3, H, W), (1, 1, H, W)."""
    return (trust * (image - previous) ** 2).mean()


def guide_tensors(guide: Any, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """A `blend.Guide`'s warped previous output (1, 3, H, W) and trust (1, 1, H, W) as tensors."""
    prev = torch.from_numpy(np.ascontiguousarray(guide.previous)).permute(2, 0, 1)[None].float().to(device)
    trust = torch.from_numpy(np.ascontiguousarray(guide.trust))[None, None].float().to(device)
    return prev, trust


class TemporalTerm:
    """`terms(size)` for a Gatys run: the temporal loss against `previous` where `trust`, both resized to
    each level's (height, width), with `weight`."""

    def __init__(self, previous: torch.Tensor, trust: torch.Tensor, weight: float):
        self.previous, self.trust, self.weight = previous, trust, weight

    def __call__(self, size: tuple[int, int]) -> list[ImageTerm]:
        prev = images.resize(self.previous, size)
        trust = torch.nn.functional.interpolate(self.trust, size=size, mode="bilinear", align_corners=False)
        return [ImageTerm("temporal", lambda img: temporal_loss(img, prev.to(img), trust.to(img)), self.weight)]
