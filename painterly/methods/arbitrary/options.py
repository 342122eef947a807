"""Options of an AdaIN/WCT run (shared by both methods)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from ... import images
from ...options import OptionError, check_fields, check_together, opt


@dataclass(frozen=True)
class ArbitraryOptions:
    """Strength, levels and decoders of an AdaIN/WCT run."""

    alpha: float = opt(1.0, min=0.0, max=1.0, help="style strength 0..1 (times {strength})")
    decoders: Optional[Sequence[str]] = opt(None, nargs="+", metavar="DEC", web=False,
                                            help="decoder files or levels, deepest first "
                                                 "(adain: relu3_1; wct: relu3_1 relu2_1 relu1_1)")
    style_size: Optional[int] = opt(None, min=images.MIN_SIDE,
                                    help="style image long side in px (default: the output's); "
                                         "smaller = larger strokes")
    content_labels: Optional[str] = opt(None, web=False, metavar="IMAGE",
                                        help="colour-coded label map of the photo: each region takes the style "
                                             "statistics of the same colour in {style_labels}")
    style_labels: Optional[str] = opt(None, web=False, metavar="IMAGE",
                                      help="colour-coded label map of the style image")
    device: str = "cpu"

    def __post_init__(self) -> None:
        if isinstance(self.decoders, list):
            object.__setattr__(self, "decoders", tuple(self.decoders))

    def validate(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise OptionError("alpha", f"must be between 0 and 1, got {self.alpha}")
        check_fields(self)
        check_together(self, "content_labels", "style_labels",
                       lambda missing: "is needed with the other label map: give one label map for each image")
