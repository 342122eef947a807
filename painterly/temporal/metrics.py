"""Temporal stability as Lai et al. (ECCV 2018) score it: the warping error between consecutive
output frames, mean over non-occluded pixels of (O_t - warp(O_{t+1}))^2, RGB in [0, 1]."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import numpy as np

from .warp import warp


def _float(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float32) / 255.0 if frame.dtype == np.uint8 else frame.astype(np.float32)


def warping_error(a: np.ndarray, b: np.ndarray, flow: np.ndarray, mask: np.ndarray) -> float:
    """(a - warp(b, flow))^2 averaged over channels and the pixels where `mask` is 1; `flow` takes
    frame a's pixels to frame b (H, W, 2), `mask` (H, W) marks the ones visible in both."""
    diff = ((_float(a) - warp(_float(b), flow)) ** 2).mean(-1)
    n = float(mask.sum())
    return float((diff * mask).sum() / n) if n else 0.0


def warping_errors(frames: Sequence[np.ndarray], flows: Sequence[np.ndarray],
                   masks: Sequence[np.ndarray]) -> list[float]:
    """One warping error per consecutive pair: frames[t] against frames[t + 1] warped by flows[t]
    (t -> t + 1) over masks[t]."""
    return [warping_error(frames[t], frames[t + 1], flows[t], masks[t]) for t in range(len(frames) - 1)]


def estimated_flows(frames: Sequence[np.ndarray], kind: str = "farneback",
                    erode: int = 1) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Flows t -> t + 1 and their trusted masks estimated on `frames` (the input video), for scoring
    outputs of footage whose motion is not known."""
    from .flow import FlowEstimator
    from .occlusion import trusted
    est = FlowEstimator(kind)
    flows, masks = [], []
    for a, b in zip(frames[:-1], frames[1:]):
        f, back = est.both(a, b)
        flows.append(f)
        masks.append(trusted(f, back, erode))
    return flows, masks


def mean(values: Sequence[float], skip: Optional[int] = None) -> float:
    """Mean of a per-pair list (leaving out the first `skip`)."""
    v = list(values)[skip or 0:]
    return float(np.mean(v)) if v else 0.0
