"""`painterly bench photo`: photorealistic transfer on the shared photo pairs, side by side with WCT.

For each content/reference pair (folders `content/`, `style/`, `content_segment/`, `style_segment/`
with the same file names, as in the WCT2 project's examples) and each method:

- `ssim`: SSIM of the output's luminance to the photo's (structure kept; target >= 0.75);
- `colour_distance`: Fréchet distance of CIE L*a*b* colour distributions (mean and covariance) to the
  reference, next to the photo's own distance to it (`content_distance`); `distance_ratio` = the two's
  ratio (target <= 0.5: the distance falls by at least half);
- `seconds` of the run (in this process, after a warm-up).

Then time and peak memory of one run at `size` px, each method in a fresh process (median of 3).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import torch

from .. import images
from ..methods.photo.metrics import colour_distance, ssim_luminance

DEFAULT_PAIRS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "photoreal"
METHODS = ("wct", "wct-labels", "photo", "photo-labels", "photo-matting", "deep-photo")


def pairs(folder: Path) -> list[str]:
    return sorted(p.stem for p in (folder / "content").glob("*.png") if (folder / "style" / p.name).is_file())


def _labels(folder: Path, name: str) -> dict:
    c, s = folder / "content_segment" / f"{name}.png", folder / "style_segment" / f"{name}.png"
    return {"content_labels": str(c), "style_labels": str(s)} if c.is_file() and s.is_file() else {}


def run_one(method: str, content: torch.Tensor, style: torch.Tensor, folder: Path, name: str, size: int,
            gatys_size: int, gatys_steps: int) -> tuple[torch.Tensor, dict]:
    """One method on one pair; returns (image at the content's size, info)."""
    from ..pipeline import run_stylize
    t = time.perf_counter()
    if method.startswith("wct"):
        extra = _labels(folder, name) if method == "wct-labels" else {}
        out = run_stylize(content, style, method="wct", size=size, device="cpu", **extra).tensor
        info = {}
    elif method.startswith("photo"):
        extra = _labels(folder, name) if method == "photo-labels" else {}
        if method == "photo-matting":
            extra["smooth"] = "matting"
        out = run_stylize(content, style, method="photo", size=size, device="cpu", **extra).tensor
        info = dict(extra)
    else:                            # Deep Photo Style Transfer: Luan et al.'s terms, at a reduced size
        from .. import labels as lab
        from ..methods.photo import deep_photo
        from ..methods.photo.engine import stylise
        from ..methods.photo.options import PhotoOptions
        c = images.resize_long_side(content, gatys_size)
        s = images.resize_long_side(style, gatys_size)
        lb = _labels(folder, name)
        c_ids = s_ids = None
        n = 1
        if lb:
            cm = lab.load(lb["content_labels"], "content labels", tuple(c.shape[-2:]))
            sm = lab.load(lb["style_labels"], "style labels", tuple(s.shape[-2:]))
            c_ids, s_ids, n = cm.ids, lab.for_style(sm, lab.match(cm, sm)), len(cm.palette)
        # Luan et al. start from a stylised result; ours: the one-pass photorealistic output
        init, _ = stylise(c, s, PhotoOptions(**lb))
        out, hist = deep_photo.run(c, s, steps=gatys_steps, content_ids=c_ids, style_ids=s_ids,
                                   n_labels=n, init=init)
        out = images.resize(out, tuple(content.shape[-2:]))
        info = {"size": gatys_size, "steps": len(hist), "photorealism": deep_photo.PHOTOREALISM, "labels": bool(lb),
                "init": "photo (labels)" if lb else "photo"}
    return out, {**info, "seconds": time.perf_counter() - t}


def quality(folder: Path, names: list[str], methods: tuple[str, ...], size: int, gatys_size: int,
            gatys_steps: int, image_dir: Optional[Path], progress=None) -> list[dict]:
    rows = []
    for name in names:
        content = images.resize_long_side(images.load_image(folder / "content" / f"{name}.png"), size)
        style = images.resize_long_side(images.load_image(folder / "style" / f"{name}.png"), size)
        base = colour_distance(content, style)
        for m in methods:
            if m.endswith("-labels") and not _labels(folder, name):
                continue
            out, info = run_one(m, content, style, folder, name, size, gatys_size, gatys_steps)
            out = images.resize(out, tuple(content.shape[-2:]))
            d = colour_distance(out, style)
            row = {"pair": name, "method": m, "height": content.shape[-2], "width": content.shape[-1],
                   "ssim": round(ssim_luminance(out, content), 4), "colour_distance": round(d, 3),
                   "content_distance": round(base, 3), "distance_ratio": round(d / base, 3), **info}
            rows.append(row)
            if image_dir is not None:
                image_dir.mkdir(parents=True, exist_ok=True)
                images.tensor_to_pil(out).save(image_dir / f"{name}_{m}.png")
            if progress:
                progress(row)
    return rows


def timing_worker(method: str, size: int, repeats: int, folder: str, name: str) -> dict:
    """Median seconds of one run at long side `size` after a warm-up, and this process's peak memory."""
    torch.set_num_threads(max(1, torch.get_num_threads()))
    f = Path(folder)
    content = images.resize_long_side(images.load_image(f / "content" / f"{name}.png"), size)
    style = images.resize_long_side(images.load_image(f / "style" / f"{name}.png"), size)
    run_one(method, content, style, f, name, size, 0, 0)
    times = []
    for _ in range(repeats):
        times.append(run_one(method, content, style, f, name, size, 0, 0)[1]["seconds"])
    times.sort()
    return {"method": method, "size": size, "pair": name, "height": content.shape[-2], "width": content.shape[-1],
            "repeats": repeats, "seconds": times[len(times) // 2], "seconds_all": times,
            "peak_rss_mb": _peak_mb()}


def _peak_mb() -> float:
    """This process's peak resident memory: VmHWM (ru_maxrss would carry the parent's over fork + exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timing(method: str, size: int, repeats: int, folder: Path, name: str) -> dict:
    cmd = [sys.executable, "-c", "import json,sys; from painterly.bench.photo import timing_worker; "
           f"print(json.dumps(timing_worker({method!r}, {size}, {repeats}, {str(folder)!r}, {name!r})))"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def photo_benchmark(folder: Optional[str] = None, size: int = 700, methods: Optional[list[str]] = None,
                    gatys_size: int = 350, gatys_steps: int = 60, repeats: int = 3, quick: bool = False,
                    image_dir: Optional[str] = None, progress=None) -> dict:
    from . import _machine
    from ..errors import InputError
    f = Path(folder) if folder else DEFAULT_PAIRS
    names = pairs(f)
    if not names:
        raise InputError(f"no photo pairs in '{f}' (it needs content/NAME.png and style/NAME.png)")
    ms = tuple(methods or METHODS)
    unknown = set(ms) - set(METHODS)
    if unknown:
        raise InputError(f"unknown bench photo method(s) {', '.join(sorted(unknown))}: use {', '.join(METHODS)}")
    if quick:
        names, size, gatys_size, gatys_steps, repeats = names[:1], 128, 96, 5, 1
    timed = [timing(m, size, repeats, f, names[0]) for m in ("wct", "photo", "photo-labels") if m in ms]
    rows = quality(f, names, ms, size, gatys_size, gatys_steps, Path(image_dir) if image_dir else None, progress)
    summary = {}
    for m in ms:
        mine = [r for r in rows if r["method"] == m]
        if mine:
            summary[m] = {"ssim_mean": round(sum(r["ssim"] for r in mine) / len(mine), 4),
                          "ssim_min": min(r["ssim"] for r in mine),
                          "distance_ratio_mean": round(sum(r["distance_ratio"] for r in mine) / len(mine), 3),
                          "distance_ratio_max": max(r["distance_ratio"] for r in mine), "pairs": len(mine)}
    return {"benchmark": "photo", "machine": _machine(), "pairs": str(f), "size": size,
            "colour_space": "CIE L*a*b* (D65); Frechet distance of Gaussians (mean + covariance)",
            "ssim": "luminance (Rec. 601 Y), 11x11 Gaussian window sigma 1.5",
            "targets": {"ssim": 0.75, "distance_ratio": 0.5, "seconds_one_pass_700px": 3.0},
            "summary": summary, "quality": rows, "timing": timed}
