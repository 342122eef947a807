"""Shared pieces of every trainer: photo folders as random crops, atomic checkpoints with full
resume, learning-rate schedules, mixed precision, torchrun/DDP, and the loop itself.

A trainer (feed-forward styles, AdaIN/WCT decoders, CycleGAN) supplies a step function and
the objects to checkpoint; `train_loop` runs the steps, records losses, saves every N steps
and on Ctrl-C, and resumes from the step it stopped at. Batches are a pure function of
(seed, step, rank), so a resumed run sees exactly the crops an uninterrupted one would.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union
from collections.abc import Sequence

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image

from . import images
from .errors import InputError

Callback = Callable[[dict], None]


# ----------------------------------------------------------------------------- data

class RandomCrops(torch.utils.data.Dataset):
    """Sample k of an endless stream: a random square crop (scale jitter, horizontal flip) of a
    random photo, decided by `seed` and k alone. Unreadable files are skipped with one warning."""

    def __init__(self, files: Sequence[Path], size: int, seed: int = 0, scale: tuple[float, float] = (1.0, 1.5),
                 length: int = 2**62):
        self.files, self.size, self.seed, self.scale, self.length = list(files), size, seed, scale, length
        self.bad: set[int] = set()

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, k: int) -> torch.Tensor:
        rng = random.Random(self.seed * 1_000_003 + k)
        for _ in range(len(self.files) + 8):
            i = rng.randrange(len(self.files))
            if i in self.bad:
                continue
            try:
                img = images.open_image(self.files[i], "training image")
            except InputError as e:
                self.bad.add(i)
                warnings.warn(f"skipping {e}", stacklevel=2)
                if len(self.bad) == len(self.files):
                    break
                continue
            return random_crop(img, self.size, rng, self.scale)
        raise InputError(f"no readable images among the {len(self.files)} files of the training folder")


def random_crop(img: Image.Image, size: int, rng: random.Random,
                scale: tuple[float, float] = (1.0, 1.5)) -> torch.Tensor:
    """Resize so the short side is size × U(scale), crop size×size at random, flip half the time."""
    w, h = img.size
    short = size * rng.uniform(*scale)
    f = short / min(w, h)
    nw, nh = max(size, round(w * f)), max(size, round(h * f))
    img = img.resize((nw, nh), Image.Resampling.BICUBIC)
    x, y = rng.randrange(nw - size + 1), rng.randrange(nh - size + 1)
    img = img.crop((x, y, x + size, y + size))
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


def batches(dataset: torch.utils.data.Dataset, batch_size: int, start_step: int, workers: int = 0,
            rank: int = 0, world: int = 1) -> Iterator[torch.Tensor]:
    """Batches for steps start_step, start_step+1, ...: step s on rank r holds samples
    (s·world + r)·batch ... + batch − 1, so resuming and adding processes never repeat a crop."""

    class _Indices(torch.utils.data.Sampler):
        def __iter__(self):
            s = start_step
            while True:
                base = (s * world + rank) * batch_size
                yield from range(base, base + batch_size)
                s += 1

        def __len__(self):  # pragma: no cover - endless
            return 2**62

    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=_Indices(), num_workers=workers,
                                         persistent_workers=workers > 0, pin_memory=torch.cuda.is_available())
    return iter(loader)


# ----------------------------------------------------------------------------- devices & processes

@dataclass
class Distributed:
    """Where this process runs: rank/world from torchrun's environment, or a single process."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def main(self) -> bool:
        return self.rank == 0

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """DistributedDataParallel under torchrun, the model itself otherwise."""
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel
        ids = [torch.device(self.device).index] if self.device.startswith("cuda") else None
        return DistributedDataParallel(model, device_ids=ids)

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def setup_distributed(device: str = "auto") -> Distributed:
    """Join torchrun's process group when launched by it (NCCL on GPUs, Gloo on CPUs)."""
    from .device import pick_device
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Distributed(device=pick_device(device))
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device)
    if dev.startswith("cuda"):
        dev = f"cuda:{local}"
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.startswith("cuda") else "gloo")
    return Distributed(rank, world, local, dev)


def autocast(device: str, enabled: bool = True):
    """bfloat16 autocast on CUDA (no loss scaling needed), nothing elsewhere."""
    if enabled and device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so that weight initialisation is reproducible."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def device_label(dev: str, world: int) -> str:
    """'cpu (2 threads)', 'NVIDIA H100 80GB HBM3', '4 × NVIDIA ...' for the provenance record."""
    if dev.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(dev))
    else:
        name = f"cpu ({torch.get_num_threads()} threads)"
    return f"{world} × {name}" if world > 1 else name


# ----------------------------------------------------------------------------- schedules

def make_scheduler(optimizer: torch.optim.Optimizer, kind: str = "constant", total_steps: int = 1,
                   decay_every: int = 1, gamma: float = 0.99,
                   decay_start: float = 0.5) -> torch.optim.lr_scheduler.LRScheduler:
    """constant; exponential (×gamma every `decay_every` steps); linear (constant, then to 0 over
    the last `1 − decay_start` of the run, as in CycleGAN)."""
    if kind == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    if kind == "exponential":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, decay_every), gamma=gamma)
    if kind == "linear":
        start = int(total_steps * decay_start)
        span = max(1, total_steps - start)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 - max(0, s - start) / span)
    raise InputError(f"unknown learning-rate schedule '{kind}': use constant, exponential or linear")


# ----------------------------------------------------------------------------- checkpoints

