"""Options of a Magenta arbitrary-style run (Ghiasi et al. 2017)."""

from __future__ import annotations

from dataclasses import dataclass

from ...options import OptionError, check_fields, opt

#: The style predictor's input side in Magenta's release; the network is fully convolutional with
#: a global pool, so other sizes work (smaller: coarser texture statistics).
STYLE_SQUARE = 256
#: MobileNetV2 downsamples by 32: a smaller style image has no 1x1 feature left to pool.
MIN_STYLE_SIDE = 32


@dataclass(frozen=True)
class MagentaOptions:
    """Strength and style-predictor input of a Magenta arbitrary-style run.

    `style_square` is not a style image size like the other methods' `style_size`: the predictor
    always sees a centre square of the painting resized to this side, whatever the output size."""

    alpha: float = opt(1.0, min=0.0, max=1.0,
                       help="style strength 0..1 (times {strength}): magenta mixes the photo's own style vector "
                            "with the painting's")
    style_square: int = opt(STYLE_SQUARE, min=MIN_STYLE_SIDE,
                            help="magenta: side of the centre square of the painting fed to the style predictor; "
                                 "smaller = coarser statistics")
    device: str = "cpu"

    def validate(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise OptionError("alpha", f"must be between 0 and 1, got {self.alpha}")
        check_fields(self)
