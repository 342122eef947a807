"""A stylisation request: what to paint, with which method and options, built once and frozen.

A front end (CLI, web page, notebook) builds one `Request` (`painterly.pipeline.make_request`
resolves the method and checks the options), and the pipeline, a folder run or a
video passes it whole down to the method; a folder or a video reuses it for every photo
(`dataclasses.replace(request, content=...)`). Nothing downstream can change it: a method that
needs a variant of its options derives one with `dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from . import images
from .errors import InputError
from .options import build, opt
from .tiling import STATS as TILE_STATS

PRESERVE_COLORS = ("luminance", "match")


def as_tuple(v: Any) -> Any:
    """A list (from the command line or JSON) as a tuple, so a frozen request holds no mutable part."""
    return tuple(v) if isinstance(v, list) else v


#: Largest tile side a user may ask for (px); a tile larger than the image is the whole image.
MAX_TILE = 16384


@dataclass(frozen=True)
class TransferOptions:
    """What every method shares: output size, style blending and regions, strength, colours."""

    method: Optional[str] = opt(None, help="how to paint (default gatys; model when {model} is given)")
    size: Optional[int] = opt(512, min=images.MIN_SIDE, help="long side of the output in px")
    strength: float = opt(1.0, min=0.0, max=1.0, help="0 = the photo, 1 = full style")
    style_blend: Optional[Sequence[float]] = opt(None, nargs="+", metavar="W", web=False,
                                                 help="one weight per style image (default equal)")
    preserve_colors: Optional[str] = opt(None, choices=PRESERVE_COLORS, nargs="?", const="luminance",
                                         help="keep the photo's colours: luminance (default when given) or match")
    mask: Optional[Any] = opt(None, web=False, help="image whose white area is stylised; black keeps the photo; or an "
                                                   "automatic region: auto:person, auto:background, auto:sky, auto:not-sky")
    style_masks: Optional[Sequence[Any]] = opt(None, nargs="+", metavar="MASK", web=False,
                                               help="one mask per style: each style paints the white area of its mask "
                                                    "(files or auto:REGION, e.g. auto:sky auto:not-sky)")
    device: str = opt("auto", web=False, help="auto, cpu, cuda, cuda:N, mps")
    tile: Optional[int] = opt(None, min=0, max=MAX_TILE, nargs="?", const=0, metavar="PX", web=False,
                              help="one-pass methods: run on overlapping tiles of PX px (no PX or 0: automatic "
                                   "size), in bounded memory; automatic when the whole image would not fit in "
                                   "free memory (print sizes)")
    tile_stats: str = opt("auto", choices=("auto", *TILE_STATS), web=False,
                          help="instance-norm statistics of a tiled network: from one pass at 1024 px "
                               "(reduced, = auto) or accumulated over the tiles layer by layer (exact: equal "
                               "to the whole image's, ~7x slower); AdaIN/WCT always accumulate theirs")
    mask_feather: float = opt(0.0, min=0, metavar="PX", web=False,
                              help="automatic masks: soften their edge by PX px (after the edge-aware refinement)")
    missing_region: str = opt("stop", choices=("stop", "empty"), web=False,
                              help="automatic masks: when the photo has no such region (no person, no sky), stop with "
                                   "an error (default) or go on with an empty mask")

    def __post_init__(self) -> None:
        for name in ("style_blend", "style_masks"):
            object.__setattr__(self, name, as_tuple(getattr(self, name)))
        if self.preserve_colors == "none":
            object.__setattr__(self, "preserve_colors", None)
        if self.device is None:
            object.__setattr__(self, "device", "auto")


@dataclass(frozen=True)
class Request:
    """One stylisation: the photo, the style images, the shared options and the method's options.

    `content` and `styles` are image sources (paths, PIL images, arrays, tensors); `transfer.method`
    is the resolved method name; `options` is that method's (frozen) options dataclass."""

    content: Any
    styles: tuple = ()
    transfer: TransferOptions = TransferOptions()
    options: Any = None

    def __post_init__(self) -> None:
        styles = self.styles
        styles = () if styles is None else tuple(styles) if isinstance(styles, (list, tuple)) else (styles,)
        object.__setattr__(self, "styles", styles)

    @property
    def method(self) -> str:
        return self.transfer.method

    def with_content(self, content: Any) -> Request:
        return dataclasses.replace(self, content=content)


def method_options(method: Any, options: Any = None, **values: Any) -> Any:
    """The method's options: `options` itself (its dataclass) or built from keyword values."""
    if options is not None:
        if not isinstance(options, method.options):
            raise InputError(f"options for {method.name} must be {method.options.__name__}")
        return dataclasses.replace(options, **values) if values else options
    return build(method.options, {k: as_tuple(v) for k, v in values.items()}, method.name)


__all__ = ["PRESERVE_COLORS", "Request", "TILE_STATS", "TransferOptions", "method_options"]
