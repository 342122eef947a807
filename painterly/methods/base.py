"""What a method is, what it receives and what it returns; the decorator that registers one.

This module imports no family (each family imports it), so the families and the catalogue in
`painterly.methods` never import each other in a circle. A family registers its methods with

    @register
    def adain() -> Method:
        return Method(name="adain", title=..., paper=..., description=..., options=ArbitraryOptions,
                      run=_run)

The family is read from the function's module (`painterly.methods.<family>...`), as timm's
`register_model` does, and sets the method's place in the listings (`FAMILIES`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import torch

if TYPE_CHECKING:
    from ..request import Request
    from ..tiling import Tiles

#: The families, in the order front ends list their methods (package names under painterly/methods/).
FAMILIES = ("gatys", "magenta", "arbitrary", "feedforward", "cyclegan", "photo")

#: What a method can do besides the basics (one style image or a model in, one image out).
SUPPORTS = ("mask", "blend", "style_masks", "strength", "preserve_colors")


@dataclass(frozen=True)
class Run:
    """What a method's `run` receives: the request, and its inputs decoded at the size they are used.

    For a tiled run (`Tiled.run`) `content` and `styles` are uint8 tensors, and the mask is applied
    by the pipeline afterwards (`mask` is None)."""

    request: Request
    content: torch.Tensor                              # (1, 3, H, W) at output size
    styles: tuple[torch.Tensor, ...] = ()              # (1, 3, h, w) each (or what `load_style` read)
    device: str = "cpu"
    mask: Optional[torch.Tensor] = None                # (1, 1, H, W): where the style goes
    style_masks: Optional[tuple[torch.Tensor, ...]] = None
    callback: Optional[Callable[[int, dict], None]] = None
    image_callback: Optional[Callable[[int, torch.Tensor], None]] = None
    image_every: int = 0
    guide: Optional[Any] = None                        # a video frame's `temporal.Guide` (methods with uses_guide)

    @property
    def options(self) -> Any:
        """The method's options dataclass (frozen: derive variants with dataclasses.replace)."""
        return self.request.options

    @property
    def strength(self) -> float:
        return self.request.transfer.strength

    @property
    def style_blend(self) -> Optional[Sequence[float]]:
        return self.request.transfer.style_blend

    def with_content(self, content: torch.Tensor, **changes: Any) -> Run:
        """The same run on another photo (a prepared runner's next frame)."""
        return dataclasses.replace(self, content=content, **changes)


@dataclass
class Output:
    """What a method returns: the image, per-step losses, why it stopped early, and facts for reports."""

    image: torch.Tensor
    history: list[dict] = field(default_factory=list)
    stopped: Optional[str] = None
    info: dict = field(default_factory=dict)       # "seconds" always; "encoder" / "model" when known


@dataclass(frozen=True)
class ModelInfo:
    """One entry of a method's model listing (e.g. a shipped trained style)."""

    name: str
    description: str = ""
    meta: dict = field(default_factory=dict, hash=False, compare=False)


#: A prepared runner: `runner(run) -> Output` for any photo of the request it was prepared for.
Runner = Callable[[Run], Output]


@dataclass(frozen=True)
class Tiled:
    """A method's runner on overlapping tiles, for print sizes in bounded memory.

    `run(Run, tiling.Tiles) -> Output` receives uint8 content and styles. `halo` is the overlap
    per side the method needs (at least its receptive field); `style_masks`: it composites region
    masks itself; `buffer_bytes_per_pixel`: whole-image float buffers it keeps beyond the
    pipeline's (e.g. 12 for one more float32 RGB image between levels), so the tile planner
    leaves room for them. For a network that maps RGB to RGB, `network_method(get_net)` is all
    it takes; its instance norms are handled generically."""

    run: Callable[[Run, Tiles], Output]
    halo: int = 64
    style_masks: bool = False
    buffer_bytes_per_pixel: int = 0


def network_method(get_net: Callable[[Run], tuple[torch.nn.Module, dict]], halo: int = 64) -> Tiled:
    """The tiled part of a method whose work is one image-to-image network: `get_net(run)` ->
    (network, info). Any InstanceNorm2d inside gets whole-image statistics (`tiling.run_tiled`)."""
    def run(r: Run, tiles: Tiles) -> Output:
        from ..tiling import run_tiled
        net, extra = get_net(r)
        out, info = run_tiled(net, r.content, tiles.tile, max(halo, tiles.halo), tiles.stats, device=r.device,
                              progress=tiles.progress)
        return Output(out, info={**info, **extra})
    return Tiled(run, halo=halo)


