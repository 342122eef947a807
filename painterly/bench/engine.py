"""`painterly bench engine`: a folder of photos painted by the local engine and by Ray Data
workers on this machine, measured in the same run.

200 photos (the BSDS500 training photos of the shared data folder, else the bundled ones rotated)
at 512 px with a one-pass method (AdaIN by default), local (one process, every core as torch
threads) next to Ray (2 workers x 1 thread, the painter shipped once): images per second of the
whole job, of the steady part (after the first picture of each worker), Ray's overhead against
local, the cluster's start-up and each worker's start-up (actor created, painter received, first
picture written), seconds per picture on a worker, and the throughput of a cluster of N workers
predicted from them. Local runs before and after Ray; the overhead is against their mean.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import torch
from PIL import Image

from .. import batch
from ..engines.options import EngineOptions
from ..examples import CONTENT, STYLE, bundled

ROOT = Path(__file__).resolve().parents[2]


def photo_folder(dest: Path, count: int, side: int) -> tuple[Path, str]:
    """`count` JPEG photos of long side about `side` in `dest`; where they come from."""
    shared = Path(os.environ.get("PAINTERLY_BENCH_DATA", ROOT.parent / "shared" / "data")) / "photos" / "bsds500"
    files = sorted(shared.rglob("*.jpg"))[:count] if shared.is_dir() else []
    dest.mkdir(parents=True, exist_ok=True)
    if len(files) >= count:
        for f in files:
            with Image.open(f) as im:
                im.convert("RGB").save(dest / f.name, quality=92)
        return dest, f"BSDS500 ({shared})"
    src = Image.open(bundled(CONTENT)).convert("RGB")
    src.thumbnail((side, side))
    for i in range(count):
        src.rotate(i * 360 / count).save(dest / f"p{i:04d}.jpg", quality=92)
    return dest, "the bundled photo, rotated"


def _job(folder: Path, out: Path, method: str, size: int, engine: EngineOptions) -> dict:
    """One folder run: wall seconds, and when each picture was reported (seconds from the start)."""
    stamps: list[tuple[float, str, float]] = []
    t0 = time.perf_counter()
    res = batch.stylize_folder(folder, [bundled(STYLE)], out, method=method, size=size, device="cpu",
                               engine=engine, on_outcome=lambda o: stamps.append((time.perf_counter() - t0,
                                                                                  o.worker, o.seconds)))
    wall = time.perf_counter() - t0
    if res.done != res.total:
        raise RuntimeError(f"bench engine: {res.total - res.done} of {res.total} photos were not painted")
    return {"wall": wall, "stamps": stamps, "done": res.done}


def _figures(run: dict, n: int) -> dict:
    stamps = run["stamps"]
    first = {}
    for t, w, _ in stamps:
        first.setdefault(w, t)
    start = max(first.values())                 # every worker has painted its first picture
    after = [t for t, _, _ in stamps if t > start]
    steady = len(after) / (stamps[-1][0] - start) if len(after) > 1 and stamps[-1][0] > start else None
    return {"wall_seconds": round(run["wall"], 3), "images_per_second": round(n / run["wall"], 4),
            "steady_images_per_second": round(steady, 4) if steady else None,
            "first_picture_seconds": {w: round(t, 3) for w, t in sorted(first.items())},
            "seconds_per_picture_on_worker": round(statistics.median(s for _, _, s in stamps), 4),
            "workers": len(first)}


def engine_benchmark(count: int = 200, size: int = 512, method: str = "adain", workers: int = 2,
                     batch_size: int = 4, quick: bool = False, progress: Optional[Any] = None) -> dict:
    """Local vs Ray on one folder, in one run (see the module docstring)."""
    from .. import bench
    from ..engines import ray as ray_engine
    if quick:
        count, size = 12, 128
    say = progress or (lambda what: None)
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="painterly-bench-engine-") as d:
        folder, source = photo_folder(Path(d) / "photos", count, size)
        say(f"{count} photos from {source}; local engine ({threads} torch threads)")
        local = [_job(folder, Path(d) / "local1", method, size, EngineOptions())]
        say(f"local: {count / local[0]['wall']:.2f} images/s; starting Ray")
        t = time.perf_counter()
        ray_engine.start_local(num_cpus=workers)
        cluster_start = time.perf_counter() - t
        import ray
        try:
            say(f"Ray cluster up in {cluster_start:.1f} s; Ray engine ({workers} workers)")
            eng = EngineOptions(engine="ray", workers=workers, batch_size=batch_size)
            ray_run = _job(folder, Path(d) / "ray", method, size, eng)
        finally:
            ray.shutdown()
        torch.set_num_threads(threads)
        say(f"ray: {count / ray_run['wall']:.2f} images/s; local again")
        local.append(_job(folder, Path(d) / "local2", method, size, EngineOptions()))
        sample = Path(d) / "sample"          # the first photos again at the workers' thread count
        sample.mkdir()
        for f in sorted(folder.iterdir())[:10]:
            (sample / f.name).write_bytes(f.read_bytes())
        _job(sample, Path(d) / "local1t", method, size, EngineOptions(threads=1))
        ray_pics = {p.name: p.read_bytes() for p in (Path(d) / "ray").glob("*.png")}
        same_threads = all(ray_pics[p.name] == p.read_bytes() for p in (Path(d) / "local1t").glob("*.png"))
        other_threads = sum(ray_pics[p.name] == p.read_bytes() for p in (Path(d) / "local1").glob("*.png"))
    loc = [_figures(r, count) for r in local]
    rf = _figures(ray_run, count)
    local_ips = statistics.mean(x["images_per_second"] for x in loc)
    local_steady = statistics.mean(x["steady_images_per_second"] or x["images_per_second"] for x in loc)
    per_worker = rf["seconds_per_picture_on_worker"]
    startup = max(rf["first_picture_seconds"].values()) - batch_size * per_worker
    ideal = workers / per_worker          # the workers painting back to back, nothing else
    steady = rf["steady_images_per_second"]
    return {
        "benchmark": "engine", "machine": bench._machine(), "quick": quick, "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_average": os.getloadavg(), "photos": count, "photo_source": source, "size": size, "method": method,
        "batch_size": batch_size, "local_torch_threads": threads, "ray_workers": workers, "ray_threads_per_worker": 1,
        "byte_identical_at_same_threads": same_threads,
        "identical_to_local_at_its_threads": f"{other_threads} of {count}",
        "local_runs": loc, "ray": rf,
        "ray_cluster_start_seconds": round(cluster_start, 3),
        "ray_worker_startup_seconds": round(startup, 3),
        "local_images_per_second": round(local_ips, 4),
        "ray_images_per_second": rf["images_per_second"],
        "ray_overhead_job": round(local_ips / rf["images_per_second"] - 1, 4),
        "ray_overhead_steady": (round(local_steady / steady - 1, 4) if steady else None),
        "ray_images_per_second_if_workers_only_painted": round(ideal, 4),
        "ray_own_overhead_steady": round(ideal / steady - 1, 4) if steady else None,
        "ray_own_overhead_job": round(ideal / rf["images_per_second"] - 1, 4),
        "prediction": {
            "seconds_per_picture_per_worker": per_worker,
            "images_per_second_per_worker": round(1 / per_worker, 4),
            "note": "a cluster of N such workers paints about N / seconds_per_picture_per_worker images/s once "
                    "started (each worker pays ray_worker_startup_seconds once)"},
    }
