"""Warping an image by a flow: out(x) = img(x + flow(x)), bilinear or bicubic, edges clamped.
NumPy arrays go through cv2.remap, tensors through torch's grid_sample; both read the same flow."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


def warp(img: np.ndarray, flow: np.ndarray, cubic: bool = False) -> np.ndarray:
    """(H, W[, C]) array sampled at x + flow(x): the first frame's pixels fetched from the second."""
    import cv2
    h, w = flow.shape[:2]
    xs, ys = _grid(h, w)
    interp = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    return cv2.remap(img, xs + flow[..., 0], ys + flow[..., 1], interp, borderMode=cv2.BORDER_REPLICATE)


def flow_tensor(flow: np.ndarray, device: str = "cpu") -> torch.Tensor:
    """(H, W, 2) array -> (1, 2, H, W) tensor."""
    return torch.from_numpy(np.ascontiguousarray(flow)).permute(2, 0, 1)[None].float().to(device)


def warp_tensor(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) tensor sampled at x + flow(x) ((N, 2, H, W) flow in pixels); differentiable."""
    n, _, h, w = img.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=img.dtype, device=img.device),
                            torch.arange(w, dtype=img.dtype, device=img.device), indexing="ij")
    gx = (xs + flow[:, 0]) * (2 / max(w - 1, 1)) - 1
    gy = (ys + flow[:, 1]) * (2 / max(h - 1, 1)) - 1
    return F.grid_sample(img, torch.stack((gx, gy), -1).expand(n, h, w, 2), mode="bilinear",
                         padding_mode="border", align_corners=True)
