"""CycleGAN generator files: save with provenance, load from a run folder, a generator file or
a state dict of the reference CycleGAN code, and translate an image."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import torch

from ..errors import InputError
from ..checkpoints import float_state, load, save_model_file
from .networks import _ImageToImage, generator_from_config, load_reference_generator

FORMAT = "painterly-cyclegan-generator"
DIRECTIONS = ("a2b", "b2a")


def save_generator(g: _ImageToImage, path: Union[str, os.PathLike], meta: dict) -> Path:
    """Half-precision weights + architecture + meta, atomically."""
    return save_model_file(path, FORMAT, g, meta, config=g.config)


def generator_file(model: Union[str, os.PathLike], direction: str = "a2b") -> Path:
    """run/ + direction -> run/G_A2B.pt or run/G_B2A.pt; a file is returned as it is."""
    p = Path(model)
    if direction not in DIRECTIONS:
        raise InputError(f"unknown --direction '{direction}': use a2b (domain A to B) or b2a")
    if p.is_dir():
        f = p / ("G_A2B.pt" if direction == "a2b" else "G_B2A.pt")
        if not f.is_file():
            raise InputError(f"{p} holds no {f.name}: is it a train-cyclegan output folder?")
        return f
    if not p.is_file():
        raise InputError(f"CycleGAN model {p} does not exist (give a train-cyclegan folder or generator file)")
    return p


def load_generator(model: Union[str, os.PathLike], direction: str = "a2b",
                   device: str = "cpu") -> tuple[_ImageToImage, dict]:
    """The generator for `direction` from a run folder, a painterly generator file, or a plain
    ResNet-generator state dict of the reference CycleGAN code; in eval mode on `device`."""
    f = generator_file(model, direction)
    doc = load(f, "CycleGAN generator")
    try:
        if isinstance(doc, dict) and doc.get("format") == FORMAT:
            g = generator_from_config(doc["config"])
            g.load_state_dict(float_state(doc["state_dict"]))
            meta = doc.get("meta") or {}
        elif isinstance(doc, dict) and doc and all(isinstance(v, torch.Tensor) for v in doc.values()):
            g = load_reference_generator(doc)
            meta = {"source": f"reference CycleGAN state dict {f.name}"}
        else:
            raise InputError(f"{f} is not a CycleGAN generator (painterly file or reference state dict)")
    except InputError as e:            # says what is wrong; make sure it names the file
        if str(f) in str(e):
            raise
        raise InputError(f"CycleGAN generator {f}: {e}") from None
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise InputError(f"CycleGAN generator {f} does not fit its architecture ({type(e).__name__}): "
                         "is it a generator file?") from None
    return g.eval().requires_grad_(False).to(device), meta


@torch.inference_mode()
def translate(g: torch.nn.Module, x: torch.Tensor, device: str = "cpu") -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] through a generator, any size; returns it on the CPU."""
    return g.eval()(x.to(device)).float().clamp(0, 1).cpu()
