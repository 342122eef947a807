"""AdaIN and WCT in one pass: encode, transform the features, decode; WCT repeats this from
the deepest level to the shallowest (Li et al.'s multi-level coarse-to-fine stylisation)."""

from __future__ import annotations

import time
from typing import Optional
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ... import images
from ...errors import InputError
from ...options import OptionError
from .options import ArbitraryOptions
from .pairs import encoder, load_decoder, shipped
from .transforms import transfer

KINDS = ("adain", "wct")


def pad_multiple(levels: Sequence[str]) -> int:
    """The size every level's encoder divides exactly: relu{k}_1 lies k-1 poolings deep."""
    return max(2 ** (int(level[4]) - 1) for level in levels)
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


def _labels(o: ArbitraryOptions, content: torch.Tensor, styles: Sequence[torch.Tensor], style_masks) -> tuple:
    """(content label ids, style label ids renumbered to the content's, number of labels)."""
    from ... import labels as lab
    if len(styles) != 1 or style_masks is not None:
        raise OptionError("content_labels", "work with one style image and no {style_masks}", refs=("style_masks",))
    side = o.style_size or max(content.shape[-2:])
    sh, sw = images.fit_size(styles[0].shape[-2], styles[0].shape[-1], side)
    cm = lab.load(o.content_labels, "content labels", tuple(content.shape[-2:]))
    sm = lab.load(o.style_labels, "style labels", (sh, sw))
    return cm.ids, lab.for_style(sm, lab.match(cm, sm)), len(cm.palette)


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
    regions = _labels(options, content, styles, style_masks) if options.content_labels is not None else None
    # pad to the multiple the deepest level's poolings need, so every decoder gives back the photo's size
    # (an odd size lost up to 15 px and no longer matched its mask), and crop at the end; sizes that are
    # already a multiple (and tiles) run unpadded, as before
    h, w = content.shape[-2:]
    m = pad_multiple([d.level for d, _, _ in levels])
    pad = (0, (-w) % m, 0, (-h) % m)
    x = F.pad(content.to(dev), pad, mode="reflect") if any(pad) else content.to(dev)
    masks = ([F.pad(m.to(dev), pad, mode="replicate") if any(pad) else m.to(dev) for m in style_masks]
             if style_masks is not None else None)
    used = []
    for d, enc, fs in levels:
        fc = enc(x)[d.level]
        if regions is None:
            t = transfer(kind, fc, fs, options.alpha, style_blend, masks)
        else:                     # semantic matching: region to region (the photo family's statistics)
            from ..photo.engine import region_weights
            from ..photo.transforms import region_transfer
            c_ids, s_ids, n = regions
            t = region_transfer(kind, fc, fs[0], region_weights(c_ids, n, tuple(fc.shape[-2:])).to(fc),
                                region_weights(s_ids, n, tuple(fs[0].shape[-2:])).to(fc), options.alpha)
        x = d.decoder(t)[..., : x.shape[-2], : x.shape[-1]].clamp(0, 1)
        used.append({"level": d.level, "encoder": d.encoder})
    return x[..., :h, :w].cpu(), {"levels": used, "alpha": options.alpha, "seconds": time.perf_counter() - t0}
