"""CycleGAN generator files: save with provenance, load from a run folder, a generator file or
a state dict of the reference CycleGAN code, and translate an image."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import torch

from ..errors import InputError
from ..training import load_checkpoint, save_checkpoint
from .networks import _ImageToImage, generator_from_config, load_reference_generator

FORMAT = "painterly-cyclegan-generator"
DIRECTIONS = ("a2b", "b2a")


def save_generator(g: _ImageToImage, path: Union[str, os.PathLike], meta: dict) -> Path:
    """Half-precision weights + architecture + meta, atomically."""
    state = {k: v.detach().cpu().half() if v.is_floating_point() else v.cpu() for k, v in g.state_dict().items()}
    return save_checkpoint({"format": FORMAT, "version": 1, "config": g.config, "state_dict": state,
                            "meta": meta}, path)


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
    doc = load_checkpoint(f, "CycleGAN generator")
    if isinstance(doc, dict) and doc.get("format") == FORMAT:
        g = generator_from_config(doc["config"])
        g.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in doc["state_dict"].items()})
        meta = doc.get("meta", {})
    elif isinstance(doc, dict) and all(isinstance(v, torch.Tensor) for v in doc.values()):
        g = load_reference_generator(doc)
        meta = {"source": f"reference CycleGAN state dict {f.name}"}
    else:
        raise InputError(f"{f} is not a CycleGAN generator (painterly file or reference state dict)")
    return g.eval().requires_grad_(False).to(device), meta


@torch.inference_mode()
def translate(g: torch.nn.Module, x: torch.Tensor, device: str = "cpu") -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] through a generator, any size; returns it on the CPU."""
    return g.eval()(x.to(device)).float().clamp(0, 1).cpu()
