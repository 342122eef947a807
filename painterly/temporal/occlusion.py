"""Where a warped previous frame can be trusted (Ruder, Dosovitskiy & Brox 2016/2018): pixels whose
forward and backward flows disagree are disoccluded (new content), pixels on motion boundaries are
unreliable. Masks are (H, W) float32, 1 = trusted."""

from __future__ import annotations

import numpy as np

from .warp import warp


def consistency(back: np.ndarray, fwd: np.ndarray) -> np.ndarray:
    """1 where `back` (frame t -> t-1) and `fwd` (t-1 -> t), followed one after the other, return
    to the start: |b + f(x + b)|^2 <= 0.01 (|b|^2 + |f(x + b)|^2) + 0.5 (Ruder et al., eq. 6)."""
    f_at = warp(fwd, back)
    err = ((back + f_at) ** 2).sum(-1)
    bound = 0.01 * ((back ** 2).sum(-1) + (f_at ** 2).sum(-1)) + 0.5
    return (err <= bound).astype(np.float32)


def motion_boundaries(flow: np.ndarray) -> np.ndarray:
    """1 where the flow is smooth; 0 where its gradient is large for its size (object edges):
    |grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002 (Ruder et al., eq. 7)."""
    gy_u, gx_u = np.gradient(flow[..., 0])
    gy_v, gx_v = np.gradient(flow[..., 1])
    grad = gx_u ** 2 + gy_u ** 2 + gx_v ** 2 + gy_v ** 2
    return (grad <= 0.01 * (flow ** 2).sum(-1) + 0.002).astype(np.float32)


def trusted(back: np.ndarray, fwd: np.ndarray, erode: int = 1) -> np.ndarray:
    """Where the previous frame warped by `back` may stand in for this one: consistent, off motion
    boundaries, and not at the image border the warp had to clamp; shrunk by `erode` px so a
    disocclusion's rim is painted fresh too."""
    import cv2
    h, w = back.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    sx, sy = xs + back[..., 0], ys + back[..., 1]
    inside = ((sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1)).astype(np.float32)
    m = consistency(back, fwd) * motion_boundaries(back)
    if erode:
        m = cv2.erode(m, np.ones((2 * erode + 1, 2 * erode + 1), np.uint8), borderType=cv2.BORDER_REPLICATE)
    return m * inside
