"""Automatic region masks: person, background, sky, not-sky.

A mask source is a file, a tensor, or a named region `auto:NAME` (`REGIONS`). The networks run
on a reduced copy of the photo (person: SINet at 224x224; sky: a small U^2-Net at `SKY_SIDE`);
their probability is upsampled and refined at the photo's full size with a guided filter
(`refine`), in bands, so the seam follows the photo's edges and memory stays bounded. Pure
functions over tensors; no method is imported here.

    region_mask(photo, "sky")            # (1, 1, H, W) float in [0, 1], white = the region
    mask("photo.jpg", "person")          # the same from any image source (painterly.mask)
    frame_masks(frames, "background")    # one mask per video frame (stabilise them over time
                                         # with painterly.temporal)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any, Optional

import torch
import torch.nn.functional as F

from ..errors import InputError
from ..options import OptionError

PREFIX = "auto:"
#: region -> (network, whether the mask is the network's region or its complement)
REGIONS = {"person": ("person", False), "background": ("person", True),
           "sky": ("sky", False), "not-sky": ("sky", True)}
#: what a run does when the region is not in the photo: stop with an error, or go on with an empty mask
MISSING = ("stop", "empty")
#: a region covering less than this share of the photo (probability > 0.5) counts as absent
MIN_AREA = 0.002
#: input side of the networks (square, as they were trained)
PERSON_SIDE = 160
EXTREMEC3_SIDE = 224        # the second portrait network scored best at its training side
SKY_SIDE = 160
#: guided-filter smoothness (on photos in [0, 1])
EPS = 1e-2


class RegionNotFound(OptionError):
    """The photo has no (or almost no) pixels of the requested automatic region; the message says
    so and names the option that lets the run go on with an empty mask."""

    def __init__(self, region: str, what: str):
        self.region, self.what = region, what
        super().__init__("missing_region", "")

    def render(self, name) -> str:
        found = {"person": "no person", "background": "no person", "sky": "no sky", "not-sky": "only sky"}
        return (f"found {found[self.region]} in {self.what} for {PREFIX}{self.region}: give a mask file instead, "
                f"or {name('missing_region')} empty to go on with an empty mask")


def known() -> str:
    return ", ".join(PREFIX + r for r in REGIONS)


def is_auto(src: Any) -> bool:
    """True for a named automatic region (`auto:...`), valid or not."""
    return isinstance(src, str) and src.strip().lower().startswith(PREFIX)


def region_of(src: Any, field: str = "mask") -> str:
    """The region name of an `auto:NAME` source; OptionError naming it and listing the known ones."""
    name = src.strip().lower()[len(PREFIX):] if is_auto(src) else str(src).strip().lower()
    if name not in REGIONS:
        raise OptionError(field, f"'{src}' is not an automatic region: choose one of {known()}")
    return name


# ----------------------------------------------------------------------------- networks

@lru_cache(maxsize=None)
def person_network(name: str = "sinet-portrait", path: Optional[str] = None) -> torch.nn.Module:
    """The portrait network (sha256-checked, loaded as a plain state dict: no code runs)."""
    from .. import weights
    from .portrait import ExtremeC3, SINet
    p = weights.resolve(name, path)
    try:
        sd = torch.load(p, map_location="cpu", weights_only=True)
        net = (SINet() if name.startswith("sinet") else ExtremeC3())
        net.load_state_dict(sd)
    except (RuntimeError, KeyError, EOFError, OSError) as e:
        raise InputError(f"weights file '{p}' for '{name}' could not be read ({e})") from None
    return net.eval().requires_grad_(False)


@lru_cache(maxsize=None)
def sky_network() -> torch.nn.Module:
    """The sky U^2-Net-P, read from its ncnn files (sha256-checked) into a PyTorch module."""
    from .. import weights
    from . import ncnn
    layers = ncnn.read_param(weights.resolve("sky-u2netp-param"))
    return ncnn.Graph(layers, ncnn.read_bin(weights.resolve("sky-u2netp-bin"), layers), "1959", 384).eval()


_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def _small(photo: torch.Tensor, side: int) -> torch.Tensor:
    """A side x side float copy in [0, 1] (antialiased; aspect not kept, as the networks were trained)."""
    if photo.dtype == torch.uint8:
        import numpy as np
        from PIL import Image
        hwc = np.ascontiguousarray(photo[0].permute(1, 2, 0).numpy())
        im = Image.fromarray(hwc).resize((side, side), Image.BILINEAR, reducing_gap=3.0)
        return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)[None].float().div_(255)
    return F.interpolate(photo.float(), size=(side, side), mode="bilinear", antialias=True,
                         align_corners=False).clamp_(0, 1)


@torch.inference_mode()
def probability(photo: torch.Tensor, network: str, side: Optional[int] = None) -> torch.Tensor:
    """The network's low-resolution probability (1, 1, side, side) of "person" or "sky"."""
    _check_photo(photo)
    if network == "person":
        # SINet and ExtremeC3, each averaged with its mirror image: alone, each misses soft hair and a
        # feather boa (IoU 0.88-0.90 on two of the four portraits); together every portrait is >= 0.91
        s = side or PERSON_SIDE
        pair = [(person_network("sinet-portrait"), s), (person_network("extremec3-portrait"), EXTREMEC3_SIDE)]
        probs = [F.interpolate(_mirrored(net, _small(photo, n)), size=(s, s), mode="bilinear", align_corners=False)
                 for net, n in pair]
        return (sum(probs) / len(probs)).clamp_(0, 1)
    if network == "sky":
        mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in _IMAGENET)
        s = side or SKY_SIDE
        if s % 32:
            raise OptionError("side", f"of the sky network must be a multiple of 32, not {s}")
        return sky_network()((_small(photo, s) - mean) / std).clamp_(0, 1)
    raise ValueError(f"unknown network {network!r}")


