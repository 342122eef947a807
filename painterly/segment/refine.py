"""From a network's low-resolution probability to a soft, edge-aware mask at the photo's size.

The probability is upsampled (bilinear) and then filtered with He et al.'s guided filter, guided
by the photo itself: the mask's edge snaps to the photo's edges (hair, skyline) instead of the
blocky outline of a 224 px prediction. Then an optional Gaussian feather. Everything runs in bands
of rows, each with a halo wide enough that the result equals filtering the whole image at once,
so a 24 MP photo needs a few bands' worth of memory on top of the mask itself.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

#: rows per band (plus the halo above and below)
BAND = 512


def _cv2():
    try:
        import cv2
        cv2.ximgproc.guidedFilter  # noqa: B018 - contrib build needed
    except (ImportError, AttributeError):
        from ..errors import InputError
        raise InputError("automatic masks need OpenCV's contrib build: pip install "
                         "opencv-contrib-python-headless (or painterly[masks])") from None
    return cv2


def guide_radius(h: int, w: int, low_side: int) -> int:
    """Guided-filter radius: about 1.5 low-resolution pixels at the photo's scale (≥ 2 px)."""
    return max(2, math.ceil(1.5 * max(h, w) / low_side))


def _hwc(photo: torch.Tensor, r0: int, r1: int) -> np.ndarray:
    """Rows r0:r1 of a (1, 3, H, W) photo (uint8 or float) as float32 H×W×3 in [0, 1]."""
    band = photo[0, :, r0:r1]
    band = band.float().div_(255) if band.dtype == torch.uint8 else band.float()
    return np.ascontiguousarray(band.permute(1, 2, 0).numpy())


@torch.inference_mode()
def upsample(prob: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(1, 1, h, w) -> (1, 1, H, W) bilinear, a band at a time."""
    H, W = size
    if tuple(prob.shape[-2:]) == (H, W):
        return prob.float().clone()
    out = torch.empty(1, 1, H, W)
    h = prob.shape[-2]
    full = F.interpolate(prob.float(), size=(h, W), mode="bilinear", align_corners=False)  # columns first
    scale = h / H
    for r0 in range(0, H, BAND):
        r1 = min(H, r0 + BAND)
        # source rows this band reads (align_corners=False mapping), with one row of margin
        s0 = max(0, math.floor((r0 + 0.5) * scale - 0.5) - 1)
        s1 = min(h, math.ceil((r1 - 0.5) * scale - 0.5) + 2)
        y = (torch.arange(r0, r1, dtype=torch.float64) + 0.5) * scale - 0.5
        y = y.clamp(0, h - 1)
        i0 = y.floor().long().clamp(max=h - 1)
        i1 = (i0 + 1).clamp(max=h - 1)
        t = (y - i0).float().view(-1, 1)
        src = full[0, 0, s0:s1]
        out[0, 0, r0:r1] = src[i0 - s0] * (1 - t) + src[i1 - s0] * t
    return out


@torch.inference_mode()
def refine(prob: torch.Tensor, photo: torch.Tensor, radius: int | None = None, eps: float = 1e-3,
           feather: float = 0.0, low_side: int = 224) -> torch.Tensor:
    """A soft mask (1, 1, H, W) in [0, 1] at the photo's size from a low-resolution probability.

    `photo`: (1, 3, H, W) uint8 or float in [0, 1]. `radius`/`eps`: the guided filter's window
    and smoothness (default radius: `guide_radius`); radius 0 = no guided filter. `feather`:
    Gaussian softening of the border in px (0 = none)."""
    H, W = photo.shape[-2:]
    up = upsample(prob, (H, W))
    r = guide_radius(H, W, low_side) if radius is None else int(radius)
    if r <= 0 and feather <= 0:
        return up.clamp_(0, 1)
    cv2 = _cv2()
    out = torch.empty_like(up)
    sigma = feather / 2 if feather > 0 else 0.0
    halo = (2 * r + 1 if r > 0 else 0) + (math.ceil(3 * sigma) + 1 if sigma else 0)
    src = up[0, 0].numpy()
    for r0 in range(0, H, BAND):
        r1 = min(H, r0 + BAND)
        a, b = max(0, r0 - halo), min(H, r1 + halo)
        m = src[a:b]
        if r > 0:
            m = cv2.ximgproc.guidedFilter(_hwc(photo, a, b), np.ascontiguousarray(m), r, eps)
        if sigma:
            m = cv2.GaussianBlur(np.ascontiguousarray(m), (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        out[0, 0, r0:r1] = torch.from_numpy(np.ascontiguousarray(m[r0 - a:r0 - a + (r1 - r0)]))
    return out.clamp_(0, 1)

