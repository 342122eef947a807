"""Shared pieces of every trainer: photo folders as random crops, atomic checkpoints with full
resume, learning-rate schedules, mixed precision, torchrun/DDP, and the loop itself.

A trainer (feed-forward styles, AdaIN/WCT decoders, CycleGAN) names its networks, optimisers,
schedulers and other state and supplies a step function; `Trainer` restores them, runs the
steps, records losses, saves every N steps, on Ctrl-C and on SIGTERM, and resumes from the step
it stopped at (checkpoint files: `painterly.checkpoints`). Batches are a pure function of
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union
from collections.abc import Sequence

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image

from . import checkpoints, images
from .errors import InputError, SkippedInput
from .options import SEED_MAX, STEPS_MAX, check_fields, opt
from .signals import stop_on_sigterm, uninterrupted

Callback = Callable[[dict], None]


# ----------------------------------------------------------------------------- options

#: The fields trainers share, each declared once: its default and `opt` keywords (bounds, help, flag).
TRAIN_FIELDS: dict[str, tuple[Any, dict]] = {
    "size": (256, dict(min=32, help="crop size of the training photos")),
    "batch_size": (4, dict(min=1, help="photos per step and process")),
    "steps": (2000, dict(min=1, max=STEPS_MAX, help="training steps")),
    "lr": (1e-3, dict(above=0, help="Adam learning rate")),
    "seed": (0, dict(min=0, max=SEED_MAX, help="random seed")),
    "checkpoint_every": (200, dict(min=0, metavar="N", help="save the model and a checkpoint every N steps (0: at "
                                                             "the end); Ctrl-C also saves")),
    "workers": (0, dict(min=0, help="photo-decoding processes")),
    "amp": (True, dict(flag="--no-amp", help="no bfloat16 autocast on GPUs")),
}
_NO_DEFAULT = object()


def train_option(name: str, default: Any = _NO_DEFAULT, **changes: Any) -> Any:
    """A shared trainer field (`TRAIN_FIELDS`) for a trainer's options dataclass, with that trainer's
    default or help where they differ (e.g. `steps` 100 for a fast run)."""
    base, meta = TRAIN_FIELDS[name]
    return opt(base if default is _NO_DEFAULT else default, **{**meta, **changes})


@dataclass(frozen=True)
class TrainOptions:
    """What every trainer's options have: crops, batch, learning rate, seed, checkpoints, loader.
    A trainer subclasses it (frozen) and adds `steps`/`amp` with `train_option` when it has them."""

    size: int = train_option("size")
    batch_size: int = train_option("batch_size")
    lr: float = train_option("lr")
    seed: int = train_option("seed")
    checkpoint_every: int = train_option("checkpoint_every")
    workers: int = train_option("workers")

    def validate(self) -> None:
        """Check every field's declared bounds and choices (OptionError names the field)."""
        check_fields(self)


# ----------------------------------------------------------------------------- data

class RandomCrops(torch.utils.data.Dataset):
    """Sample k of an endless stream: a random square crop (scale jitter, horizontal flip) of a
    random photo, decided by `seed` and k alone. Unreadable files are skipped, each with one
    `SkippedInput` warning; when none is readable, one InputError names the folder instead."""

    def __init__(self, files: Sequence[Path], size: int, seed: int = 0, scale: tuple[float, float] = (1.0, 1.5),
                 length: int = 2**62, source: Optional[str] = None):
        self.files, self.size, self.seed, self.scale, self.length = list(files), size, seed, scale, length
        self.source = source or _folder_of(self.files)
        self.bad: set[int] = set()
        self.skipped: dict[Path, str] = {}
        self._reported: set[Path] = set()

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
                self.skipped[self.files[i]] = str(e)
                if len(self.bad) == len(self.files):
                    break
                continue
            self._report_skipped()
            return random_crop(img, self.size, rng, self.scale)
        first = next(iter(self.skipped.values()), "")
        raise InputError(f"none of the {len(self.files)} image files in {self.source} can be read"
                         + (f" (e.g. {first})" if first else ""))


    def _report_skipped(self) -> None:
        """One SkippedInput warning per unreadable file, once a readable one exists (when none
        is, the InputError alone says so)."""
        for f in list(self.skipped):
            if f not in self._reported:
                self._reported.add(f)
                warnings.warn(f"skipping {self.skipped[f]}", SkippedInput, stacklevel=3)


def _folder_of(files: Sequence[Path]) -> str:
    """'folder X' for the folder holding every file (for messages)."""
    try:
        return f"folder {os.path.commonpath([str(Path(f).parent) for f in files])}"
    except ValueError:
        return "the training folders"


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


# ----------------------------------------------------------------------------- checkpoints & the loop

