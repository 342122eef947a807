"""The local engine: this process paints the folder's photos one after another with one
prepared painter (what `painterly stylize FOLDER` always did)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..pipeline import Painter
from .base import EngineOptions, FolderJob, Outcome, paint_item


def run(job: FolderJob, options: EngineOptions, report: Callable[[Outcome], None]) -> None:
    """Paint every photo of `job` here, in order (with `options.threads` torch threads); `report` each outcome."""
    painter = Painter(job.request)
    saved = torch.get_num_threads()
    if options.threads:
        torch.set_num_threads(options.threads)
    try:
        for item in job.items:
            report(paint_item(painter, item))
    finally:
        torch.set_num_threads(saved)
