"""Options of the photorealistic method (imports nothing of the family)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ...options import check_fields, check_together, opt

SMOOTHING = ("guided", "matting", "none")
MIN_STYLE_SIDE = 32


@dataclass(frozen=True)
class PhotoOptions:
    """Strength, reference size, smoothing and semantic labels of a photorealistic run."""

    alpha: float = opt(1.0, min=0.0, max=1.0,
                       help="how far the photo's colour and light move to the reference's, 0..1 (times {strength})")
    smooth: str = opt("guided", choices=SMOOTHING,
                      help="photorealistic smoothing: guided (fast guided filter, the photo as guide), matting "
                           "(PhotoWCT's closed-form matting-affinity smoothing: slower, for <= 1 MP), none")
    smooth_radius: int = opt(30, min=1, help="guided filter radius in px")
    smooth_eps: float = opt(0.02, above=0.0, help="guided filter edge threshold on 0..1 intensities "
                                                  "(eps = this squared; 0.02 = (0.02*255)^2 on 0..255)")
    matting_lambda: float = opt(1e-4, above=0.0, web=False,
                                help="matting smoothing: lambda of PhotoWCT (smaller = smoother)")
    style_size: Optional[int] = opt(None, min=MIN_STYLE_SIDE,
                                    help="reference photo's long side in px (default: the output's)")
    content_labels: Optional[str] = opt(None, web=False, metavar="IMAGE",
                                        help="colour-coded label map of the photo (same size as the photo): each "
                                             "region takes the statistics of the same colour in {style_labels}")
    style_labels: Optional[str] = opt(None, web=False, metavar="IMAGE",
                                      help="colour-coded label map of the reference photo (same size as it)")

    def validate(self) -> None:
        check_fields(self)
        check_together(self, "content_labels", "style_labels",
                       lambda missing: f"is needed with {'the photo' if missing == 'style_labels' else 'the reference'}"
                                       "'s label map: give one label map for each photo")
