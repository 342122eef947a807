"""The example images bundled with the package: the demo, benchmarks, experiments and the web page's
example all use the same pair (Tübingen x The Starry Night, see data/ATTRIBUTION.md)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch

from . import images

CONTENT, STYLE = "tubingen.jpg", "starry_night.jpg"
SOURCE_STYLE = "great_wave.jpg"   # the source report's Table 1 painting (Hokusai, The Great Wave)


def bundled(name: str) -> Path:
    """Path of an image bundled with the package."""
    return Path(str(resources.files("painterly") / "data" / name))


def demo_pair(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The bundled photo resized to long side `size`, and the bundled painting as it is."""
    c = images.resize_long_side(images.load_image(bundled(CONTENT)), size)
    return c, images.load_image(bundled(STYLE))