def _mirrored(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A portrait network's person probability, averaged with that of the mirrored photo."""
    from .portrait import normalise
    both = net(normalise(torch.cat([x, x.flip(-1)])))
    p = net.person_probability(both)
    return 0.5 * (p[:1] + p[1:].flip(-1))


def _check_photo(photo: Any) -> None:
    if not isinstance(photo, torch.Tensor) or photo.dim() != 4 or photo.shape[:2] != (1, 3):
        raise InputError("an automatic mask needs the photo as a (1, 3, H, W) tensor")


# ----------------------------------------------------------------------------- masks

_cache: dict = {}


def _key(photo: torch.Tensor, *rest) -> tuple:
    return (photo.data_ptr(), tuple(photo.shape), photo.dtype, photo._version, *rest)


def region_mask(photo: torch.Tensor, region: str, feather: float = 0.0, missing: str = "stop",
                what: str = "the photo", field: Optional[str] = None, radius: Optional[int] = None,
                side: Optional[int] = None) -> torch.Tensor:
    """The soft mask (1, 1, H, W) in [0, 1] of `region` ("person", "background", "sky", "not-sky"
    or "auto:..."), at the size of `photo` ((1, 3, H, W), uint8 or float in [0, 1]); edges refined
    with a guided filter guided by the photo, then feathered by `feather` px. When the region is
    absent: RegionNotFound (`missing="stop"`) or an empty mask (`missing="empty"`). One frame of a
    video is one call: the function keeps no state between frames (beyond a cache of the last photo)."""
    from . import refine as rf
    region = region_of(region, field or "mask")
    if missing not in MISSING:
        raise OptionError("missing_region", f"must be one of {', '.join(MISSING)}, not {missing!r}")
    if feather < 0:
        raise OptionError("mask_feather", f"must be 0 or more px, not {feather}")
    network, invert = REGIONS[region]
    key = _key(photo, network, float(feather), radius, side)
    soft = _cache.get(key)
    if soft is None:
        prob = probability(photo, network, side)
        low = prob.shape[-1]
        soft = rf.refine(prob, photo, radius=radius, eps=EPS, feather=feather, low_side=low)
        _cache.clear()
        _cache[key] = soft
    area = float((soft > 0.5).float().mean())        # share of the network's region (person or sky)
    absent = area > 1 - MIN_AREA if (invert and network == "sky") else area < MIN_AREA
    if absent:
        if missing == "stop":
            raise RegionNotFound(region, what)
        soft = torch.full_like(soft, float(area > 0.5))   # the network's region: none (or all)
    return 1 - soft if invert else soft.clone()


def frame_masks(frames: Iterable[torch.Tensor], region: str, **options) -> Iterator[torch.Tensor]:
    """`region_mask` of each frame (unstabilised: the temporal layer smooths them over time)."""
    for f in frames:
        yield region_mask(f, region, **options)


def mask(photo: Any, what: str, size: Optional[int] = None, feather: float = 0.0,
         missing: str = "stop") -> torch.Tensor:
    """The mask (1, 1, H, W) in [0, 1] of region `what` (person, background, sky, not-sky; the
    `auto:` prefix is optional) of any image source (path, PIL image, array, tensor), at the
    photo's size or `size` px on the long side. The photo is decoded as uint8 (a 24 MP photo
    costs 72 MB) and the networks see a reduced copy."""
    from .. import images
    region = region_of(what, "what")
    label = images.label(photo, "photo")
    if size is not None:
        w, h = images.image_size(photo, "photo")
        images.check_min_size((w, h), label)
        t = images.load_uint8(photo, "photo", images.fit_size(h, w, size))
    else:
        t = images.load_uint8(photo, "photo")
    return region_mask(t, region, feather, missing, what=label, field="what")


def save_mask(m: torch.Tensor, path: Any) -> Any:
    """Write a (1, 1, H, W) mask as an 8-bit grey image, atomically (white = the region)."""
    import numpy as np
    from PIL import Image
    from .. import images
    a = (m[0, 0] * 255 + 0.5).clamp_(0, 255).to(torch.uint8).numpy()
    return images.save_image(Image.fromarray(np.ascontiguousarray(a), mode="L"), path)


def load_mask(src: Any, photo: torch.Tensor, size: tuple[int, int], what: str = "mask", field: str = "mask",
              feather: float = 0.0, missing: str = "stop") -> torch.Tensor:
    """Any mask source at `size` = (h, w): an `auto:` region of `photo` (already at that size),
    else a file or tensor (`images.load_mask`)."""
    from .. import images
    if is_auto(src):
        if tuple(photo.shape[-2:]) != tuple(size):
            raise ValueError("the photo must be at the mask's size")
        return region_mask(photo, src, feather, missing, what="the content image", field=field)
    return images.load_mask(src, size, what)
