"""Options of a CycleGAN translation: which generator, which direction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ...options import OptionError, check_fields, opt

DIRECTIONS = ("a2b", "b2a")


@dataclass(frozen=True)
class TranslateOptions:
    """Which CycleGAN generator translates the photo."""

    model: Optional[str] = opt(None, help="a shipped model (painterly models: vangogh), a train-cyclegan folder, "
                                          "a G_*.pt file, or a reference CycleGAN generator state dict")
    direction: str = opt("a2b", choices=DIRECTIONS, help="domain A to B, or B to A")

    def validate(self) -> None:
        if not self.model:
            raise OptionError("model", "is needed: a shipped model (painterly models), a train-cyclegan folder or a "
                                       "generator file")
        check_fields(self)
