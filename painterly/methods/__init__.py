"""The method registry: every way painterly can repaint a photo, declared once.

Each method lives in one room of this package (a small module that declares its options
dataclass and a `Method`, and imports the heavy code only when it runs). The pipeline, the
CLI, the web page, the HTTP API, the benchmarks and the experiments iterate over `all_methods()`;
nothing outside this package compares method names.

Adding a method: write `painterly/methods/<room>.py` that calls `register(Method(...))`, and
add `<room>` to `ROOMS` below.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from ..errors import InputError

#: The rooms, in the order front ends list their methods. One line per room.
ROOMS = ("gatys", "magenta", "arbitrary", "feedforward", "cyclegan", "photo")

#: What a method can do besides the basics (one style image or a model in, one image out).
SUPPORTS = ("mask", "blend", "style_masks", "strength", "preserve_colors")


@dataclass
class Run:
    """What a method's `run` receives besides its options: already loaded and resized tensors."""

    content: torch.Tensor                           # (1, 3, H, W) at output size
    styles: list[torch.Tensor]                      # (1, 3, h, w) each; empty for style-free methods
    device: str
    style_blend: Optional[Sequence[float]] = None
    mask: Optional[torch.Tensor] = None             # (1, 1, H, W): where the style goes
    style_masks: Optional[list[torch.Tensor]] = None
    strength: float = 1.0                           # 0 = photo, 1 = full style (methods with native strength)
    callback: Optional[Callable[[int, dict], None]] = None
    image_callback: Optional[Callable[[int, torch.Tensor], None]] = None
    image_every: int = 0


@dataclass
class Output:
    """What a method returns: the image, per-step losses, why it stopped early, and facts for reports."""

    image: torch.Tensor
    history: list[dict] = field(default_factory=list)
    stopped: Optional[str] = None
    info: dict = field(default_factory=dict)       # "seconds" always; "encoder" / "model" when known


@dataclass
class ModelInfo:
    """One entry of a method's model listing (e.g. a shipped trained style)."""

    name: str
    description: str = ""
    meta: dict = field(default_factory=dict)


@dataclass
class Method:
    """One method as every front end sees it."""

    name: str                                  # --method NAME, form value, JSON key
    title: str                                 # for people: "Any painting, fast (AdaIN)"
    paper: str                                 # small print: "Huang & Belongie 2017"
    description: str                           # one line
    options: type                              # its options dataclass (fields made with options.opt)
    run: Callable[[Run, Any], Output]          # run(Run, options) -> Output
    needs_style: bool = True
    needs_model: bool = False                  # options carry a `model` field then
    supports: frozenset = frozenset()          # subset of SUPPORTS
    memory: Callable[[int, int, Any], int] = lambda h, w, o: 0   # peak bytes for an (h, w) output
    style_side: Optional[Callable[[int, int, Any], int]] = None   # long side styles are used at (default: output's)
    style_memory: Optional[Callable[[int, Any], int]] = None      # peak bytes of encoding an N-pixel style
    style_field: Optional[str] = None          # the option that sets the style size (named when it is too large)
    iterative: bool = False                    # many steps: live preview, progress, history
    strength_field: Optional[str] = None       # option that realises strength natively (else a blend)
    models: Optional[Callable[[], list[ModelInfo]]] = None     # listing when needs_model
    network: Optional[Callable[[str], torch.nn.Module]] = None   # model name/file -> its one network (ONNX export)
    bench: Optional[Callable[[str], tuple[str, Callable[[torch.Tensor, torch.Tensor], Any]]]] = None
    """bench(device) -> (label, fn(content, style)): one timed inference for `bench fast`."""
    load_style: Optional[Callable[[Any, str], torch.Tensor]] = None
    """load_style(src, what) -> tensor: how the method reads a style argument (default: an image)."""
    tiled: Optional[Callable[[Run, Any, Any], Output]] = None
    """tiled(Run, options, tiling.Tiles) -> Output: the method on overlapping tiles, for print sizes
    in bounded memory (Run.content and .styles are uint8 then). For a network that maps RGB to RGB
    `tiling.network_method(get_net)` is all it takes; its instance norms are handled generically."""

    def can_run_in_browser(self) -> bool:
        """A web page can offer it: it needs no model, or it lists models to pick from."""
        return not self.needs_model or (self.models is not None and bool(self.models()))

    def defaults(self) -> Any:
        return self.options()


_REGISTRY: dict[str, Method] = {}
_ORDER: dict[str, tuple[int, int]] = {}      # (room's place in ROOMS, registration order)
_loaded = False
_load_lock = threading.RLock()    # web servers ask from several threads at once


def register(method: Method) -> Method:
    """Add a method (called by its room at import)."""
    if method.name in _REGISTRY:
        raise ValueError(f"method {method.name} is registered twice")
    unknown = set(method.supports) - set(SUPPORTS)
    if unknown:
        raise ValueError(f"method {method.name} supports unknown features {unknown}")
    _REGISTRY[method.name] = method
    room = sys._getframe(1).f_globals.get("__name__", "").rpartition(".")[2]
    _ORDER[method.name] = (ROOMS.index(room) if room in ROOMS else len(ROOMS), len(_ORDER))
    return method


def _load() -> None:
    """Import every room once; a second thread waits until all are registered (never a partial list)."""
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if not _loaded:
            for room in ROOMS:
                importlib.import_module(f"{__name__}.{room}")
            _loaded = True


def all_methods() -> list[Method]:
    """Every registered method, in ROOMS order (rooms may be imported in any order)."""
    _load()
    return sorted(_REGISTRY.values(), key=lambda m: _ORDER[m.name])


def names() -> list[str]:
    return [m.name for m in all_methods()]


def get(name: str) -> Method:
    """The method called `name`; InputError listing the known ones otherwise."""
    _load()
    if name not in _REGISTRY:
        raise InputError(f"unknown method '{name}': use one of {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def default_for(model: Optional[str]) -> str:
    """The method a run uses when none is named: the first that takes a model when one is given
    (feed-forward styles), else the first method (Gatys)."""
    ms = all_methods()
    if model:
        return next(m.name for m in ms if m.needs_model)
    return ms[0].name


__all__ = ["Method", "ModelInfo", "Output", "ROOMS", "Run", "SUPPORTS", "all_methods", "default_for", "get",
           "names", "register"]
