"""Colour-coded label maps (semantic regions) for region-to-region statistics matching.

A label map is an image whose flat colours name regions (sky, building, ...): the same colour
in the photo's map and the reference's map means the same kind of region. Maps drawn or saved
with anti-aliasing or JPEG compression carry thousands of in-between colours; `quantise` keeps
the distinct colours that cover a visible part of the map and gives every pixel the nearest one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import images
from .errors import InputError

#: A colour is its own label when it covers this fraction of the map and is this far (RGB, 0..255)
#: from every more frequent label colour; other colours join the nearest label.
MIN_FRACTION = 0.002
MIN_DISTANCE = 48.0


@dataclass(frozen=True)
class LabelMap:
    """Label ids (H, W) int64 at the size they are used, their colours, and where they came from."""

    ids: torch.Tensor
    palette: tuple[tuple[int, int, int], ...]
    source: str

    def fractions(self) -> list[float]:
        counts = torch.bincount(self.ids.reshape(-1), minlength=len(self.palette)).double()
        return (counts / counts.sum()).tolist()


def hex_colour(c: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*c)


def quantise(rgb: np.ndarray, min_fraction: float = MIN_FRACTION,
             min_distance: float = MIN_DISTANCE) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """(H, W, 3) uint8 -> (label ids (H, W), palette). Label colours are those of *flat* pixels (all
    eight neighbours the same colour: anti-aliased seams and compression noise have none) that cover
    `min_fraction` of them and lie `min_distance` from every more frequent one; every pixel then takes
    the nearest label colour."""
    code = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    flat = np.ones(code.shape, bool)
    if min(code.shape) >= 3:
        p = np.pad(code, 1, mode="edge")
        h, w = code.shape
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                flat &= p[dy:dy + h, dx:dx + w] == code
    pool = code[flat] if flat.any() else code.reshape(-1)
    vals, counts = np.unique(pool, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    palette: list[np.ndarray] = []
    for i in order:
        if counts[i] < min_fraction * len(pool) and palette:
            break
        c = np.array([vals[i] >> 16, (vals[i] >> 8) & 255, vals[i] & 255], np.float64)
        if all(np.linalg.norm(c - q) >= min_distance for q in palette):
            palette.append(c)
    pal = np.stack(palette)
    codes, inverse = np.unique(code.reshape(-1), return_inverse=True)
    colours = np.stack([codes >> 16, (codes >> 8) & 255, codes & 255], axis=1).astype(np.float64)
    nearest = np.argmin(((colours[:, None, :] - pal[None]) ** 2).sum(-1), axis=1)
    ids = nearest[inverse.reshape(-1)].reshape(code.shape)
    return ids, [tuple(int(v) for v in q) for q in pal]


def load(src: images.ImageLike, role: str, hw: tuple[int, int]) -> LabelMap:
    """Read a label map for an image used at `hw` (h, w): it must have that image's proportions
    (a label map is drawn on the photo itself); resized with nearest-neighbour, never blended."""
    label = images.label(src, role)
    img = images.load_image(src, role)                   # decoding, EXIF orientation, errors: as for photos
    rgb = (img[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    lh, lw = rgb.shape[:2]
    h, w = hw
    if abs(lw / lh - w / h) > 1.5 * max(1 / lh, 1 / lw, 1 / h, 1 / w) + 1e-3:
        raise InputError(f"{label} is {lw}x{lh}, which does not have the proportions of its photo "
                         f"({w}x{h} as used): a label map must be the size of the photo it labels")
    ids, palette = quantise(rgb)
    t = torch.from_numpy(ids.astype(np.int64))
    if (lh, lw) != (h, w):
        pil = Image.fromarray(ids.astype(np.uint8) if len(palette) < 256 else ids.astype(np.int32))
        t = torch.from_numpy(np.asarray(pil.resize((w, h), Image.NEAREST)).astype(np.int64))
    return LabelMap(t, tuple(palette), label)


def match(content: LabelMap, style: LabelMap, max_distance: float = MIN_DISTANCE) -> list[int]:
    """For each content label, the style label of the same colour (nearest within `max_distance`).
    A content label the reference lacks is an InputError naming its colour and share of the map."""
    out = []
    fr = content.fractions()
    for k, c in enumerate(content.palette):
        d = [float(np.linalg.norm(np.subtract(c, s))) for s in style.palette]
        j = int(np.argmin(d))
        if d[j] > max_distance:
            if fr[k] == 0:                       # vanished when resized: nothing to match
                out.append(-1)
                continue
            have = ", ".join(hex_colour(s) for s in style.palette)
            raise InputError(f"label colour {hex_colour(c)} covers {fr[k]:.1%} of {content.source} but is not in "
                             f"{style.source} (it has {have}): nothing is stylised; recolour that region to a "
                             "label the reference has, or add it to the reference's map")
        out.append(j)
    return out


def weights_at(ids: torch.Tensor, n: int, hw: tuple[int, int]) -> torch.Tensor:
    """(1, n, h, w) share of each label in each cell of an h×w grid over the map (area average)."""
    one_hot = F.one_hot(ids, n).permute(2, 0, 1).unsqueeze(0).float()
    if tuple(one_hot.shape[-2:]) == tuple(hw):
        return one_hot
    return F.adaptive_avg_pool2d(one_hot, hw) if all(a >= b for a, b in zip(one_hot.shape[-2:], hw)) else \
        F.interpolate(one_hot, size=hw, mode="bilinear", align_corners=False)


def pad_ids(ids: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """Label ids padded bottom/right by edge replication to (h, w) (the network pads images so)."""
    h, w = ids.shape
    if (h, w) == tuple(hw):
        return ids
    return F.pad(ids[None, None].float(), (0, hw[1] - w, 0, hw[0] - h), mode="replicate")[0, 0].long()


def for_style(style: Optional[LabelMap], order: list[int]) -> Optional[torch.Tensor]:
    """The style's label ids renumbered to the content's (labels the content lacks: -1, unused)."""
    if style is None:
        return None
    remap = torch.full((len(style.palette),), -1, dtype=torch.long)
    for k, j in enumerate(order):
        if j >= 0:
            remap[j] = k
    return remap[style.ids]
