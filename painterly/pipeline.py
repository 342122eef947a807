"""The one pipeline every method plugs into:

    load images -> resize -> (colour pre-process) -> method -> colour / mask post-process -> result

Front ends (CLI, web, notebooks) call `run_stylize`; `painterly.stylize` is its one-line form.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional, Union
from collections.abc import Sequence

import torch
from PIL import Image

from . import colour, gatys, images
from .device import free_memory_bytes, pick_device
from .errors import InputError
from .losses import blend_weights

PRESERVE_COLORS = ("luminance", "match")
METHODS = ("gatys", "adain", "wct", "model", "cyclegan")
#: Methods whose network carries the style: they take no style image.
STYLE_FREE = ("model", "cyclegan")


@dataclass
class StylizeResult:
    """A finished (or interrupted) run: the output image and everything needed to report on it."""

    image: Image.Image
    tensor: torch.Tensor
    history: list[dict] = field(default_factory=list)
    stopped: Optional[str] = None
    info: dict = field(default_factory=dict)


#: Rough peak bytes per output pixel of the one-pass methods (measured: bench fast, plus margin):
#: relu1_1 features are 64 floats a pixel, WCT also holds float64 copies.
_BYTES_PER_PIXEL = {"adain": 64 * 4 * 5, "wct": 64 * 4 * 10, "model": 16 * 4 * 8, "cyclegan": 64 * 4 * 8}


def check_fits(h: int, w: int, device: str, low_memory: Optional[bool] = None, method: str = "gatys") -> None:
    """Raise InputError when the run would need more memory than the device has free."""
    need = gatys.estimate_memory(h, w, low_memory) if method == "gatys" else h * w * _BYTES_PER_PIXEL[method]
    free = free_memory_bytes(device)
    if free is not None and need > free:
        raise InputError(f"output size {w}x{h} needs about {need / 2**30:.1f} GiB but only "
                         f"{free / 2**30:.1f} GiB is free on {device}: lower --size")


def run_stylize(content: images.ImageLike,
                styles: Union[images.ImageLike, Sequence[images.ImageLike], None] = None,
                method: str = "gatys", size: Optional[int] = 512,
                preserve_colors: Optional[str] = None, mask: Optional[images.ImageLike] = None,
                style_blend: Optional[Sequence[float]] = None,
                style_masks: Optional[Sequence[images.ImageLike]] = None, device: Optional[str] = "auto",
                callback: Optional[gatys.Callback] = None,
                image_callback: Optional[gatys.ImageCallback] = None, image_every: int = 0,
                **options) -> StylizeResult:
    """Load, stylise and post-process. `method`: gatys (optimisation), adain / wct (any style,
    one pass), model (a trained feed-forward style: pass `model=` a file or shipped name, no
    style image). `options` are the method's own (`gatys.GatysOptions`, `ArbitraryOptions`)."""
    if method not in METHODS:
        raise InputError(f"unknown method '{method}': use one of {', '.join(METHODS)}")
    if preserve_colors not in (None, "none", *PRESERVE_COLORS):
        raise InputError(f"unknown --preserve-colors '{preserve_colors}': use luminance or match")
    if size is not None and size < images.MIN_SIDE:
        raise InputError(f"--size must be at least {images.MIN_SIDE} px, got {size}")
    dev = pick_device(device)
    style_list = [] if styles is None else list(styles) if isinstance(styles, (list, tuple)) else [styles]
    if method in STYLE_FREE:
        if style_list:
            raise InputError(f"a trained {method} model carries its style: give no style image with --model")
        if preserve_colors == "match":
            raise InputError("--preserve-colors match needs a style image; with --model use luminance")
    elif not style_list:
        raise InputError(f"method {method} needs at least one style image")
    if style_blend is not None:
        blend_weights(style_blend, len(style_list))
    if style_masks is not None and method not in ("adain", "wct"):
        raise InputError("--style-masks (one region per style) works with --method adain or wct")
    c = images.load_image(content, "content image")
    images.check_min_size(c, "content image")
    h, w = images.fit_size(c.shape[-2], c.shape[-1], size)
    check_fits(h, w, dev, options.get("low_memory"), method)
    c = images.resize(c, (h, w))
    images.check_min_size(c, "content image at --size")
    s_list = [images.load_image(s, "style image") for s in style_list]
    for s in s_list:
        images.check_min_size(s, "style image")
    m = images.load_mask(mask, (h, w)) if mask is not None else None
    region_masks = ([images.load_mask(sm, (h, w), "style mask") for sm in style_masks]
                    if style_masks is not None else None)

    if preserve_colors == "match":
        s_list = [colour.match_colours(s, c) for s in s_list]

    history: list[dict] = []
    stopped = None
    if method == "gatys":
        res = gatys.run(c, s_list, gatys.GatysOptions(device=dev, **_gatys_options(options)),
                        style_blend=style_blend, mask=m, callback=callback,
                        image_callback=image_callback, image_every=image_every)
        out, history, stopped = res.image, res.history, res.stopped
        extra = {"encoder": res.encoder, "seconds": res.seconds, "options": res.options}
    elif method == "model":
        out, extra = _run_model(c, dev, **options)
    elif method == "cyclegan":
        out, extra = _run_cyclegan(c, dev, **options)
    else:
        from . import arbitrary
        known = set(arbitrary.ArbitraryOptions.__dataclass_fields__) - {"device"}
        _check_known(method, options, known)
        out, extra = arbitrary.run(method, c, s_list, arbitrary.ArbitraryOptions(device=dev, **options),
                                   style_blend, region_masks)
    if preserve_colors == "luminance":
        out = colour.luminance_transfer(out, c)
    if m is not None:
        out = m * out + (1 - m) * c
    info = {"method": method, "height": out.shape[-2], "width": out.shape[-1], "preserve_colors": preserve_colors,
            "style_blend": list(style_blend) if style_blend else None, **extra}
    return StylizeResult(images.tensor_to_pil(out), out, history, stopped, info)


