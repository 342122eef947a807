"""The temporal state of one video, frame to frame: the previous input and output. `guide(frame)`
says what the previous output predicts for the next frame (`blend.Guide`); `commit` stores the
frame's final output. Family-agnostic: one-pass methods blend with the guide (`blend.blend`),
Gatys starts from it and adds a temporal loss."""

from __future__ import annotations

from typing import Optional

import numpy as np

from .blend import SIGMA2, Guide, confidence
from .flow import FlowEstimator
from .occlusion import trusted
from .warp import warp


class TemporalState:
    """Previous frame and output of one video; `seed(frame, output)` starts it mid-video (a resumed
    run, a segment whose overlap came before it)."""

    def __init__(self, estimator: str = "dis", erode: int = 0, sigma2: float = SIGMA2):
        self.flow = FlowEstimator(estimator)
        self.erode, self.sigma2 = erode, sigma2
        self.frame: Optional[np.ndarray] = None      # (H, W, 3) uint8
        self.output: Optional[np.ndarray] = None     # (H, W, 3) float32 in [0, 1]

    def seed(self, frame: np.ndarray, output: np.ndarray) -> None:
        self.frame = np.ascontiguousarray(frame)
        self.output = output.astype(np.float32) / 255.0 if output.dtype == np.uint8 else output.astype(np.float32)

    commit = seed

    def same_as_previous(self, frame: np.ndarray) -> bool:
        """The frame is byte for byte the previous one (a still scene): its output is the previous output."""
        return self.frame is not None and self.frame.shape == frame.shape and np.array_equal(self.frame, frame)

    def guide(self, frame: np.ndarray) -> Optional[Guide]:
        """The previous output warped onto `frame` and where to trust it; None on the first frame or
        after a change of size."""
        if self.frame is None or self.output is None or self.frame.shape != frame.shape \
                or self.output.shape[:2] != frame.shape[:2]:
            return None
        back, fwd = self.flow.both(frame, self.frame)          # t -> t-1, t-1 -> t
        trust = trusted(back, fwd, self.erode) * confidence(frame, warp(self.frame, back), self.sigma2)
        return Guide(warp(self.output, back, cubic=True).clip(0, 1), trust, back)
