"""AdaIN and WCT in one pass: encode, transform the features, decode; WCT repeats this from
the deepest level to the shallowest (Li et al.'s multi-level coarse-to-fine stylisation)."""

from __future__ import annotations

import time
from typing import Optional
from collections.abc import Sequence

import torch

from ... import images
from ...errors import InputError
from ...options import OptionError
from .options import ArbitraryOptions
from .pairs import encoder, load_decoder, shipped
from .transforms import transfer

KINDS = ("adain", "wct")
DEFAULT_LEVELS = {"adain": ("relu3_1",), "wct": ("relu3_1", "relu2_1", "relu1_1")}


def default_decoders(kind: str) -> tuple[str, ...]:
    """WCT: the reconstruction decoders, deepest first. AdaIN: the relu3_1 decoder fine-tuned with
    AdaIN's own objective when shipped (it paints more strongly), else the reconstruction one."""
    if kind == "adain" and "relu3_1-adain" in shipped():
        return ("relu3_1-adain",)
    return DEFAULT_LEVELS[kind]


#: Peak bytes per pixel (CPU, measured at 512 and 1024 px with a tiny other image, plus margin):
#: the content pass (encode, transform, decode) and the encoding of one style image. They run
#: one after the other, so the peaks do not add up.
CONTENT_BYTES_PER_PIXEL = {"adain": 1150, "wct": 2800}
STYLE_BYTES_PER_PIXEL = {"adain": 1150, "wct": 1450}


@torch.inference_mode()
def prepare_levels(kind: str, styles: Sequence[torch.Tensor], options: ArbitraryOptions,
                   long_side: int) -> list[tuple]:
    """What a run needs that depends on the styles alone: per level, deepest first, the decoder,
    its encoder and the styles' features (styles resized to `long_side`). A folder or a video
    computes this once (`run(levels=...)`)."""
    dev = options.device
    s_small = [images.resize_long_side(s, long_side).to(dev) for s in styles]
    levels = []
    for spec in list(options.decoders or default_decoders(kind)):
        d = load_decoder(spec, dev)
        enc = encoder(d.encoder, (d.level,), dev)
        levels.append((d, enc, [enc(s)[d.level] for s in s_small]))
    return levels


@torch.inference_mode()
def run(kind: str, content: torch.Tensor, styles: Sequence[torch.Tensor], options: ArbitraryOptions,
        style_blend: Optional[Sequence[float]] = None,
        style_masks: Optional[Sequence[torch.Tensor]] = None,
        levels: Optional[list[tuple]] = None) -> tuple[torch.Tensor, dict]:
    """Stylise (1, 3, H, W) `content` with one or more `styles`; returns the image and info.
    `levels`: `prepare_levels(...)` for these styles and this content size, when already made."""
    if kind not in KINDS:
        raise InputError(f"unknown arbitrary method '{kind}': use adain or wct")
    options.validate()
    if style_masks is not None and len(style_masks) != len(styles):
        raise OptionError("style_masks", f"needs one mask per style: {len(styles)} style(s), "
                         f"{len(style_masks)} mask(s)")
    dev = options.device
    t0 = time.perf_counter()
    if levels is None:
        levels = prepare_levels(kind, styles, options, options.style_size or max(content.shape[-2:]))
    masks = [m.to(dev) for m in style_masks] if style_masks is not None else None
    x = content.to(dev)
    used = []
    for d, enc, fs in levels:
        fc = enc(x)[d.level]
        t = transfer(kind, fc, fs, options.alpha, style_blend, masks)
        x = d.decoder(t)[..., : x.shape[-2], : x.shape[-1]].clamp(0, 1)
        used.append({"level": d.level, "encoder": d.encoder})
    return x.cpu(), {"levels": used, "alpha": options.alpha, "seconds": time.perf_counter() - t0}
