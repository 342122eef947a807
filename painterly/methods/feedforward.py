"""Room: a trained feed-forward style (Johnson et al.). Networks and files live in `painterly.feedforward`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

from ..options import OptionError, check_fields, opt
from . import Method, ModelInfo, Output, Run, register


@dataclass
class ModelOptions:
    """Which trained network paints the photo."""

    model: Optional[str] = opt(None, help="a .pt file from train-style, or a name from `painterly models`")

    def validate(self) -> None:
        if not self.model:
            raise OptionError("model", "is needed: a file from painterly train-style or a name from painterly models")
        check_fields(self)


@lru_cache(maxsize=8)
def _cached(name: str, device: str):
    from ..feedforward import load_model
    return load_model(name, device)


def _run(r: Run, o: ModelOptions) -> Output:
    from ..feedforward import apply
    sm = _cached(str(o.model), r.device)
    t0 = time.perf_counter()
    out = apply(sm.net, r.content, r.device)
    return Output(out, info={"model": sm.name, "seconds": time.perf_counter() - t0, "options": {"model": str(o.model)}})


def models() -> list[ModelInfo]:
    """The shipped trained styles, with how each was made."""
    from ..feedforward.model import zoo_dir
    return [_info(str(p), p.stat().st_mtime) for p in sorted(zoo_dir().glob("*.pt"))]


@lru_cache(maxsize=64)
def _info(path: str, mtime: float) -> ModelInfo:
    from ..feedforward import load_model
    m = load_model(path)
    meta = m.meta
    return ModelInfo(Path(path).stem, f"style {meta.get('style', '?')}; {meta.get('steps', '?')} steps on "
                             f"{meta.get('photos', '?')} photos, {meta.get('seconds', 0) / 60:.0f} min on "
                             f"{meta.get('device', '?')}", meta)


def _bench(device: str):
    """The shipped starry_night style if present, else an untrained network of the same shape
    (inference time does not depend on the weights)."""
    from ..feedforward import TransformerNet, apply, load_model
    from ..feedforward.model import zoo_dir
    p = zoo_dir() / "starry_night.pt"
    net, label = (load_model(p).net, "starry_night") if p.exists() else (TransformerNet(16, 5).eval(), "untrained 16/5")
    return label, lambda c, s: apply(net, c, device)


register(Method(
    name="model", title="A trained style, instant (Johnson)", paper="Johnson, Alahi & Fei-Fei 2016",
    description="one pass through a network trained for one painting (painterly models lists them)",
    options=ModelOptions, run=_run, needs_style=False, needs_model=True,
    supports=frozenset({"mask", "strength", "preserve_colors"}), memory=lambda h, w, o: h * w * 16 * 4 * 8,
    models=models, bench=_bench))
