"""Shared fixtures: small synthetic and bundled images, offline mode, a cached tiny encoder."""

import os

os.environ.setdefault("PAINTERLY_OFFLINE", "1")  # tests never try the network

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from painterly import images

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "painterly" / "data"
SHARED = ROOT.parent / "shared" / "data" / "images"


@pytest.fixture(scope="session")
def content_path() -> Path:
    return DATA / "tubingen.jpg"


@pytest.fixture(scope="session")
def style_path() -> Path:
    return DATA / "starry_night.jpg"


@pytest.fixture(scope="session")
def content(content_path) -> torch.Tensor:
    return images.resize_long_side(images.load_image(content_path), 96)


@pytest.fixture(scope="session")
def style(style_path) -> torch.Tensor:
    return images.load_image(style_path)


@pytest.fixture()
def rgb_png(tmp_path) -> Path:
    p = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)).save(p)
    return p


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state: the suite is deterministic."""
    torch.manual_seed(0)
    np.random.seed(0)
