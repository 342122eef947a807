"""Registration of one direction of a trained CycleGAN; networks (`networks.py`), files (`model.py`)
and training (`train.py`) live beside it."""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

from ..base import Method, ModelInfo, Output, Run, network_method, register
from .options import TranslateOptions


@lru_cache(maxsize=8)
def _cached(model: str, direction: str, device: str):
    from .model import load_generator
    return load_generator(model, direction, device)


def _run(r: Run) -> Output:
    from .model import translate
    o = r.options
    g, _ = _cached(str(o.model), o.direction, r.device)
    t0 = time.perf_counter()
    out = translate(g, r.content, r.device)
    return Output(out, info={"model": f"{o.model} ({o.direction})", "seconds": time.perf_counter() - t0,
                             "options": {"model": str(o.model), "direction": o.direction}})


@lru_cache(maxsize=8)
def _describe(path: str, mtime: float) -> ModelInfo:
    from .model import load_meta
    meta = load_meta(path)
    cpu = meta.get("cpu_seconds") or meta.get("seconds", 0)
    trained = meta.get("how") or (f"trained on {meta.get('trained_on', '?')}; {meta.get('steps', '?')} steps, "
                                  f"{cpu / 60:.0f} CPU-min on {meta.get('device', '?')}")
    desc = f"{meta.get('title', 'photo -> paintings')}; {trained}; data: {meta.get('data_licence', '?')}"
    return ModelInfo(Path(path).stem, desc, meta)


def models() -> list[ModelInfo]:
    """The shipped generators (photo -> painter), with what they were trained on and for how long."""
    from .model import shipped
    return [_describe(str(p), p.stat().st_mtime) for p in shipped().values()]


def _bench(device: str):
    """The shipped van Gogh generator if present, else an untrained DnCNN of the source's shape."""
    from .model import load_generator, shipped, translate
    from .networks import DnCNNGenerator
    if "vangogh" in shipped():
        gen, meta = load_generator("vangogh", device=device)
        label = f"vangogh ({meta['options']['generator']})"
    else:
        gen, label = DnCNNGenerator(6, 64).eval().to(device), "untrained DnCNN 6x64"
    return label, lambda c, s: translate(gen, c, device)


@register
def cyclegan() -> Method:
    return Method(
        name="cyclegan", title="Photo to painter, learnt from two folders (CycleGAN)", paper="Zhu et al. 2017",
        description="Turns photos into one painter's look, learned from examples: about a second",
        options=TranslateOptions, run=_run, needs_style=False, needs_model=True,
        supports=frozenset({"mask", "strength", "preserve_colors"}), memory=lambda h, w, o: h * w * 64 * 4 * 8,
        models=models, network=lambda model: _cached(model, "a2b", "cpu")[0], bench=_bench,
        tiled=network_method(lambda r: (_cached(str(r.options.model), r.options.direction, r.device)[0],
                                        {"model": f"{r.options.model} ({r.options.direction})"}), halo=96))
