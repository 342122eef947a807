"""CycleGAN generator files: save with provenance, load from a run folder, a generator file or
a state dict of the reference CycleGAN code, and translate an image."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Union

import torch

from ...errors import InputError
from ...options import OptionError
from ...checkpoints import float_state, load, load_model_file, save_model_file
from .networks import _ImageToImage, generator_from_config, load_reference_generator

FORMAT = "painterly-cyclegan-generator"
DIRECTIONS = ("a2b", "b2a")


def save_generator(g: _ImageToImage, path: Union[str, os.PathLike], meta: dict) -> Path:
    """Half-precision weights + architecture + meta, atomically."""
    return save_model_file(path, FORMAT, g, meta, config=g.config)


def shipped_dir() -> Path:
    """The folder of the CycleGAN generators shipped with the package (one file per model name)."""
    return Path(str(resources.files("painterly") / "data" / "cyclegan"))


def shipped() -> dict[str, Path]:
    """Every shipped generator by name (`painterly translate PHOTO --model NAME`)."""
    return {p.stem: p for p in sorted(shipped_dir().glob("*.pt"))}


def generator_file(model: Union[str, os.PathLike], direction: str = "a2b") -> Path:
    """A shipped model's name -> its file; run/ + direction -> run/G_A2B.pt or run/G_B2A.pt;
    a file is returned as it is."""
    p = Path(model)
    if direction not in DIRECTIONS:
        raise OptionError("direction", f"'{direction}' is unknown: use a2b (domain A to B) or b2a")
    if not p.exists() and str(model) in shipped():
        if direction != "a2b":
            raise OptionError("direction", f"must be a2b for the shipped model '{model}': it only translates photos "
                                              "to paintings")
        return shipped()[str(model)]
    if p.is_dir():
        f = p / ("G_A2B.pt" if direction == "a2b" else "G_B2A.pt")
        if not f.is_file():
            raise InputError(f"{p} holds no {f.name}: is it a train-cyclegan output folder?")
        return f
    if not p.is_file():
        names = ", ".join(shipped()) or "none"
        raise InputError(f"CycleGAN model {p} does not exist (give a train-cyclegan folder, a generator file or "
                         f"a shipped model: {names})")
    return p


def load_meta(model: Union[str, os.PathLike]) -> dict:
    """The meta dict of a painterly generator file (or shipped name), without building the network."""
    return dict(load_model_file(generator_file(model), FORMAT, "CycleGAN generator")["meta"])


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
