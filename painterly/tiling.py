"""Print size in bounded memory: run a one-pass network on overlapping tiles and blend them.

A convolutional network is local except for its normalisation layers, so a tile with a halo as
wide as the receptive field gives the same pixels as the whole image *if* every normalisation
uses the statistics of the whole image. This module makes that so without touching the network:

- every `nn.InstanceNorm2d` (feed-forward styles, CycleGAN's ResNet generator, conditional
  instance norm written as IN + γ/β) is swapped, for the tiled run, for a frozen-statistics
  version. The statistics come from either
  * ``stats="reduced"``: one pass of the whole network on the image at a reduced size (cheap:
    one small extra pass), or
  * ``stats="exact"``: accumulated over the tiles layer by layer (pass k runs the tiles up to
    norm layer k with layers < k frozen): the tiled output then equals the whole one up to
    padding effects, at about (number of norm layers / 2) forward passes more.
- a method whose statistics are not instance norms (AdaIN/WCT: of its encoder's features) builds
  its own tiled runner from the pieces here (`Moments`, `tile_grid`, `core_slice`, `blend_tiles`).

Tiles: core regions partition the image (boundaries on a multiple of `ALIGN`, so each tile's
feature maps line up with the whole image's); each tile adds a `halo` on every inner side;
outputs are blended with linear ramps over the middle of the overlap whose weights sum to one.
Images travel as uint8 or float32 (1, 3, H, W) tensors; only tiles are converted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from .options import OptionError

#: Tile origins and core boundaries are multiples of this (the largest total stride of the
#: networks here is 8), so the feature grid of every tile is a slice of the whole image's.
ALIGN = 16
STATS = ("reduced", "exact")
#: Default long side of the reduced-size statistics pass.
REDUCED_SIDE = 1024

#: progress callback: (step done, steps in all, what) -> None
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Span:
    """One tile along one axis: it reads [start, end) and owns [core_start, core_end)."""

    start: int
    end: int
    core_start: int
    core_end: int


def spans(n: int, tile: int, halo: int, align: int = ALIGN) -> list[Span]:
    """Tiles of at most `tile` px (halo included) covering [0, n); cores partition [0, n)."""
    halo = math.ceil(halo / align) * align
    core = max(align, (tile - 2 * halo) // align * align)
    k = max(1, math.ceil(n / core))
    bounds = sorted({0, n, *(min(n, round(i * n / k / align) * align) for i in range(1, k))})
    return [Span(max(0, a - halo), min(n, b + halo), a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def ramp(s: Span, n: int, feather: int) -> torch.Tensor:
    """Blend weights along one axis for tile `s`: 1 in the core, linear ramps of width
    2·`feather` centred on inner core boundaries; neighbours' ramps sum to exactly one."""
    p = torch.arange(s.start, s.end, dtype=torch.float32) + 0.5
    w = torch.ones_like(p)
    if s.core_start > 0:
        w = w * ((p - (s.core_start - feather)) / (2 * feather)).clamp(0, 1)
    if s.core_end < n:
        w = w * (((s.core_end + feather) - p) / (2 * feather)).clamp(0, 1)
    return w


def core_slice(s: Span, n: int, feat_len: int) -> slice:
    """The part of a tile's feature map (length `feat_len`) that its core owns, at any stride."""
    scale = 2.0 ** round(math.log2(feat_len / (s.end - s.start)))
    a = 0 if s.core_start == 0 else int(round((s.core_start - s.start) * scale))
    b = feat_len if s.core_end == n else int(round((s.core_end - s.start) * scale))
    return slice(a, b)


def read_tile(img: torch.Tensor, ys: Span, xs: Span) -> torch.Tensor:
    """float32 [0, 1] copy of one tile of a uint8 or float (1, 3, H, W) image."""
    t = img[..., ys.start:ys.end, xs.start:xs.end]
    return t.float().div_(255.0) if t.dtype == torch.uint8 else t.float().clone()


def tile_grid(h: int, w: int, tile: int, halo: int) -> list[tuple[Span, Span]]:
    return [(ys, xs) for ys in spans(h, tile, halo) for xs in spans(w, tile, halo)]


# ----------------------------------------------------------------------------- frozen instance norm

def norm_layers(net: nn.Module) -> list[nn.Module]:
    """The instance-norm layers whose statistics depend on the image (not running statistics)."""
    return [m for m in net.modules() if isinstance(m, nn.InstanceNorm2d)
            and not (m.track_running_stats and m.running_mean is not None and not m.training)]


class _Stop(Exception):
    """Ends a statistics pass after the layer being measured."""


