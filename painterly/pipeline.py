"""The one pipeline every method plugs into:

    load images -> resize -> (colour pre-process) -> method -> colour / mask post-process -> result

Front ends (CLI, web, notebooks) call `run_stylize`; `painterly.stylize` is its one-line form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union
from collections.abc import Sequence

import torch
from PIL import Image

from . import colour, gatys, images
from .device import free_memory_bytes, pick_device
from .errors import InputError

PRESERVE_COLORS = ("luminance", "match")
METHODS = ("gatys",)


@dataclass
class StylizeResult:
    """A finished (or interrupted) run: the output image and everything needed to report on it."""

    image: Image.Image
    tensor: torch.Tensor
    history: list[dict] = field(default_factory=list)
    stopped: Optional[str] = None
    info: dict = field(default_factory=dict)


def check_fits(h: int, w: int, device: str, low_memory: Optional[bool] = None) -> None:
    """Raise InputError when the run would need more memory than the device has free."""
    need, free = gatys.estimate_memory(h, w, low_memory), free_memory_bytes(device)
    if free is not None and need > free:
        raise InputError(f"output size {w}x{h} needs about {need / 2**30:.1f} GiB but only "
                         f"{free / 2**30:.1f} GiB is free on {device}: lower --size")


def run_stylize(content: images.ImageLike, styles: Union[images.ImageLike, Sequence[images.ImageLike]],
                method: str = "gatys", size: Optional[int] = 512,
                preserve_colors: Optional[str] = None, mask: Optional[images.ImageLike] = None,
                style_blend: Optional[Sequence[float]] = None, device: Optional[str] = "auto",
                callback: Optional[gatys.Callback] = None,
                image_callback: Optional[gatys.ImageCallback] = None, image_every: int = 0,
                **options) -> StylizeResult:
    """Load, stylise and post-process; `options` are the method's own (see `gatys.GatysOptions`)."""
    if method not in METHODS:
        raise InputError(f"unknown method '{method}': use one of {', '.join(METHODS)}")
    if preserve_colors not in (None, "none", *PRESERVE_COLORS):
        raise InputError(f"unknown --preserve-colors '{preserve_colors}': use luminance or match")
    if size is not None and size < images.MIN_SIDE:
        raise InputError(f"--size must be at least {images.MIN_SIDE} px, got {size}")
    dev = pick_device(device)
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    c = images.load_image(content, "content image")
    images.check_min_size(c, "content image")
    h, w = images.fit_size(c.shape[-2], c.shape[-1], size)
    check_fits(h, w, dev, options.get("low_memory"))
    c = images.resize(c, (h, w))
    images.check_min_size(c, "content image at --size")
    s_list = [images.load_image(s, "style image") for s in style_list]
    for s in s_list:
        images.check_min_size(s, "style image")
    m = images.load_mask(mask, (h, w)) if mask is not None else None

    if preserve_colors == "match":
        s_list = [colour.match_colours(s, c) for s in s_list]

    opts = gatys.GatysOptions(device=dev, **_gatys_options(options))
    res = gatys.run(c, s_list, opts, style_blend=style_blend, mask=m, callback=callback,
                    image_callback=image_callback, image_every=image_every)
    out = res.image
    if preserve_colors == "luminance":
        out = colour.luminance_transfer(out, c)
    if m is not None:
        out = m * out + (1 - m) * c
    info = {"method": method, "encoder": res.encoder, "seconds": res.seconds,
            "height": out.shape[-2], "width": out.shape[-1], "preserve_colors": preserve_colors,
            "style_blend": list(style_blend) if style_blend else None, "options": res.options}
    return StylizeResult(images.tensor_to_pil(out), out, res.history, res.stopped, info)


def _gatys_options(options: dict) -> dict:
    """Accept layer lists / 'name:weight' strings as well as dicts for the layer options."""
    known = set(gatys.GatysOptions.__dataclass_fields__) - {"device"}
    unknown = set(options) - known
    if unknown:
        raise InputError(f"unknown option(s) for gatys: {', '.join(sorted(unknown))}")
    out = dict(options)
    for key in ("content_layers", "style_layers"):
        if key in out and out[key] is not None:
            out[key] = gatys.parse_layers(out[key], "--" + key.replace("_", "-"))
        elif key in out:
            del out[key]
    return out


def stylize(content: images.ImageLike, style: Union[images.ImageLike, Sequence[images.ImageLike]],
            **options) -> Image.Image:
    """Stylise `content` with one or more style images; returns a PIL image. See `run_stylize`."""
    return run_stylize(content, style, **options).image
