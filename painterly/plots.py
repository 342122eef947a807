"""The one plotting helper: curves (losses per step or epoch) as a PNG, written atomically.
matplotlib is imported on first use only."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import numpy as np


def plot_curves(series: dict[str, tuple[Sequence[float], Sequence[float]]], path: Path, title: str,
                xlabel: str = "training step", ylabel: str = "loss", smooth: bool = True,
                logy: Optional[bool] = None) -> Path:
    """One line per {label: (xs, ys)}; with `smooth`, a moving average over ~1/50 of the run drawn
    over the faint raw values; log scale when every value is positive (or as `logy` says)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    every: list[float] = []
    for label, (xs, ys) in series.items():
        ys = np.asarray(ys, dtype=float)
        if not len(ys) or np.all(np.isnan(ys)):
            continue
        every += list(ys[~np.isnan(ys)])
        k = max(1, len(ys) // 50) if smooth else 1
        line, = ax.plot(list(xs)[k - 1:], np.convolve(ys, np.ones(k) / k, mode="valid"), label=label)
        if k > 1:
            ax.plot(list(xs), ys, color=line.get_color(), alpha=0.2, linewidth=0.7)
    if logy if logy is not None else (every and min(every) > 0):
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def history_series(history: list[dict], keys: Sequence[str], x: str = "step") -> dict:
    """{key: (xs, ys)} from a list of records (missing values are NaN)."""
    xs = [r[x] for r in history]
    return {k: (xs, [r.get(k, np.nan) for r in history]) for k in keys}