class Moments:
    """Per-channel sums over positions, float64: mean and (biased) variance of the whole image
    (instance norms here; a method's own feature statistics, e.g. AdaIN's, on tiles)."""

    def __init__(self):
        self.s: Optional[torch.Tensor] = None
        self.q: Optional[torch.Tensor] = None
        self.n = 0

    def add(self, x: torch.Tensor) -> None:
        x = x.double()
        s, q = x.sum(dim=(0, 2, 3)), (x * x).sum(dim=(0, 2, 3))
        self.s = s if self.s is None else self.s + s
        self.q = q if self.q is None else self.q + q
        self.n += x.shape[0] * x.shape[2] * x.shape[3]

    def mean_var(self) -> tuple[torch.Tensor, torch.Tensor]:
        mu = self.s / max(1, self.n)
        return mu.float(), (self.q / max(1, self.n) - mu * mu).clamp_min(0).float()


class FrozenNorms:
    """Swaps the forward of every image-dependent InstanceNorm2d of `net` while active.

    mode "record": normal instance norm, and the statistics of each call are kept;
    mode "measure": layers before `target` are frozen, layer `target` adds the tile core's
    sums, then the pass stops; mode "frozen": every layer uses its kept statistics.
    """

    def __init__(self, net: nn.Module):
        self.layers = norm_layers(net)
        self.order: list[nn.Module] = []          # call order, learnt in the first recorded pass
        self.stats: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.mode, self.target = "frozen", -1
        self.core: Optional[tuple[Span, Span, int, int]] = None
        self.moments = Moments()

    @contextmanager
    def active(self):
        for m in self.layers:
            m.forward = (lambda x, m=m: self._forward(m, x))   # instance attribute shadows the class's
        try:
            yield self
        finally:
            for m in self.layers:
                del m.forward

    def _forward(self, m: nn.InstanceNorm2d, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "record":
            if m not in self.order:
                self.order.append(m)
            var, mu = torch.var_mean(x.double(), dim=(0, 2, 3), unbiased=False)
            self.stats[id(m)] = (mu.float(), var.float())
            return self._frozen(m, x)
        if self.mode == "measure" and m is self.order[self.target]:
            ys, xs, h, w = self.core
            self.moments.add(x[..., core_slice(ys, h, x.shape[-2]), core_slice(xs, w, x.shape[-1])])
            raise _Stop
        return self._frozen(m, x)

    def _frozen(self, m: nn.InstanceNorm2d, x: torch.Tensor) -> torch.Tensor:
        mu, var = self.stats[id(m)]
        return F.batch_norm(x, mu.to(x), var.to(x), m.weight, m.bias, False, 0.0, m.eps)


# ----------------------------------------------------------------------------- generic networks

def downscale(img: torch.Tensor, long_side: int) -> torch.Tensor:
    """A reduced copy (float32, 1×3×h×w) made by PIL from uint8, or by torch from float."""
    h, w = img.shape[-2:]
    s = min(1.0, long_side / max(h, w))
    size = (max(1, round(h * s)), max(1, round(w * s)))
    if size == (h, w):
        return to_float(img)
    if img.dtype == torch.uint8:
        pil = Image.fromarray(img[0].permute(1, 2, 0).numpy())
        small = pil.resize((size[1], size[0]), Image.BICUBIC, reducing_gap=3.0)
        del pil
        return torch.from_numpy(np.asarray(small, dtype=np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)
    return F.interpolate(img.float(), size=size, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def norm_statistics(net: nn.Module, img: torch.Tensor, stats: str = "reduced", tile: int = 1024, halo: int = 64,
                    reduced: int = REDUCED_SIDE, device: str = "cpu",
                    progress: Optional[Progress] = None) -> FrozenNorms:
    """Whole-image statistics of every instance norm of `net` for image `img` (see module doc)."""
    if stats not in STATS:
        raise OptionError("tile_stats", f"must be one of {', '.join(STATS)}, got '{stats}'")
    frozen = FrozenNorms(net)
    h, w = img.shape[-2:]
    if not frozen.layers:           # nothing image-dependent (e.g. batch norm in eval mode): no pass
        return frozen
    with frozen.active():
        frozen.mode = "record"
        side = reduced if stats == "reduced" else min(256, max(h, w))
        net(downscale(img, side).to(device))      # call order (+ the reduced-size statistics)
        if stats == "exact" and frozen.order:
            grid = tile_grid(h, w, tile, halo)
            total = len(frozen.order) * len(grid)
            frozen.mode = "measure"
            for k, layer in enumerate(frozen.order):
                frozen.target, frozen.moments = k, Moments()
                for i, (ys, xs) in enumerate(grid):
                    frozen.core = (ys, xs, h, w)
                    try:
                        net(read_tile(img, ys, xs).to(device))
                    except _Stop:
                        pass
                    if progress:
                        progress(k * len(grid) + i + 1, total, "statistics")
                frozen.stats[id(layer)] = frozen.moments.mean_var()
    frozen.mode = "frozen"
    return frozen


def blend_tiles(fn: Callable[[torch.Tensor], torch.Tensor], img: torch.Tensor, out_hw: tuple[int, int],
                tile: int, halo: int, device: str = "cpu", progress: Optional[Progress] = None,
                what: str = "tiles") -> torch.Tensor:
    """Run `fn` (float tile -> float tile of the same origin) over the tiles of `img` and blend the
    results with feathered weights into a float32 (1, 3, *out_hw) image on the CPU."""
    h, w = img.shape[-2:]
    oh, ow = out_hw
    out = torch.zeros(1, 3, oh, ow)
    grid = tile_grid(h, w, tile, halo)
    feather = max(1, math.ceil(halo / ALIGN) * ALIGN // 4)   # blend only where 3/4 of the halo is context
    for i, (ys, xs) in enumerate(grid):
        y = fn(read_tile(img, ys, xs).to(device)).float().cpu()
        th, tw = min(y.shape[-2], oh - ys.start), min(y.shape[-1], ow - xs.start)
        wgt = ramp(ys, h, feather)[:th, None] * ramp(xs, w, feather)[None, :tw]
        out[..., ys.start:ys.start + th, xs.start:xs.start + tw] += y[..., :th, :tw] * wgt
        if progress:
            progress(i + 1, len(grid), what)
    return out


@torch.inference_mode()
def run_tiled(net: nn.Module, img: torch.Tensor, tile: int = 1024, halo: int = 64, stats: str = "reduced",
              reduced: int = REDUCED_SIDE, device: str = "cpu",
              progress: Optional[Progress] = None) -> tuple[torch.Tensor, dict]:
    """Apply an image-to-image network (RGB [0, 1] -> RGB [0, 1], same size) to a uint8 or float
    (1, 3, H, W) image tile by tile, with whole-image instance-norm statistics; float32 result."""
    t0 = time.perf_counter()
    net = net.eval()
    frozen = norm_statistics(net, img, stats, tile, halo, reduced, device, progress)
    t1 = time.perf_counter()
    with frozen.active():
        out = blend_tiles(lambda x: net(x).clamp(0, 1), img, tuple(img.shape[-2:]), tile, halo, device, progress)
    h, w = img.shape[-2:]
    info = {"tile": tile, "halo": halo, "stats": stats, "norm_layers": len(frozen.layers),
            "tiles": len(tile_grid(h, w, tile, halo)), "stats_seconds": t1 - t0,
            "seconds": time.perf_counter() - t0}
    if stats == "reduced":
        info["reduced_side"] = reduced
    return out.clamp_(0, 1), info


def to_float(img: torch.Tensor) -> torch.Tensor:
    """A uint8 or float (1, 3, H, W) image as a float32 copy in [0, 1]."""
    return img.float().div_(255) if img.dtype == torch.uint8 else img.float().clone()


@torch.inference_mode()
def paste_in_bands(out: torch.Tensor, src: torch.Tensor, mask: torch.Tensor, band: int = 256) -> None:
    """out = mask * src + (1 - mask) * out, in place, a band of rows at a time (no whole-image temporaries)."""
    for r in range(0, out.shape[-2], band):
        ob, mb = out[..., r:r + band, :], mask[..., r:r + band, :].to(out)
        ob.mul_(1 - mb).add_(src[..., r:r + band, :] * mb)


# ----------------------------------------------------------------------------- methods on tiles

@dataclass(frozen=True)
class Tiles:
    """How a tiled run is cut: tile side, overlap per side, where norm statistics come from."""

    tile: int
    halo: int = 64
    stats: str = "reduced"
    progress: Optional[Progress] = None


class Bound(nn.Module):
    """`net(x, *args, **kwargs)` as an x -> y module (e.g. a style-conditioned network with its style
    vector bound), padded by reflection to a multiple of `multiple` and cropped back; `net` stays a
    submodule, so its instance norms are found and frozen like any other network's."""

    def __init__(self, net: nn.Module, *args, multiple: int = 1, **kwargs):
        super().__init__()
        self.net, self.args, self.kwargs, self.multiple = net, args, kwargs, multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = self.multiple
        if (-h) % m or (-w) % m:
            x = F.pad(x, (0, (-w) % m, 0, (-h) % m), mode="reflect")
        return self.net(x, *self.args, **self.kwargs)[..., :h, :w]


# ----------------------------------------------------------------------------- choosing a tile

def tile_for(bytes_per_pixel: float, budget: int, halo: int = 64) -> int:
    """The largest tile side (a multiple of ALIGN, at least 256) whose activations fit `budget`."""
    side = int(math.sqrt(max(1, budget) / bytes_per_pixel))
    return max(256, min(4096, side // ALIGN * ALIGN))
