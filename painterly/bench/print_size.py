"""`painterly bench print`: every method with a tiled runner at print size (6000x4000, 24 MP),
each run in a fresh process so that its peak RSS is its own: seconds and peak memory.

The photo is the bundled one cropped to 3:2 and upscaled by `--size` (a small photo made into a
print, as a user would). Methods that need a model use the first one they list, or the files
given as `models` ({method: [paths]}), e.g. untrained CycleGAN generators: time and memory do not
depend on the weights.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from .. import images, methods

#: The target of issue 17: a 24 MP output in at most this much memory.
TARGET_MB = 2048


def print_content(aspect: float = 1.5):
    """The bundled photo cropped to `aspect` (width / height; 3:2 like 6000x4000), as PIL."""
    from ..examples import CONTENT, bundled
    im = images.open_image(bundled(CONTENT), "content image")
    w, h = im.size
    cw, ch = (w, round(w / aspect)) if w / h < aspect else (round(h * aspect), h)
    top, left = (h - ch) // 2, (w - cw) // 2
    return im.crop((left, top, left + cw, top + ch))


def print_worker(method: str, size: int, stats: str, device: str, model: Optional[str] = None,
                 out_dir: Optional[str] = None) -> dict:
    """One print-size run through the pipeline on tiles, in this process: decode, upscale,
    stylise, encode a JPEG; seconds per phase and this process's peak RSS."""
    from ..examples import STYLE, bundled
    from ..pipeline import run_stylize
    t0 = time.perf_counter()
    m = methods.get(method)
    values = {"model": model} if m.needs_model else {}
    styles = [bundled(STYLE)] if m.needs_style else []
    res = run_stylize(print_content(), styles, method=method, size=size, device=device, tile=0,
                      tile_stats=stats, **values)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        label = Path(model).stem if model else method
        target = Path(out_dir or tmp) / f"print-{method}-{label}-{size}.jpg"
        images.save_image(res.image, target)
    t2 = time.perf_counter()
    info = res.info
    return {"method": method, "model": info.get("model"), "size": size, "height": info["height"],
            "width": info["width"], "megapixels": round(info["height"] * info["width"] / 1e6, 2),
            "tile": info.get("tile"), "halo": info.get("halo"), "tiles": info.get("tiles"), "stats": info.get("stats"),
            "stats_seconds": info.get("stats_seconds"), "seconds_method": info["seconds"],
            "seconds_load_run": t1 - t0, "seconds_save": t2 - t1, "seconds_total": t2 - t0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "output": str(target) if out_dir else None}


def _subprocess(method: str, size: int, stats: str, device: str, model: Optional[str],
                out_dir: Optional[str]) -> dict:
    cmd = [sys.executable, "-m", "painterly.bench", "--print", method, str(size), stats, device, model or "",
           out_dir or ""]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        return {"method": method, "model": model, "size": size, "error": res.stderr.strip().splitlines()[-1:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def runs(names: Optional[Sequence[str]] = None, models: Optional[dict] = None) -> list[tuple[str, Optional[str]]]:
    """(method, model) pairs to measure: every tiled method (or those named), each with its given
    model files, else its first listed model; a method needing a model that has none is skipped."""
    out = []
    for m in methods.all_methods():
        if m.tiled is None or (names and m.name not in names):
            continue
        if not m.needs_model:
            out.append((m.name, None))
        elif models and models.get(m.name):
            out += [(m.name, p) for p in models[m.name]]
        elif m.models and m.models():
            out.append((m.name, m.models()[0].name))
    return out


def print_benchmark(size: int = 6000, names: Optional[Sequence[str]] = None, models: Optional[dict] = None,
                    stats: str = "auto", device: str = "cpu", quick: bool = False,
                    out_dir: Optional[str] = None) -> dict:
    """All runs as one JSON-ready dict (quick: 512 px, in fresh processes all the same)."""
    from . import _machine
    size = 512 if quick else size
    rows = [_subprocess(m, size, stats, device, model, out_dir) for m, model in runs(names, models)]
    return {"benchmark": "print", "device": device, "machine": _machine(), "quick": quick,
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "target_peak_mb": TARGET_MB, "rows": rows}