# Checkpoint files are read and written in one place (painterly.checkpoints); these names stay for callers.
save_checkpoint, load_checkpoint = checkpoints.save, checkpoints.load
rng_state, set_rng_state, resume_state = checkpoints.rng_state, checkpoints.set_rng_state, checkpoints.resume_state


@dataclass
class TrainResult:
    """A finished or interrupted training run: where its files are and how far it got."""

    output: Path
    checkpoint: Path
    step: int
    stopped: Optional[str]
    seconds: float
    history: list[dict]


class Trainer:
    """The one training loop. A trainer names its networks, optimisers, schedulers and other state
    (anything with state_dict/load_state_dict, e.g. image pools); the Trainer restores them from
    a checkpoint, wraps networks for DDP, runs the steps, writes atomic checkpoints every N steps,
    at the end, on Ctrl-C and on SIGTERM, and stops cleanly when a loss turns NaN/inf.

    The checkpoint holds, by name: nets, optimizers, schedulers, extras, plus rng, history, step,
    options, seconds and the trainer's `scalars()`; checkpoints of the earlier single-network form
    ("model"/"optimizer") and CycleGAN's ("pools", a list of schedulers) are still read.
    """

    def __init__(self, kind: str, checkpoint: Path, options: Any, state: Optional[dict], ddp: Distributed,
                 nets: dict[str, torch.nn.Module], optimizers: dict[str, torch.optim.Optimizer],
                 schedulers: Optional[dict[str, Any]] = None, extras: Optional[dict[str, Any]] = None):
        self.kind, self.checkpoint, self.options, self.state, self.ddp = kind, Path(checkpoint), options, state, ddp
        self.nets, self.optimizers = nets, optimizers
        self.schedulers, self.extras = schedulers or {}, extras or {}
        self.history: list[dict] = []
        self.start = 0
        self.elapsed0 = float(state.get("seconds", 0.0)) if state else 0.0
        self.cpu0 = float(state.get("cpu_seconds", 0.0)) if state else 0.0
        self._t0, self._c0 = time.perf_counter(), time.process_time()
        if state is not None:
            self._restore(state)

    def _restore(self, state: dict) -> None:
        def named(key: str, old_key: Optional[str], targets: dict) -> dict:
            saved = state.get(key)
            if saved is None and old_key in state:
                saved = state[old_key]
            if isinstance(saved, list):                  # older checkpoints: in declaration order
                saved = dict(zip(targets, saved))
            if not isinstance(saved, dict) and targets:  # older single-network checkpoints
                saved = {next(iter(targets)): saved}
            return saved or {}

        try:
            nets = named("nets", "model", self.nets)
            optims = named("optimizers", "optimizer", self.optimizers)
            for name, net in self.nets.items():
                net.load_state_dict(nets[name])
            for name, o in self.optimizers.items():
                o.load_state_dict(optims[name])
            for name, sch in named("schedulers", None, self.schedulers).items():
                self.schedulers[name].load_state_dict(sch)
            for name, extra in named("extras", "pools", self.extras).items():
                self.extras[name].load_state_dict(extra)
            set_rng_state(state["rng"])
            self.history, self.start = list(state["history"]), int(state["step"])
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise InputError(f"checkpoint {self.checkpoint} does not fit this run ({type(e).__name__}: "
                             f"{str(e).splitlines()[0][:120]})") from None

    def wrap(self, name: str) -> torch.nn.Module:
        """The network `name` wrapped for DDP under torchrun (itself otherwise)."""
        return self.ddp.wrap(self.nets[name])

    @property
    def seconds(self) -> float:
        """Training time so far, across resumes."""
        return self.elapsed0 + time.perf_counter() - self._t0

    @property
    def cpu_seconds(self) -> float:
        """This process's CPU time so far, across resumes: the honest cost on a shared machine."""
        return self.cpu0 + time.process_time() - self._c0

    def save(self, step: int, outputs: Callable[[int, float], None], scalars: Optional[dict] = None) -> None:
        """Checkpoint (main process only), then the trainer's own files (model, curves, samples)."""
        if not self.ddp.main:
            return
        seconds = self.seconds
        save_checkpoint({"kind": self.kind, "step": step,
                         "nets": {k: n.state_dict() for k, n in self.nets.items()},
                         "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                         "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
                         "extras": {k: e.state_dict() for k, e in self.extras.items()},
                         "rng": rng_state(), "history": self.history, "options": asdict(self.options),
                         "seconds": seconds, "cpu_seconds": self.cpu_seconds, **(scalars or {})}, self.checkpoint)
        outputs(step, seconds)

    def fit(self, step_fn: Callable[[int, Any], dict[str, float]], data: Iterator, steps: int,
            checkpoint_every: int, outputs: Callable[[int, float], None], output: Path,
            callback: Optional[Callback] = None, scalars: Callable[[], dict] = dict) -> TrainResult:
        """Run steps start+1 … steps: `step_fn(step, batch)` returns its losses; checkpoint every
        `checkpoint_every` steps, at the end, on Ctrl-C/SIGTERM and before stopping on divergence."""
        def save(step: int) -> None:   # Ctrl-C / SIGTERM wait until the checkpoint is complete
            with uninterrupted():
                self.save(step, outputs, scalars())

        t0, done, stopped = time.perf_counter(), self.start, None
        try:
            with stop_on_sigterm():
                try:
                    for step in range(self.start + 1, steps + 1):
                        t = time.perf_counter()
                        losses = step_fn(step, next(data))
                        bad = [k for k, v in losses.items() if not math.isfinite(v)]
                        if bad:
                            stopped = (f"diverged at step {step} ({', '.join(bad)} not finite); kept the "
                                       f"checkpoint of step {done}: lower the learning rate")
                            break
                        done = step
                        record = {"step": step, **{k: float(v) for k, v in losses.items()},
                                  "seconds": time.perf_counter() - t}
                        self.history.append(record)
                        if callback:
                            callback(record)
                        if checkpoint_every and step % checkpoint_every == 0 and step < steps:
                            save(step)
                except KeyboardInterrupt:
                    stopped = "interrupted"
                if not (stopped == "interrupted" and done == self.start):
                    save(done)       # (interrupted before its first step, a run has nothing new to keep)
        finally:
            self.ddp.close()
        return TrainResult(Path(output), self.checkpoint, done, stopped,
                           self.elapsed0 + time.perf_counter() - t0, self.history)


