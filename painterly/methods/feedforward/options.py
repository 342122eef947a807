"""Options of a trained-style run: which network paints the photo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ...options import OptionError, check_fields, opt


@dataclass(frozen=True)
class ModelOptions:
    """Which trained network paints the photo."""

    model: Optional[str] = opt(None, help="a .pt file from train-style, or a name from `painterly models`; "
                                          "Magenta styles blend: {model} starry_swirls,cut_paper {style_blend} 0.7 0.3")

    def validate(self) -> None:
        if not self.model:
            raise OptionError("model", "is needed: a file from painterly train-style or a name from painterly models")
        check_fields(self)
