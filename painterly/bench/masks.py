"""`painterly bench masks`: how good and how fast the automatic masks are.

IoU (threshold 0.5) of `segment.region_mask` against the hand-made masks in docs/bench/masks/
(made by scripts/masks_ground_truth.py: 6 sky masks from the WCT2 label maps, 4 person masks by
GrabCut from hand-drawn polygons), at 512 px on the long side; with and without the guided-filter
refinement; the other portrait network (ExtremeC3Net) and other input sides for comparison; how
much "person" the portrait network finds on photos without a person; seconds per mask at 512 px;
seconds and peak memory at 24 MP (6000x4000, in a fresh process).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from PIL import Image

from .. import images, segment
from ..errors import InputError
from ..segment import refine as rf

ROOT = Path(__file__).resolve().parents[2]
GROUND_TRUTH = ROOT / "docs" / "bench" / "masks"
#: name -> (region, photo under the shared data folder)
CASES = {
    "in00": ("sky", "photoreal/content/in00.png"), "in14": ("sky", "photoreal/content/in14.png"),
    "in58": ("sky", "photoreal/content/in58.png"), "in00s": ("sky", "photoreal/style/in00.png"),
    "in14s": ("sky", "photoreal/style/in14.png"), "in58s": ("sky", "photoreal/style/in58.png"),
    "brad_pitt": ("person", "images/brad_pitt.jpg"), "avril": ("person", "photos/adain_content/avril.jpg"),
    "blonde_girl": ("person", "photos/adain_content/blonde_girl.jpg"),
    "lenna": ("person", "photos/adain_content/lenna.jpg"),
}
#: photos without a person (the portrait network's false positives) and without sky
NO_PERSON = ["photos/adain_content/" + n for n in ("chicago.jpg", "cornell.jpg", "flowers.jpg", "golden_gate.jpg",
                                                    "modern.jpg", "newyork.jpg", "sailboat.jpg")] + \
            ["photoreal/content/in14.png", "photoreal/content/in58.png", "images/tubingen.jpg"]
NO_SKY = ["photoreal/content/in34.png", "photoreal/content/in17.png", "photoreal/style/in34.png",
          "photos/adain_content/avril.jpg", "photos/adain_content/blonde_girl.jpg",
          "photos/adain_content/lenna.jpg", "images/brad_pitt.jpg"]
SIDE = 512


def data_root() -> Path:
    root = Path(os.environ.get("PAINTERLY_BENCH_DATA", ROOT.parent / "shared" / "data"))
    if not (root / CASES["in58"][1]).is_file():
        raise InputError(f"bench masks needs the photos of the shared data folder ({root}): "
                         "set PAINTERLY_BENCH_DATA to it")
    return root


def iou(pred: torch.Tensor, truth: torch.Tensor) -> float:
    a, b = pred > 0.5, truth > 0.5
    return float((a & b).sum()) / max(1, int((a | b).sum()))


def _photo(path: Path) -> torch.Tensor:
    return images.resize_long_side(images.load_image(path, "photo", SIDE), SIDE)


def _truth(name: str, region: str) -> torch.Tensor:
    return torch.from_numpy(np.asarray(Image.open(GROUND_TRUTH / f"{region}_{name}.png").convert("L")) > 127)


def _mask(t: torch.Tensor, region: str, radius: Optional[int] = None, side: Optional[int] = None,
          person: str = "sinet-portrait") -> tuple[torch.Tensor, float]:
    segment._cache.clear()
    t0 = time.perf_counter()
    if person != "sinet-portrait":
        from ..segment.portrait import normalise
        net = segment.person_network(person)
        s = side or segment.PERSON_SIDE
        with torch.inference_mode():
            prob = net.person_probability(net(normalise(segment._small(t, s))))
        m = rf.refine(prob, t, radius=radius, eps=segment.EPS, low_side=s)
    elif radius is None and side is None:
        m = segment.region_mask(t, region, missing="empty")
    else:
        network, _ = segment.REGIONS[region]
        prob = segment.probability(t, network, side)
        m = rf.refine(prob, t, radius=radius, eps=segment.EPS, low_side=prob.shape[-1])
    return m[0, 0], time.perf_counter() - t0


def _summary(rows: list[dict], key: str) -> dict:
    out = {}
    for region in ("sky", "person"):
        v = [r[key] for r in rows if r["region"] == region]
        if v:
            out[region] = {"mean": round(statistics.mean(v), 4), "min": round(min(v), 4)}
    return out


def quality(repeats: int = 3, quick: bool = False) -> dict:
    root = data_root()
    cases = dict(list(CASES.items())[::3]) if quick else CASES
    photos = {n: (r, _photo(root / p), _truth(n, r)) for n, (r, p) in cases.items()}
    for n, (r, t, gt) in photos.items():
        if tuple(gt.shape) != tuple(t.shape[-2:]):
            raise InputError(f"ground truth {r}_{n}.png is {tuple(gt.shape)}, the photo {tuple(t.shape[-2:])}")
    _mask(photos[next(iter(photos))][1], "sky")          # load the networks before timing
    _mask(photos[next(iter(photos))][1], "person")
    rows = []
    for n, (r, t, gt) in photos.items():
        times = []
        for _ in range(1 if quick else repeats):
            m, s = _mask(t, r)
            times.append(s)
        raw, _ = _mask(t, r, radius=0)
        rows.append({"photo": n, "region": r, "width": t.shape[-1], "height": t.shape[-2], "iou": round(iou(m, gt), 4),
                     "iou_unrefined": round(iou(raw, gt), 4), "seconds": round(statistics.median(times), 3)})
        print(f"bench masks: {n} {r} IoU {rows[-1]['iou']:.3f} ({rows[-1]['seconds']:.2f} s)", file=sys.stderr,
              flush=True)
    out = {"cases": rows, "iou": _summary(rows, "iou"), "iou_unrefined": _summary(rows, "iou_unrefined"),
           "seconds_512": {reg: round(statistics.median([r["seconds"] for r in rows if r["region"] == reg]), 3)
                           for reg in ("sky", "person") if any(r["region"] == reg for r in rows)}}
    if quick:
        return out
    # the choices: input side of each network, and the other portrait network
    sweep = {}
    for region, sides in (("person", (160, 224, 320)), ("sky", (128, 160, 256, 384))):
        for s in sides:
            v = [iou(_mask(t, r, side=s)[0], gt) for n, (r, t, gt) in photos.items() if r == region]
            sweep[f"{region}@{s}"] = {"mean": round(statistics.mean(v), 4), "min": round(min(v), 4)}
    for s in (160, 224):
        v, sec = [], []
        for n, (r, t, gt) in photos.items():
            if r == "person":
                m, dt = _mask(t, r, side=s, person="extremec3-portrait")
                v.append(iou(m, gt))
                sec.append(dt)
        sweep[f"person-extremec3@{s}"] = {"mean": round(statistics.mean(v), 4), "min": round(min(v), 4),
                                          "seconds": round(statistics.median(sec), 3)}
    out["sides"] = sweep
    found = {}
    for rel, region in [(p, "person") for p in NO_PERSON] + [(p, "sky") for p in NO_SKY]:
        m, _ = _mask(_photo(root / rel), region)
        found[f"{region} in {rel}"] = round(float((m > 0.5).float().mean()), 4)
    out["found_where_absent"] = found
    out["ncnn"] = _ncnn_check(photos)
    return out


def _ncnn_check(photos: dict) -> Optional[dict]:
    """The ncnn package (when installed) on the same sky input: largest difference and speed."""
    try:
        import ncnn
    except ImportError:
        return None
    from .. import weights
    t = next(t for r, t, _ in photos.values() if r == "sky")
    s = 384
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in segment._IMAGENET)
    x = (segment._small(t, s) - mean) / std
    net = ncnn.Net()
    net.opt.num_threads = torch.get_num_threads()
    net.load_param(str(weights.resolve("sky-u2netp-param")))
    net.load_model(str(weights.resolve("sky-u2netp-bin")))
    times, out = [], None
    for _ in range(3):
        ex = net.create_extractor()
        arr = x[0].numpy().copy()                   # ncnn.Mat does not own it: keep it alive
        ex.input("input.1", ncnn.Mat(arr))
        t0 = time.perf_counter()
        _, out = ex.extract("1959")
        times.append(time.perf_counter() - t0)
    ptimes = []
    for _ in range(3):
        t0 = time.perf_counter()
        with torch.inference_mode():
            ours = segment.sky_network()(x)
        ptimes.append(time.perf_counter() - t0)
    return {"side": s, "max_abs_diff": float(np.abs(np.array(out) - ours[0].numpy()).max()),
            "seconds_ncnn": round(statistics.median(times), 3), "seconds_pytorch": round(statistics.median(ptimes), 3)}


def big_worker(region: str, side: int) -> dict:
    """In a fresh process: a mask of a 6000x4000 photo (uint8, made from in58), seconds and peak RSS."""
    root = data_root()
    w, h = side, side * 2 // 3
    im = Image.open(root / CASES["in58"][1]).convert("RGB").resize((w, h), Image.BICUBIC)
    c8 = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)[None].contiguous()
    del im
    segment.person_network() if region == "person" else segment.sky_network()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    m = segment.region_mask(c8, region, missing="empty")
    sec = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"region": region, "width": w, "height": h, "seconds": round(sec, 2), "peak_rss_gib": round(peak / 2**30, 2),
            "rss_before_gib": round(base / 2**30, 2), "share": round(float((m > 0.5).float().mean()), 3)}


def big(side: int = 6000) -> list[dict]:
    out = []
    for region in ("sky", "person"):
        code = (f"import json; from painterly.bench.masks import big_worker; "
                f"print(json.dumps(big_worker({region!r}, {side})))")
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        if r.returncode:
            raise RuntimeError(f"24 MP worker failed: {r.stderr.strip().splitlines()[-1:]}")
        out.append(json.loads(r.stdout.strip().splitlines()[-1]))
        print(f"bench masks: {region} at {out[-1]['width']}x{out[-1]['height']}: {out[-1]['seconds']} s, "
              f"peak {out[-1]['peak_rss_gib']} GiB", file=sys.stderr, flush=True)
    return out


def masks_benchmark(quick: bool = False, big_side: int = 6000) -> dict:
    from . import _machine
    load = os.getloadavg()[0]
    res = {"benchmark": "masks", "machine": _machine(), "load_average_at_start": round(load, 2),
           "settings": {"person_side": segment.PERSON_SIDE, "sky_side": segment.SKY_SIDE, "eps": segment.EPS,
                        "radius": "guide_radius: ceil(1.5 * long side / network side), >= 2 px",
                        "evaluated_at": f"{SIDE} px long side, threshold 0.5"},
           "ground_truth": "docs/bench/masks (scripts/masks_ground_truth.py; see docs/masks.md)"}
    res.update(quality(quick=quick))
    res["at_24mp"] = [] if quick else big(big_side)
    res["load_average_at_end"] = round(os.getloadavg()[0], 2)
    return res
