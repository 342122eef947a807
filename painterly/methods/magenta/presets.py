"""Named styles of the Magenta networks: the 26 of Dumoulin et al.'s network (named by looking at
them, see docs/models/magenta26.png), styles learned by `train-style --fast` (a new gamma/beta row
for the same network), and style-vector files for the arbitrary network.

A style of the 26-style network is its flat gamma|beta row; because conditional instance norm is
linear in them, blending rows is exactly Dumoulin's blending of style weights.
"""

from __future__ import annotations

import math
import os
from importlib import resources
from pathlib import Path
from typing import Optional, Union
from collections.abc import Sequence

import torch

from ...errors import InputError
from ...options import OptionError
from ...losses import blend_weights

#: Index in multistyle26.onnx -> a short descriptive name (from the contact sheet on tubingen.jpg).
NAMES = (
    "pastel_impasto", "ink_on_yellow", "charcoal_wash", "fauve_blades", "red_gold_poster",
    "crimson_impression", "blue_cells", "flame_abstract", "pink_sketch", "teal_lattice",
    "sepia_oil", "ochre_etching", "violet_haze", "green_expressionist", "pale_wash",
    "stained_glass", "blue_orange_strokes", "brick_blocks", "sand_woodcut", "starry_swirls",
    "red_black_blaze", "cut_paper", "dark_outline", "night_fog", "blue_wave_print", "blue_mosaic")
STYLE_FORMAT = "painterly-magenta-style"      # a learned gamma|beta row for the 26-style network
VECTOR_FORMAT = "painterly-magenta-vector"    # a (refined) style vector for the arbitrary network


def learned_dir() -> Path:
    """The folder of fast-trained styles shipped with the package."""
    return Path(str(resources.files("painterly") / "data" / "magenta"))


def learned() -> dict[str, Path]:
    """Shipped fast-trained styles, name -> file."""
    d = learned_dir()
    return {p.stem: p for p in sorted(d.glob("*.pt"))} if d.is_dir() else {}


def is_preset(name: Union[str, os.PathLike]) -> bool:
    """True for a name of the 26, a shipped learned style, a 'magenta26:K' index, or a learned-style file."""
    s = str(name)
    if s in NAMES or s in learned() or s.startswith("magenta26:"):
        return True
    p = Path(s)
    return p.suffix == ".pt" and p.is_file() and _peek_format(p) == STYLE_FORMAT


def _peek_format(p: Path) -> Optional[str]:
    from ...checkpoints import load
    try:
        doc = load(p)
    except InputError:     # not ours
        return None
    return doc.get("format") if isinstance(doc, dict) else None


def save_style(params: torch.Tensor, path: Union[str, os.PathLike], meta: dict) -> Path:
    """Write a learned gamma|beta row (plain tensors and types only) atomically."""
    from ...training import save_checkpoint
    return save_checkpoint({"format": STYLE_FORMAT, "version": 1, "params": params.detach().cpu().reshape(-1),
                            "meta": meta}, path)


def load_style(path: Union[str, os.PathLike], size: int) -> tuple[torch.Tensor, dict]:
    """A learned style file -> (params (size,), meta); InputError naming the file when it is not one."""
    doc = _load(path, "style file")
    if doc.get("format") != STYLE_FORMAT or not isinstance(doc.get("params"), torch.Tensor) \
            or doc["params"].numel() != size:
        raise InputError(f"style file {path} is not a painterly fast-trained style")
    return doc["params"].float().reshape(-1), doc.get("meta", {})


def save_vector(vec: torch.Tensor, path: Union[str, os.PathLike], meta: dict) -> Path:
    from ...training import save_checkpoint
    return save_checkpoint({"format": VECTOR_FORMAT, "version": 1, "vector": vec.detach().cpu().reshape(1, -1),
                            "meta": meta}, path)


def load_vector(path: Union[str, os.PathLike]) -> torch.Tensor:
    """A style-vector file -> (1, 100); InputError naming the file when it is not one."""
    doc = _load(path, "style vector file")
    v = doc.get("vector")
    if doc.get("format") != VECTOR_FORMAT or not isinstance(v, torch.Tensor) or v.numel() != 100 \
            or not torch.isfinite(v).all():
        raise InputError(f"style vector file {path} is not a painterly style vector (100 finite numbers "
                         "written by painterly refine-style)")
    return v.float().reshape(1, 100)


def _load(path: Union[str, os.PathLike], what: str) -> dict:
    from ...checkpoints import load
    p = Path(path)
    doc = load(p, what)      # weights only, torch's warnings kept back, one line when unreadable
    if not isinstance(doc, dict):
        raise InputError(f"{what} {p} is not a painterly file")
    return doc


def index(name: str) -> Optional[int]:
    """Row of the 26-style table for `name`, or None for a learned style."""
    if name in NAMES:
        return NAMES.index(name)
    if name.startswith("magenta26:"):
        try:
            k = int(name.split(":", 1)[1])
        except ValueError:
            k = -1
        if not 0 <= k < len(NAMES):
            raise OptionError("model", f"{name}: the index must be 0 to {len(NAMES) - 1}")
        return k
    return None


def style_params(name: str) -> torch.Tensor:
    """Flat gamma|beta (2*sum C,) of one named style of the 26-style network."""
    from .files import load
    net = load("magenta-26styles")
    k = index(name)
    if k is not None:
        return torch.cat([net.gamma[k], net.beta[k]])
    path = learned().get(name) or Path(name)
    return load_style(path, net.gamma.shape[1] * 2)[0]


def preset_params(names: Sequence[str], style_blend: Optional[Sequence[float]] = None) -> torch.Tensor:
    """The (1, 2*sum C) gamma|beta of one style or a weighted blend of several (weights normalised)."""
    for n in names:
        if not is_preset(n):
            raise OptionError("model", f"{n} is not a Magenta style: use one of {', '.join(all_names())}")
    w = blend_weights(style_blend, len(names))
    total = math.fsum(w)
    return sum((wi / total) * style_params(n) for wi, n in zip(w, names))[None]


def all_names() -> list[str]:
    return list(NAMES) + list(learned())
