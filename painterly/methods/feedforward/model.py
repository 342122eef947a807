"""Feed-forward style model files: save / load a trained TransformerNet with its provenance,
find the pretrained styles shipped with the package, and apply a model to an image."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Union

import torch

from ...errors import InputError
from ...checkpoints import load_model_file, save_model_file
from .network import TransformerNet

FORMAT = "painterly-feedforward"


@dataclass
class StyleModel:
    """A trained network and what is known about how it was made (style, data, steps, time, device)."""

    net: TransformerNet
    meta: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def name(self) -> str:
        return self.meta.get("name") or (self.path.stem if self.path else "model")


def save_model(net: TransformerNet, path: Union[str, os.PathLike], meta: dict) -> Path:
    """Write the weights in half precision (half the file, same images) with `meta`, atomically."""
    return save_model_file(path, FORMAT, net, meta, width=net.width, blocks=net.blocks)


def zoo_dir() -> Path:
    """The folder of pretrained styles shipped with the package."""
    return Path(str(resources.files("painterly") / "data" / "models"))


def zoo() -> list[StyleModel]:
    """Every shipped pretrained style, sorted by name."""
    return [load_model(p) for p in sorted(zoo_dir().glob("*.pt"))]


def resolve_model(name_or_path: Union[str, os.PathLike]) -> Path:
    """A model file path, or the name of a shipped style (`painterly models` lists them)."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    shipped = zoo_dir() / f"{name_or_path}.pt"
    if shipped.is_file():
        return shipped
    names = ", ".join(q.stem for q in sorted(zoo_dir().glob("*.pt"))) or "none"
    raise InputError(f"model {name_or_path} is neither a file nor a shipped style (shipped: {names})")


def load_model(name_or_path: Union[str, os.PathLike], device: str = "cpu") -> StyleModel:
    """Load a model file (or shipped style name) written by `painterly train-style`, in eval mode."""
    p = resolve_model(name_or_path)
    doc = load_model_file(p, FORMAT, "model", " (a painterly feed-forward model; a training checkpoint? use "
                                              "the -o file of train-style)")
    try:
        net = TransformerNet(int(doc["width"]), int(doc["blocks"]))
        net.load_state_dict(doc["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise InputError(f"model {p} is damaged ({type(e).__name__})") from None
    return StyleModel(net.eval().requires_grad_(False).to(device), doc["meta"], p)


@torch.inference_mode()
def apply(net: torch.nn.Module, x: torch.Tensor, device: str = "cpu") -> torch.Tensor:
    """Stylise a (N, 3, H, W) batch in [0, 1]; returns it on the CPU."""
    net = net.eval().to(device)
    return net(x.to(device)).float().clamp(0, 1).cpu()
