"""Options of the template method: one knob, with its bounds and help."""

from __future__ import annotations

from dataclasses import dataclass

from ...options import check_fields, opt


@dataclass(frozen=True)
class NegativeOptions:
    """How far towards the photo's negative."""

    amount: float = opt(1.0, min=0.0, max=1.0, help="how far towards the negative")

    def validate(self) -> None:
        """Checks beyond the declared bounds go here; raise OptionError(field, problem)."""
        check_fields(self)
