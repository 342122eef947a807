"""Magenta's one-pass stylisation: any painting (Ghiasi et al.) or one of 26 trained styles
(Dumoulin et al.), at the output's full resolution.

Arbitrary style: the predictor turns the painting into a 100-number style vector; strength is
Ghiasi's interpolation between the photo's own vector and the painting's; several paintings blend
by their vectors; with region masks each region is painted with its own vector.
"""

from __future__ import annotations

import os
import time
from typing import Optional
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ...errors import InputError
from ...options import OptionError
from ...losses import blend_weights
from .options import MIN_STYLE_SIDE, STYLE_SQUARE, MagentaOptions
from .presets import preset_params

#: Peak bytes per pixel of the style predictor's square (measured 290 at 1024 and 2048 px, plus margin).
PREDICTOR_BYTES_PER_PIXEL = 400


def check_style_image(t: torch.Tensor, what: str = "style image") -> None:
    """InputError when a painting is too small for the style predictor."""
    h, w = t.shape[-2:]
    if min(h, w) < MIN_STYLE_SIDE:
        raise InputError(f"{what} is too small for the style predictor ({w}x{h}): it needs at least "
                         f"{MIN_STYLE_SIDE} px on each side")


def decode_side(src, square: Optional[int], what: str = "style image") -> Optional[int]:
    """The long side to decode a painting file at for the predictor's `square` (`images.load_image`):
    its short side stays at least `square`. None (full size) for images already in memory."""
    from ... import images
    if not square or not isinstance(src, (str, os.PathLike)):
        return None
    w, h = images.image_size(src, what)
    return -(-square * max(w, h) // max(1, min(w, h)))


def _square(t: torch.Tensor, side: int) -> torch.Tensor:
    """Centre square crop resized to side x side (antialiased), as Magenta feeds its predictor."""
    h, w = t.shape[-2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    t = t[..., top:top + s, left:left + s]
    return F.interpolate(t, size=(side, side), mode="bilinear", antialias=side < s, align_corners=False)


def style_vector(img: torch.Tensor, style_square: int = STYLE_SQUARE, device: str = "cpu") -> torch.Tensor:
    """(1, 3, H, W) painting in [0, 1] -> its (1, 100) style vector."""
    from .files import load
    check_style_image(img)
    with torch.inference_mode():
        return load("magenta-predictor").to(device)(_square(img.to(device), style_square)).float()


def pad4(x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """Reflect-pad H and W up to multiples of 4 (both networks downsample twice); returns x, H, W."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % 4, (-w) % 4
    if ph or pw:
        x = F.pad(x, [0, pw, 0, ph], mode="reflect")
    return x, h, w


def transform(x: torch.Tensor, vectors: torch.Tensor, device: str = "cpu") -> torch.Tensor:
    """Apply the arbitrary-style transformer to (1, 3, H, W) `x` once per row of `vectors` (k, 100)."""
    from . import engine
    from .files import load
    net = load("magenta-transformer")
    xp, h, w = pad4(x)
    outs = []
    with torch.inference_mode():
        for v in vectors.cpu():
            params = net.style_params(v[None].float())     # a 100 -> 2x1056 linear map: tiny
            outs.append(engine.apply("magenta-transformer", xp, params, device)[..., :h, :w].contiguous())
    return torch.cat(outs)


def composite(outs: torch.Tensor, masks: Sequence[torch.Tensor], base: torch.Tensor) -> torch.Tensor:
    """Paste stylised image i where mask i is white; positions outside every mask keep `base`."""
    from ...tiling import paste_in_bands
    t = base.float().clone()
    for o, m in zip(outs, masks):
        paste_in_bands(t, o[None], m)
    return t


def painting_vectors(styles: Sequence[torch.Tensor], options: MagentaOptions) -> torch.Tensor:
    """One (k, 100) row per style: a painting's predicted vector, or a (1, 100) vector already.
    They depend on the styles alone, so a folder or a video computes them once (`run(vectors=...)`)."""
    dev = options.device
    return torch.cat([s.to(dev).float() if s.dim() == 2 else style_vector(s, options.style_square, dev)
                      for s in styles])


def style_vectors(content: torch.Tensor, styles: Sequence[torch.Tensor], options: MagentaOptions,
                  vectors: Optional[torch.Tensor] = None) -> torch.Tensor:
    """One (k, 100) row per style (`painting_vectors`, or `vectors` when given), each mixed with the
    photo's own vector by `options.alpha` (Ghiasi's strength). `content` may be a reduced copy:
    the predictor sees a 256 px square of it either way."""
    vecs = painting_vectors(styles, options) if vectors is None else vectors
    if options.alpha < 1.0:
        own = style_vector(content, options.style_square, options.device)
        vecs = options.alpha * vecs + (1.0 - options.alpha) * own
    return vecs


def blend_vectors(vecs: torch.Tensor, style_blend: Optional[Sequence[float]] = None) -> torch.Tensor:
    """(k, 100) style vectors -> the (1, 100) vector of their blend (weights normalised to sum 1)."""
    w = torch.tensor(blend_weights(style_blend, len(vecs)), dtype=vecs.dtype, device=vecs.device)
    return ((w / w.sum())[:, None] * vecs).sum(0, keepdim=True)


def check_masks(styles: Sequence, style_masks: Optional[Sequence]) -> None:
    if style_masks is not None and len(style_masks) != len(styles):
        raise OptionError("style_masks", f"needs one mask per style: {len(styles)} style(s), "
                         f"{len(style_masks)} mask(s)")


def run(content: torch.Tensor, styles: Sequence[torch.Tensor], options: MagentaOptions,
        style_blend: Optional[Sequence[float]] = None,
        style_masks: Optional[Sequence[torch.Tensor]] = None,
        vectors: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, dict]:
    """Stylise (1, 3, H, W) `content` with one or more paintings; returns the image and info.
    `vectors`: the styles' `painting_vectors`, when already computed."""
    options.validate()
    if not styles:
        raise InputError("method magenta needs at least one style image")
    check_masks(styles, style_masks)
    t0 = time.perf_counter()
    vecs = style_vectors(content, styles, options, vectors)
    if style_masks is None:
        out = transform(content, blend_vectors(vecs, style_blend), options.device)
    else:
        outs = transform(content, vecs, options.device)
        out = composite(outs, style_masks, content.cpu())
    return out, {"seconds": time.perf_counter() - t0, "alpha": options.alpha, "style_square": options.style_square,
                 "style_vectors": vecs.cpu()}


def run_preset(content: torch.Tensor, names: Sequence[str], style_blend: Optional[Sequence[float]] = None,
               device: str = "cpu") -> tuple[torch.Tensor, dict]:
    """One of the 26 trained styles (or a blend of several) applied once at full resolution."""
    from . import engine
    t0 = time.perf_counter()
    params = preset_params(names, style_blend)
    xp, h, w = pad4(content)
    with torch.inference_mode():
        out = engine.apply("magenta-26styles", xp, params, device)[..., :h, :w].contiguous()
    return out, {"model": "+".join(names), "seconds": time.perf_counter() - t0}
