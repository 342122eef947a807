"""AdaIN and WCT on tiles (print size in bounded memory): their statistics are those of the
encoder features, so the content's and each style's are accumulated over the tiles in one
encoder pass (`painterly.tiling.Moments`, and WCT's covariance here), then each tile is
transformed and decoded and the tiles are blended (`painterly.tiling.blend_tiles`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Optional

import torch
import torch.nn as nn

from ...tiling import Moments, Progress, blend_tiles, core_slice, read_tile, tile_grid


class _Covariance:
    """Sums of features and of their outer products (float64) over positions."""

    def __init__(self):
        self.s: Optional[torch.Tensor] = None
        self.q: Optional[torch.Tensor] = None
        self.n = 0

    def add(self, f: torch.Tensor) -> None:
        f = f[0].reshape(f.shape[1], -1)
        s = torch.zeros(f.shape[0], dtype=torch.float64)
        q = torch.zeros(f.shape[0], f.shape[0], dtype=torch.float64)
        for j in range(0, f.shape[1], 16384):        # bounded float64 copies
            c = f[:, j:j + 16384].double().cpu()
            s += c.sum(dim=1)
            q += c @ c.T
        self.s = s if self.s is None else self.s + s
        self.q = q if self.q is None else self.q + q
        self.n += f.shape[1]


def _feature_stats(kind: str, enc: nn.Module, level: str, img: torch.Tensor, tile: int, halo: int,
                   device: str, progress: Optional[Progress], what: str):
    """Whole-image statistics of the encoder's `level` features, accumulated over tiles:
    AdaIN (mean, std) as `transforms.mean_std`; WCT (mean, covariance) as `transforms.covariance`."""
    from .transforms import EPS
    h, w = img.shape[-2:]
    acc = Moments() if kind == "adain" else _Covariance()
    grid = tile_grid(h, w, tile, halo)
    for i, (ys, xs) in enumerate(grid):
        f = enc(read_tile(img, ys, xs).to(device))[level]
        acc.add(f[..., core_slice(ys, h, f.shape[-2]), core_slice(xs, w, f.shape[-1])])
        if progress:
            progress(i + 1, len(grid), what)
    if kind == "adain":
        mu, var = acc.mean_var()
        return mu.view(1, -1, 1, 1).to(device), (var + EPS).sqrt().view(1, -1, 1, 1).to(device)
    mu = (acc.s / acc.n)[:, None]
    cov = (acc.q - acc.n * mu @ mu.T) / max(1, acc.n - 1)
    return mu.to(device), cov.to(device)


@torch.inference_mode()
def arbitrary_tiled(kind: str, content: torch.Tensor, styles: Sequence[torch.Tensor], options,
                    style_blend: Optional[Sequence[float]] = None, tile: int = 1024, halo: int = 64,
                    progress: Optional[Progress] = None) -> tuple[torch.Tensor, dict]:
    """AdaIN/WCT of a uint8 or float (1, 3, H, W) `content` tile by tile: the content's and each
    style's feature statistics are accumulated over tiles, then each tile is transformed and
    decoded; WCT's levels run one after another on the blended image. Same result as
    `arbitrary.run` up to padding effects; `styles` are at the size to use (uint8 or float)."""
    from ...losses import blend_weights
    from . import transforms
    from .pairs import encoder, load_decoder
    from .stylize import default_decoders
    options.validate()
    dev = options.device
    t0 = time.perf_counter()
    weights = blend_weights(style_blend, len(styles))
    total_w = sum(weights)
    x, used = content, []
    for spec in list(options.decoders or default_decoders(kind)):
        d = load_decoder(spec, dev)
        enc = encoder(d.encoder, (d.level,), dev)
        cstats = _feature_stats(kind, enc, d.level, x, tile, halo, dev, progress, f"{d.level} content statistics")
        sstats = [_feature_stats(kind, enc, d.level, s, tile, halo, dev, progress, f"{d.level} style statistics")
                  for s in styles]
        maps = [transforms.stats_map(kind, cstats, ss) for ss in sstats]

        def one(tile_img: torch.Tensor, enc=enc, d=d, maps=maps) -> torch.Tensor:
            fc = enc(tile_img)[d.level]
            t = sum((wi / total_w) * transforms.apply_map(m, fc) for wi, m in zip(weights, maps))
            t = options.alpha * t + (1 - options.alpha) * fc
            return d.decoder(t)[..., : tile_img.shape[-2], : tile_img.shape[-1]].clamp(0, 1)

        stride = 2 ** (int(d.level[4]) - 1)
        h, w = x.shape[-2:]
        x = blend_tiles(one, x, (h // stride * stride, w // stride * stride), tile, halo, dev, progress,
                        f"{d.level} tiles")
        used.append({"level": d.level, "encoder": d.encoder})
    h, w = content.shape[-2:]
    return x.clamp_(0, 1), {"levels": used, "alpha": options.alpha, "tile": tile, "halo": halo,
                            "tiles": len(tile_grid(h, w, tile, halo)), "stats": "exact",
                            "seconds": time.perf_counter() - t0}
