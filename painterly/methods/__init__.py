"""The method registry: every way painterly can repaint a photo, declared once.

Each family is one package, `painterly/methods/<family>/`:

    options.py   its options dataclasses (frozen; they import nothing of the family)
    method.py    its registration: `@register def name() -> Method` (heavy code imported only when run)
    ...          the engine (`stylize.py`, networks), the tiled runner, the trainer

The pipeline, the CLI, the web page, the HTTP API, the benchmarks and the experiments iterate over
`all_methods()`; nothing outside the registry compares method names.

Adding a method: copy `painterly/methods/_template/` to `painterly/methods/<family>/` and add the
family to `FAMILIES` (painterly.methods.base), which orders the listings.
"""

from __future__ import annotations

import importlib
import threading
from typing import Optional

from ..errors import InputError
from .base import (FAMILIES, SUPPORTS, Method, ModelInfo, Output, Run, Runner, Tiled, network_method, register,
                   unregister)
from .base import _REGISTRY, _ORDER

_loaded = False
_load_lock = threading.RLock()    # web servers ask from several threads at once


def _load() -> None:
    """Import every family once; a second thread waits until all are registered (never a partial list)."""
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if not _loaded:
            for family in FAMILIES:
                importlib.import_module(f"{__name__}.{family}.method")
            _loaded = True


def all_methods() -> list[Method]:
    """Every registered method users see, in FAMILIES order (families may be imported in any order)."""
    _load()
    return sorted((m for m in _REGISTRY.values() if not m.hidden), key=lambda m: _ORDER[m.name])


def names() -> list[str]:
    return [m.name for m in all_methods()]


def get(name: str) -> Method:
    """The method called `name`; InputError listing the known ones otherwise."""
    _load()
    if name not in _REGISTRY:
        raise InputError(f"unknown method '{name}': use one of {', '.join(names())}")
    return _REGISTRY[name]


def default_for(model: Optional[str]) -> str:
    """The method a run uses when none is named: the first that takes a model when one is given
    (feed-forward styles), else the first method (Gatys)."""
    ms = all_methods()
    if model:
        return next(m.name for m in ms if m.needs_model)
    return ms[0].name


__all__ = ["FAMILIES", "Method", "ModelInfo", "Output", "Run", "Runner", "SUPPORTS", "Tiled", "all_methods",
           "default_for", "get", "names", "network_method", "register", "unregister"]
