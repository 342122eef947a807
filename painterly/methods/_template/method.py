"""Registration of the template method `negative`: the photo's negative, `amount` of the way.

`run` receives a `Run`: the request (its options in `r.options`, the shared ones in
`r.request.transfer`), and the photo and styles decoded at the size they are used. It returns an
`Output`. The pipeline does the rest: decoding, strength (a blend with the photo, so that 0 is
the photo; a method that also mixes natively declares `strength_field`), preserved colours, the
mask, saving.
"""

from __future__ import annotations

from ..base import Method, Output, Run, register
from .options import NegativeOptions


def _run(r: Run) -> Output:
    a = r.options.amount
    return Output(a * (1 - r.content) + (1 - a) * r.content, info={"seconds": 0.0})


@register
def negative() -> Method:
    return Method(
        name="negative", title="Negative (template)", paper="nobody 2026", description="Inverts the photo",
        options=NegativeOptions, run=_run,
        needs_style=False, supports=frozenset({"strength"}),           # beyond the six fields: what it can do
        bench=lambda device: ("negative", lambda c, s: 1 - c))
