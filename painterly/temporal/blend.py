"""Temporal consistency for one-pass methods, without retraining: where the previous output, warped
along the flow, can be trusted, the new stylisation is pulled towards it; where it cannot
(disocclusions, motion boundaries, frame edges, pixels the flow explains badly) the new
stylisation stands alone, so new content is painted as well as frame 0 was and nothing ghosts.

    O_t = S_t + k * c * (W(O_{t-1}) - S_t)

S_t the frame painted on its own, W the warp by the flow t -> t-1, c the trust (occlusion masks
times the flow's confidence on the input frames), k how much of the past is kept. The past decays
geometrically (k^n after n frames), so errors of the flow do not accumulate (no drift)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Share of the warped previous output kept in trusted pixels, chosen by `painterly bench video`.
KEEP = 0.8
#: Input-frame residual (RGB in [0, 1], squared) at which the flow's confidence falls to 1/e.
SIGMA2 = 0.004


@dataclass(frozen=True)
class Guide:
    """What the previous frame says about this one: its output warped onto this frame (H, W, 3)
    float32 in [0, 1], where it can be trusted (H, W) in [0, 1], and the flow used (t -> t-1)."""

    previous: np.ndarray
    trust: np.ndarray
    flow: np.ndarray


def confidence(frame: np.ndarray, warped_frame: np.ndarray, sigma2: float = SIGMA2) -> np.ndarray:
    """How well the flow explains this input frame from the previous one, per pixel, in (0, 1]:
    exp(-|I_t - W(I_{t-1})|^2 / sigma2), the residual blurred a little (a 3x3 box)."""
    import cv2
    a = frame.astype(np.float32) / 255.0 if frame.dtype == np.uint8 else frame
    b = warped_frame.astype(np.float32) / 255.0 if warped_frame.dtype == np.uint8 else warped_frame
    r = ((a - b) ** 2).mean(-1)
    return np.exp(-cv2.blur(r, (3, 3)) / sigma2).astype(np.float32)


def blend(stylised: np.ndarray, guide: Guide, keep: float = KEEP) -> np.ndarray:
    """O = S + keep * trust * (W(O_prev) - S), (H, W, 3) float32. Exact where the warped previous
    output equals the new stylisation (identical frames stay identical)."""
    w = (keep * guide.trust)[..., None]
    return (stylised + w * (guide.previous - stylised)).astype(np.float32)