def write_history(history: list[dict], base: Union[str, os.PathLike], keys: Sequence[str],
                  title: str, meta: Optional[dict] = None, x: str = "step", xlabel: str = "training step"
                  ) -> tuple[Path, Path]:
    """BASE.json (every record + meta) and BASE.png (the chosen keys, smoothed), e.g. for
    base = run/losses: run/losses.json and run/losses.png."""
    from .plots import history_series, plot_curves
    base = Path(base)
    js, png = base.with_name(base.name + ".json"), base.with_name(base.name + ".png")
    images.atomic_write_text(js, json.dumps({**(meta or {}), "history": history}, indent=1))
    plot_curves(history_series(history, keys, x), png, title, xlabel=xlabel)
    return js, png


def checkpoint_path(output: Union[str, os.PathLike]) -> Path:
    """The resumable checkpoint that goes with an output file: model.pt -> model.ckpt.pt."""
    p = Path(output)
    return p.with_name(p.stem + ".ckpt" + (p.suffix or ".pt"))


def start_run(output: Union[str, os.PathLike], resume: bool, kind: str, options: Any) -> tuple[Path, Optional[dict], Any]:
    """Common start of a single-file trainer: check the output (.pt), load the checkpoint when
    resuming, and continue with the run's saved options (see `resumed_options`)."""
    out = images.check_output_path(output, {".pt", ".pth"})
    state = resume_state(checkpoint_path(out), resume, kind)
    if state is not None:
        options = resumed_options(options, state["options"], ("steps", "checkpoint_every", "workers"),
                                  checkpoint_path(out))
    options.validate()
    return out, state, options


def resumed_options(options: Any, saved: dict, may_change: Sequence[str], checkpoint: Union[str, os.PathLike]) -> Any:
    """The options a resumed run continues with: the checkpoint's, except `may_change` (how long,
    how often to save, how many workers). Any other option set to something other than its default
    and other than what the checkpoint was trained with is refused, naming the option: continuing
    with other settings would neither be the run that was started nor the one asked for."""
    from dataclasses import fields

    def same(a: Any, b: Any) -> bool:
        norm = (lambda v: list(v) if isinstance(v, (tuple, list)) else v)
        return norm(a) == norm(b)

    from .options import OptionError, default_of
    for f in fields(options):
        if f.name in may_change or f.name not in saved:
            continue
        value = getattr(options, f.name)
        if not same(value, default_of(f)) and not same(value, saved[f.name]):
            raise OptionError(f.name, f"is {value!r} but checkpoint {checkpoint} was trained with "
                                      f"{saved[f.name]!r}: resume without it (only the length, saving and "
                                      f"workers may change), or train into a new output")
    known = {f.name for f in fields(options)}
    values = {k: (tuple(v) if isinstance(getattr(options, k, None), tuple) and isinstance(v, list) else v)
              for k, v in saved.items() if k in known}
    return type(options)(**{**values, **{k: getattr(options, k) for k in may_change}})