def save_checkpoint(state: dict, path: Union[str, os.PathLike]) -> Path:
    """torch.save to a temporary file in the same folder, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_checkpoint(path: Union[str, os.PathLike], what: str = "checkpoint") -> dict:
    """torch.load on the CPU with a one-line InputError for missing or damaged files."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} {p} does not exist")
    try:
        return torch.load(p, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - torch raises many types for damaged files
        raise InputError(f"{what} {p} cannot be read ({type(e).__name__}): is it a painterly file?") from None


def rng_state() -> dict:
    """Every random generator a step may use, so a resumed run continues identically."""
    out = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ----------------------------------------------------------------------------- loop & reports

@dataclass
class LoopResult:
    """What a training loop did: steps completed, stop reason (None = finished), wall time."""

    step: int
    stopped: Optional[str]
    seconds: float


def train_loop(step_fn: Callable[[int, Any], dict[str, float]], data: Iterator, start_step: int, steps: int,
               save: Callable[[int], None], history: list[dict], checkpoint_every: int = 0,
               callback: Optional[Callback] = None) -> LoopResult:
    """Run steps start_step+1 … steps. `step_fn(step, batch)` returns its losses; `save(step)`
    writes a checkpoint (every `checkpoint_every` steps, at the end, and on Ctrl-C)."""
    t0, done = time.perf_counter(), start_step
    try:
        for step in range(start_step + 1, steps + 1):
            t = time.perf_counter()
            losses = step_fn(step, next(data))
            bad = [k for k, v in losses.items() if not math.isfinite(v)]
            if bad:
                save(done)
                return LoopResult(done, f"diverged at step {step} ({', '.join(bad)} not finite); "
                                        f"kept the checkpoint of step {done}: lower the learning rate",
                                  time.perf_counter() - t0)
            done = step
            record = {"step": step, **{k: float(v) for k, v in losses.items()},
                      "seconds": time.perf_counter() - t}
            history.append(record)
            if callback:
                callback(record)
            if checkpoint_every and step % checkpoint_every == 0 and step < steps:
                save(step)
    except KeyboardInterrupt:
        save(done)
        return LoopResult(done, "interrupted", time.perf_counter() - t0)
    save(done)
    return LoopResult(done, None, time.perf_counter() - t0)


def write_history(history: list[dict], base: Union[str, os.PathLike], keys: Sequence[str],
                  title: str, meta: Optional[dict] = None) -> tuple[Path, Path]:
    """BASE.json (every record + meta) and BASE.png (the chosen keys, smoothed), e.g. for
    base = run/losses: run/losses.json and run/losses.png."""
    base = Path(base)
    js, png = base.with_name(base.name + ".json"), base.with_name(base.name + ".png")
    images.atomic_write_text(js, json.dumps({**(meta or {}), "history": history}, indent=1))
    plot_curves(history, keys, png, title)
    return js, png


def plot_curves(history: list[dict], keys: Sequence[str], path: Path, title: str) -> Path:
    """Loss per step (log scale) with a moving average, one line per key."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [r["step"] for r in history]
    for key in keys:
        ys = np.array([r.get(key, np.nan) for r in history], dtype=float)
        if not len(ys) or np.all(np.isnan(ys)):
            continue
        k = max(1, len(ys) // 50)
        smooth = np.convolve(ys, np.ones(k) / k, mode="valid")
        line, = ax.plot(steps[k - 1:], smooth, label=key)
        if k > 1:
            ax.plot(steps, ys, color=line.get_color(), alpha=0.2, linewidth=0.7)
    values = np.array([r.get(k, np.nan) for r in history for k in keys], dtype=float)
    if values.size and np.nanmin(values) > 0:
        ax.set_yscale("log")
    ax.set(xlabel="training step", ylabel="loss", title=title)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path


@dataclass
class TrainResult:
    """A finished or interrupted training run: where its files are and how far it got."""

    output: Path
    checkpoint: Path
    step: int
    stopped: Optional[str]
    seconds: float
    history: list[dict]


def checkpoint_path(output: Union[str, os.PathLike]) -> Path:
    """The resumable checkpoint that goes with an output file: model.pt -> model.ckpt.pt."""
    p = Path(output)
    return p.with_name(p.stem + ".ckpt" + (p.suffix or ".pt"))


def start_run(output: Union[str, os.PathLike], resume: bool, kind: str, options: Any) -> tuple[Path, Optional[dict], Any]:
    """Common start of a single-file trainer: check the output (.pt), load the checkpoint when
    resuming, and take the run's saved options (only steps, checkpoint_every and workers may change)."""
    out = images.check_output_path(output, {".pt", ".pth"})
    state = resume_state(checkpoint_path(out), resume, kind)
    if state is not None:
        options = type(options)(**{**state["options"], "steps": options.steps,
                                   "checkpoint_every": options.checkpoint_every, "workers": options.workers})
    options.validate()
    return out, state, options


def restore(state: Optional[dict], model: torch.nn.Module,
            optimizer: torch.optim.Optimizer) -> tuple[list[dict], int]:
    """Load a single-network checkpoint into `model` and `optimizer` and restore the random state;
    returns (history, step), or ([], 0) for a fresh run."""
    if state is None:
        return [], 0
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    set_rng_state(state["rng"])
    return state["history"], state["step"]


def resume_state(ck: Union[str, os.PathLike], resume: bool, kind: str) -> Optional[dict]:
    """The checkpoint file `ck` to continue from when `resume` (InputError if there is none or it
    is another trainer's), else None."""
    if not resume:
        return None
    state = load_checkpoint(ck, "checkpoint to resume")
    if state.get("kind") != kind:
        raise InputError(f"checkpoint {ck} was written by '{state.get('kind')}', not {kind}")
    return state
