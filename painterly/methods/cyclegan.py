"""Room: one direction of a trained CycleGAN. Networks, files and training live in `painterly.cyclegan`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

from ..options import OptionError, check_fields, opt
from ..tiling import network_method
from . import Method, ModelInfo, Output, Run, register

DIRECTIONS = ("a2b", "b2a")


@dataclass
class TranslateOptions:
    """Which CycleGAN generator translates the photo."""

    model: Optional[str] = opt(None, help="a shipped model (painterly models: vangogh), a train-cyclegan folder, "
                                          "a G_*.pt file, or a reference CycleGAN generator state dict")
    direction: str = opt("a2b", choices=DIRECTIONS, help="domain A to B, or B to A")

    def validate(self) -> None:
        if not self.model:
            raise OptionError("model", "is needed: a shipped model (painterly models), a train-cyclegan folder or a "
                                       "generator file")
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


@lru_cache(maxsize=8)
def _describe(path: str, mtime: float) -> ModelInfo:
    from ..cyclegan.model import load_meta
    meta = load_meta(path)
    cpu = meta.get("cpu_seconds") or meta.get("seconds", 0)
    desc = (f"{meta.get('title', 'photo -> paintings')}; trained on {meta.get('trained_on', '?')}; "
            f"{meta.get('steps', '?')} steps, {cpu / 60:.0f} CPU-min on {meta.get('device', '?')}; "
            f"data: {meta.get('data_licence', '?')}")
    return ModelInfo(Path(path).stem, desc, meta)


def models() -> list[ModelInfo]:
    """The shipped generators (photo -> painter), with what they were trained on and for how long."""
    from ..cyclegan.model import shipped
    return [_describe(str(p), p.stat().st_mtime) for p in shipped().values()]


def _bench(device: str):
    """The shipped van Gogh generator if present, else an untrained DnCNN of the source's shape."""
    from ..cyclegan import DnCNNGenerator, load_generator, translate
    from ..cyclegan.model import shipped
    if "vangogh" in shipped():
        gen, meta = load_generator("vangogh", device=device)
        label = f"vangogh (ResNet {meta['options']['channels']}/{meta['options']['blocks']})"
    else:
        gen, label = DnCNNGenerator(6, 64).eval().to(device), "untrained DnCNN 6x64"
    return label, lambda c, s: translate(gen, c, device)


register(Method(
    name="cyclegan", title="Photo to painter, learnt from two folders (CycleGAN)", paper="Zhu et al. 2017",
    description="Turns photos into one painter's look, learned from examples: about a second",
    options=TranslateOptions, run=_run, needs_style=False, needs_model=True,
    supports=frozenset({"mask", "strength", "preserve_colors"}), memory=lambda h, w, o: h * w * 64 * 4 * 8,
    models=models, network=lambda model: _cached(model, "a2b", "cpu")[0], bench=_bench,
    tiled=network_method(lambda r, o: (_cached(str(o.model), o.direction, r.device)[0],
                                       {"model": f"{o.model} ({o.direction})"}), halo=96)))