@dataclass(frozen=True)
class Method:
    """One method as every front end sees it. The handful of fields a new method needs are the
    first six (see `painterly/methods/_template/`); the rest declare what it can do more.

    `run(Run) -> Output` paints one photo. `prepare(Run) -> runner`, when given, does once what
    depends only on the styles and options (style features, Magenta's style vectors, a loaded
    network) and returns a runner for every photo of the same request (`run.with_content(...)`):
    a folder or a video calls it once; `prepare(r)(r)` gives exactly `run(r)`'s pixels. Methods
    without it are prepared as `run` itself (`Method.prepared`)."""

    name: str                                  # --method NAME, form value, JSON key
    title: str                                 # for people: "Any painting, fast (AdaIN)"
    paper: str                                 # small print: "Huang & Belongie 2017"
    description: str                           # one line
    options: type                              # its options dataclass (frozen; fields made with options.opt)
    run: Callable[[Run], Output]               # run(Run) -> Output
    needs_style: bool = True
    needs_model: bool = False                  # options carry a `model` field then
    supports: frozenset = frozenset()          # subset of SUPPORTS
    memory: Callable[[int, int, Any], int] = lambda h, w, o: 0   # peak bytes for an (h, w) output
    style_side: Optional[Callable[[int, int, Any], int]] = None   # long side styles are used at (default: output's)
    style_memory: Optional[Callable[[int, Any], int]] = None      # peak bytes of encoding an N-pixel style
    style_field: Optional[str] = None          # the option that sets the style size (named when it is too large)
    iterative: bool = False                    # many steps: live preview, progress, history
    strength_field: Optional[str] = None       # option that also takes the strength (a native mix; the blend follows)
    models: Optional[Callable[[], list[ModelInfo]]] = None     # listing when needs_model
    network: Optional[Callable[[str], torch.nn.Module]] = None   # model name/file -> its one network (ONNX export)
    bench: Optional[Callable[[str], tuple[str, Callable[[torch.Tensor, torch.Tensor], Any]]]] = None
    """bench(device) -> (label, fn(content, style)): one timed inference for `bench fast`."""
    load_style: Optional[Callable[[Any, str], torch.Tensor]] = None
    """load_style(src, what) -> tensor: how the method reads a style argument (default: an image)."""
    tiled: Optional[Tiled] = None
    prepare: Optional[Callable[[Run], Runner]] = None
    uses_guide: bool = False
    """Video: the method follows the motion itself from `Run.guide` (the previous output warped onto
    this frame, and where to trust it), e.g. as its starting point and a temporal loss; otherwise
    the video loop blends its output with the guide (`painterly.temporal.blend`)."""
    family: str = ""                           # set by `register` from the module

    def can_run_in_browser(self) -> bool:
        """A web page can offer it: it needs no model, or it lists models to pick from."""
        return not self.needs_model or (self.models is not None and bool(self.models()))

    def defaults(self) -> Any:
        return self.options()

    def prepared(self, r: Run) -> Runner:
        """A runner for every photo of `r.request` (the method's `prepare`, else `run` itself)."""
        return self.prepare(r) if self.prepare is not None else self.run

    @property
    def hidden(self) -> bool:
        """Registered by a family whose name starts with `_` (the template): not listed to users."""
        return self.family.startswith("_")


_REGISTRY: dict[str, Method] = {}
_ORDER: dict[str, tuple[int, int]] = {}      # (family's place in FAMILIES, registration order)
_counter = [0]


def family_of(module: str) -> str:
    """'painterly.methods.arbitrary.method' -> 'arbitrary'; a module outside painterly.methods -> ''."""
    prefix = __name__.rpartition(".")[0] + "."
    return module[len(prefix):].partition(".")[0] if module.startswith(prefix) else ""


def register(fn: Callable[[], Method]) -> Callable[[], Method]:
    """Decorator: register the Method that `fn()` returns, under its family (from `fn.__module__`).
    Returns `fn` unchanged, so a family can still call it."""
    method = fn()
    if not isinstance(method, Method):
        raise TypeError(f"{fn.__qualname__} must return a Method, not {type(method).__name__}")
    if method.name in _REGISTRY:
        raise ValueError(f"method {method.name} is registered twice")
    unknown = set(method.supports) - set(SUPPORTS)
    if unknown:
        raise ValueError(f"method {method.name} supports unknown features {unknown}")
    family = family_of(fn.__module__)
    method = dataclasses.replace(method, family=family)
    _REGISTRY[method.name] = method
    _counter[0] += 1
    _ORDER[method.name] = (FAMILIES.index(family) if family in FAMILIES else len(FAMILIES), _counter[0])
    return fn


def unregister(name: str) -> None:
    """Remove a method (tests that register a throwaway one)."""
    _REGISTRY.pop(name, None)
    _ORDER.pop(name, None)


__all__ = ["FAMILIES", "Method", "ModelInfo", "Output", "Run", "Runner", "SUPPORTS", "Tiled", "family_of",
           "network_method", "register", "unregister"]
