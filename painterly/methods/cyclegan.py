"""Room: one direction of a trained CycleGAN. Networks, files and training live in `painterly.cyclegan`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from ..options import OptionError, check_fields, opt
from ..tiling import network_method
from . import Method, Output, Run, register

DIRECTIONS = ("a2b", "b2a")


@dataclass
class TranslateOptions:
    """Which CycleGAN generator translates the photo."""

    model: Optional[str] = opt(None, help="a train-cyclegan folder, a G_*.pt file, or a reference CycleGAN "
                                          "generator state dict")
    direction: str = opt("a2b", choices=DIRECTIONS, help="domain A to B, or B to A")

    def validate(self) -> None:
        if not self.model:
            raise OptionError("model", "is needed: a train-cyclegan folder or generator file")
        check_fields(self)


@lru_cache(maxsize=8)
def _cached(model: str, direction: str, device: str):
    from ..cyclegan import load_generator
    return load_generator(model, direction, device)


def _run(r: Run, o: TranslateOptions) -> Output:
    from ..cyclegan import translate
    g, _ = _cached(str(o.model), o.direction, r.device)
    t0 = time.perf_counter()
    out = translate(g, r.content, r.device)
    return Output(out, info={"model": f"{o.model} ({o.direction})", "seconds": time.perf_counter() - t0,
                             "options": {"model": str(o.model), "direction": o.direction}})


def _bench(device: str):
    from ..cyclegan import DnCNNGenerator, translate
    gen = DnCNNGenerator(6, 64).eval()
    return "DnCNN 6x64", lambda c, s: translate(gen, c, device)


register(Method(
    name="cyclegan", title="Photo to painter, learnt from two folders (CycleGAN)", paper="Zhu et al. 2017",
    description="a generator trained on unpaired photos and paintings (painterly train-cyclegan / translate)",
    options=TranslateOptions, run=_run, needs_style=False, needs_model=True,
    supports=frozenset({"mask", "strength", "preserve_colors"}), memory=lambda h, w, o: h * w * 64 * 4 * 8,
    models=lambda: [], bench=_bench,
    tiled=network_method(lambda r, o: (_cached(str(o.model), o.direction, r.device)[0],
                                       {"model": f"{o.model} ({o.direction})"}), halo=96)))
