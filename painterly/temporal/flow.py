"""Optical flow between two frames (OpenCV): DIS for the product, Farneback as an independent
estimator for measuring. A flow is an (H, W, 2) float32 array of (dx, dy): pixel x of the first
frame shows what sits at x + flow(x) in the second."""

from __future__ import annotations

from typing import Any

import numpy as np

#: The estimators by name: "dis" (Kroeger et al. 2016, OpenCV preset MEDIUM) is what videos use;
#: "farneback" (2003) is a different algorithm, so a benchmark can score frames with flow the
#: product did not compute.
ESTIMATORS = ("dis", "farneback")


def _cv2() -> Any:
    import cv2
    cv2.setNumThreads(max(1, cv2.getNumberOfCPUs()))
    return cv2


def grey(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB (or float in [0, 1]) -> (H, W) uint8 luminance, what the estimators take."""
    cv2 = _cv2()
    if frame.dtype != np.uint8:
        frame = (np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame


class FlowEstimator:
    """`estimator(a, b)` -> flow from frame a to frame b; keeps OpenCV's DIS object between calls."""

    def __init__(self, kind: str = "dis"):
        if kind not in ESTIMATORS:
            raise ValueError(f"unknown flow estimator {kind!r}: use one of {', '.join(ESTIMATORS)}")
        self.kind = kind
        self._dis = None

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        cv2 = _cv2()
        ga, gb = grey(a), grey(b)
        if self.kind == "farneback":
            return cv2.calcOpticalFlowFarneback(ga, gb, None, pyr_scale=0.5, levels=5, winsize=15, iterations=3,
                                                poly_n=5, poly_sigma=1.2, flags=0)
        if self._dis is None:
            self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return self._dis.calc(ga, gb, None)

    def both(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(flow a -> b, flow b -> a): the pair the occlusion check needs."""
        return self(a, b), self(b, a)


def estimate(a: np.ndarray, b: np.ndarray, kind: str = "dis") -> np.ndarray:
    """Flow from frame `a` to frame `b` ((H, W, 3) RGB or (H, W) grey)."""
    return FlowEstimator(kind)(a, b)
