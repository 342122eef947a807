"""Registration of a trained feed-forward style (Johnson et al.), and of Magenta's 26 trained styles
(and styles learned for that network by train-style --fast), which `--model` names too."""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path
from typing import Optional

from ...options import OptionError
from ..base import Method, ModelInfo, Output, Run, network_method, register
from .options import ModelOptions


@lru_cache(maxsize=8)
def _cached(name: str, device: str):
    from .model import load_model
    return load_model(name, device)


def _preset_names(o: ModelOptions) -> Optional[list[str]]:
    """The Magenta style names `--model` gives (comma-separated), or None for a feed-forward model file or name."""
    from ..magenta import presets
    names = [n.strip() for n in str(o.model).split(",") if n.strip()]
    return names if names and all(presets.is_preset(n) for n in names) else None


def _feedforward(r: Run, o: ModelOptions):
    """The feed-forward style model `--model` names (blends are Magenta's only)."""
    if r.style_blend is not None:
        raise OptionError("style_blend", "with {model} blends Magenta styles: give comma-separated names from "
                                         "painterly models", refs=("model",))
    if not Path(str(o.model)).is_file() and str(o.model) not in {m.name for m in models()}:
        raise OptionError("model", f"'{o.model}' is neither a file nor a shipped style: use one of "
                                   f"{', '.join(m.name for m in models())} (painterly models describes them)")
    return _cached(str(o.model), r.device)


def _run(r: Run) -> Output:
    o = r.options
    names = _preset_names(o)
    if names:
        # Magenta's 26-style network (or a style learned for it by train-style --fast): a style is a
        # gamma/beta row, so a blend of names is one pass with the rows mixed.
        from ..magenta.stylize import run_preset
        out, info = run_preset(r.content, names, r.style_blend, r.device)
        return Output(out, info={**info, "options": {"model": str(o.model)}})
    from .model import apply
    sm = _feedforward(r, o)
    t0 = time.perf_counter()
    out = apply(sm.net, r.content, r.device)
    return Output(out, info={"model": sm.name, "seconds": time.perf_counter() - t0, "options": {"model": str(o.model)}})


def _network(r: Run):
    """The network `_run` would apply, as an x -> y module for tiled runs (`network_method`)."""
    o = r.options
    names = _preset_names(o)
    if names:
        from ...tiling import Bound
        from ..magenta.files import load
        from ..magenta.presets import preset_params
        net = load("magenta-26styles").to(r.device)
        return Bound(net, params=preset_params(names, r.style_blend).to(r.device), multiple=4), {"model": "+".join(names)}
    sm = _feedforward(r, o)
    return sm.net, {"model": sm.name}


def models() -> list[ModelInfo]:
    """The shipped trained styles, with how each was made: painterly's own feed-forward networks,
    styles learned by train-style --fast, and the 26 of Magenta's multi-style network."""
    from ..magenta import presets
    from .model import zoo_dir
    own = [_info(str(p), p.stat().st_mtime) for p in sorted(zoo_dir().glob("*.pt"))]
    fast = [_fast_info(str(p), p.stat().st_mtime) for p in presets.learned().values()]
    m26 = [ModelInfo(n, f"Magenta 26-style network, style {i} (Dumoulin et al. 2017, GPU-trained; Apache-2.0)")
           for i, n in enumerate(presets.NAMES)]
    return own + fast + m26


@lru_cache(maxsize=64)
def _info(path: str, mtime: float) -> ModelInfo:
    from .model import load_model
    m = load_model(path)
    meta = m.meta
    return ModelInfo(Path(path).stem, f"style {meta.get('style', '?')}; {meta.get('steps', '?')} steps on "
                             f"{meta.get('photos', '?')} photos, {meta.get('seconds', 0) / 60:.0f} min on "
                             f"{meta.get('device', '?')}", meta)


@lru_cache(maxsize=64)
def _fast_info(path: str, mtime: float) -> ModelInfo:
    from ..magenta import presets
    meta = presets.load_style(path, 990)[1]
    cpu = meta.get("cpu_seconds")
    return ModelInfo(Path(path).stem, f"style {meta.get('style', '?')}; gamma/beta for Magenta's 26-style network "
                             f"(fast-trained), {meta.get('steps', '?')} steps"
                             + (f", {cpu / 60:.1f} CPU-min" if cpu else ""), meta)


def _bench(device: str):
    """The shipped starry_night style if present, else an untrained network of the same shape
    (inference time does not depend on the weights)."""
    from .model import apply, load_model, zoo_dir
    from .network import TransformerNet
    p = zoo_dir() / "starry_night.pt"
    net, label = (load_model(p).net, "starry_night") if p.exists() else (TransformerNet(16, 5).eval(), "untrained 16/5")
    return label, lambda c, s: apply(net, c, device)


@register
def model() -> Method:
    return Method(
        name="model", title="A trained style, instant (Johnson)", paper="Johnson, Alahi & Fei-Fei 2016",
        description="Paints in one style learned in advance: under a second",
        options=ModelOptions, run=_run, needs_style=False, needs_model=True,
        supports=frozenset({"mask", "blend", "strength", "preserve_colors"}), memory=lambda h, w, o: h * w * 16 * 4 * 8,
        models=models, network=lambda model: _cached(model, "cpu").net, bench=_bench, tiled=network_method(_network))
