"""Progress bars (tqdm on stderr) that plug into the library's callbacks. Each opens at its first
update, so that an input error is never preceded by an empty bar, and stays closed on every
process but the first under torchrun."""

from __future__ import annotations

import os
import sys
from typing import Any, Optional


class Bar:
    """A bar fed by `update(n, expected=None, **postfix)`; `close()` when done."""

    def __init__(self, total: Optional[int], desc: str, unit: str, quiet: bool = False, initial: float = 0):
        self.total, self.desc, self.unit, self.initial = total, desc, unit, initial
        self.quiet = quiet or int(os.environ.get("RANK", "0")) != 0
        self.bar: Any = None

    def update(self, n: float, expected: Optional[int] = None, **postfix: Any) -> None:
        if self.bar is None:
            from tqdm import tqdm
            self.bar = tqdm(total=self.total or expected or None, initial=self.initial, desc=self.desc, unit=self.unit,
                            disable=self.quiet, dynamic_ncols=True, file=sys.stderr)
        if expected and self.bar.total != expected:     # a new phase with its own count
            self.bar.reset(total=expected)
        self.bar.n = n
        if postfix:
            self.bar.set_postfix({k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in postfix.items()},
                                 refresh=False)
        self.bar.refresh()

    def write(self, line: str) -> None:
        """A line that does not break the bar."""
        from tqdm import tqdm
        tqdm.write(line, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class StepBar(Bar):
    """For an iterative method's `callback(step, losses)`."""

    def __call__(self, step: int, losses: dict) -> None:
        self.update(step, total=f"{losses['total']:.3g}", content=f"{losses['content']:.3g}",
                    style=f"{losses['style']:.3g}", size=f"{losses['width']}x{losses['height']}")


class TrainBar(Bar):
    """For a trainer's `callback(record)`: counts steps, or epochs (fractional) with `by="epoch"`."""

    def __init__(self, total: int, desc: str, quiet: bool = False, by: str = "step",
                 keys: Optional[tuple[str, ...]] = None):
        super().__init__(total, desc, by, quiet)
        self.by, self.keys = by, keys

    def __call__(self, record: dict) -> None:
        if self.bar is None and self.by == "step":
            self.initial = record["step"] - 1
        n = round(record["epoch"], 2) if self.by == "epoch" else record["step"]
        shown = {k: v for k, v in record.items() if k not in ("step", "seconds", "epoch")
                 and (self.keys is None or k in self.keys)}
        self.update(n, **shown)