def _check_known(method: str, options: dict, known: set[str]) -> None:
    unknown = set(options) - known
    if unknown:
        raise InputError(f"unknown option(s) for {method}: {', '.join(sorted(unknown))}")


def _run_model(c: torch.Tensor, dev: str, model: Optional[str] = None, **rest) -> tuple[torch.Tensor, dict]:
    """A trained feed-forward style network applied once."""
    _check_known("model", rest, set())
    if model is None:
        raise InputError("method model needs model= (a file from painterly train-style or a name from "
                         "painterly models)")
    from .feedforward import apply
    sm = _cached_model(str(model), dev)
    t0 = time.perf_counter()
    out = apply(sm.net, c, dev)
    return out, {"model": sm.name, "seconds": time.perf_counter() - t0, "options": {"model": str(model)}}


def _run_cyclegan(c: torch.Tensor, dev: str, model: Optional[str] = None, direction: str = "a2b",
                  **rest) -> tuple[torch.Tensor, dict]:
    """One direction of a trained CycleGAN applied once."""
    _check_known("cyclegan", rest, set())
    if model is None:
        raise InputError("method cyclegan needs model= (a train-cyclegan folder or generator file)")
    from .cyclegan import translate
    g, meta = _cached_generator(str(model), direction, dev)
    t0 = time.perf_counter()
    out = translate(g, c, dev)
    return out, {"model": f"{model} ({direction})", "seconds": time.perf_counter() - t0,
                 "options": {"model": str(model), "direction": direction}}


@lru_cache(maxsize=8)
def _cached_generator(model: str, direction: str, device: str):
    from .cyclegan import load_generator
    return load_generator(model, direction, device)


@lru_cache(maxsize=8)
def _cached_model(name: str, device: str):
    from .feedforward import load_model
    return load_model(name, device)


def _gatys_options(options: dict) -> dict:
    """Accept layer lists / 'name:weight' strings as well as dicts for the layer options."""
    _check_known("gatys", options, set(gatys.GatysOptions.__dataclass_fields__) - {"device"})
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
