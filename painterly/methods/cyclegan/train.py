"""Train CycleGAN on two unpaired folders (Zhu et al. 2017, and the source project's variant):
least-squares adversarial loss, L1 cycle loss (λ), optional identity loss, an image pool of
past fakes, one Adam for both generators and one per discriminator, constant / exponential /
linear learning-rate decay per epoch. Every network, optimiser, scheduler, the pools, the
random state and the epoch are checkpointed; `resume` continues exactly."""

from __future__ import annotations

import math
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Union

import torch
import torch.nn.functional as F

from ... import images, training
from ...errors import InputError
from ...options import opt
from ...training import train_option
from .model import save_generator
from .networks import DISCRIMINATORS, GENERATORS, MAGENTA_TRAIN, build_discriminator, build_generator, magenta_generator

KIND = "train-cyclegan"
SCHEDULES = ("constant", "exponential", "linear")

#: The source project's three settings (200 epochs each).
PRESETS: dict[str, dict] = {
    "small-batch": {"batch_size": 2, "lr": 1e-3, "schedule": "constant"},
    "large-batch": {"batch_size": 16, "lr": 1e-3, "schedule": "constant"},
    "large-batch-decay": {"batch_size": 16, "lr": 2e-3, "schedule": "exponential", "gamma": 0.99,
                          "decay_every": 2},
}


@dataclass(frozen=True)
class CycleGANOptions(training.TrainOptions):
    """Every knob of a CycleGAN run; defaults are the source project's small-batch setting."""

    generator: str = opt("dncnn", choices=GENERATORS,
                         help="DnCNN (the source's), ResNet (Zhu et al.) or magenta (Magenta's GPU-trained transformer "
                              "as the A->B generator, started at the mean style of domain B; B->A is a DnCNN)")
    train_params: str = opt("vector", choices=MAGENTA_TRAIN,
                            help="magenta generator: what the run learns (its style vector; also every norm's "
                                 "gamma/beta; or every weight)")
    discriminator: str = opt("source", choices=DISCRIMINATORS, help="source (5 conv3x3) or patch (70x70 PatchGAN)")
    depth: int = opt(6, min=1, help="DnCNN depth")
    channels: int = opt(64, min=1, help="DnCNN channels / ResNet ngf")
    blocks: int = opt(9, min=1, help="ResNet residual blocks")
    size: int = train_option("size", 128, help="training crop")
    batch_size: int = train_option("batch_size", 2, help="images per step and process")
    epochs: int = opt(200, min=1, max=100_000, help="epochs")
    lr: float = train_option("lr")
    betas: tuple[float, float] = (0.5, 0.999)
    schedule: str = opt("constant", choices=SCHEDULES, help="learning-rate schedule per epoch")
    gamma: float = opt(0.99, min=0, help="exponential decay factor")
    decay_every: int = opt(2, min=1, help="epochs per decay")
    cycle_weight: float = opt(10.0, min=0, help="lambda of the L1 cycle loss")
    identity_weight: float = opt(0.0, min=0, help="identity loss, x lambda")
    pool_size: int = opt(50, min=0, help="image pool of past fakes")
    checkpoint_every: int = train_option("checkpoint_every", 1, min=1, metavar=None,
                                         help="epochs between checkpoints; Ctrl-C also saves")
    sample_every: int = opt(5, min=1, help="epochs between sample grids")
    workers: int = train_option("workers", help="image-decoding processes")
    amp: bool = train_option("amp")
    epoch_size: Optional[int] = opt(None, min=1, help="images per epoch (default: the larger folder)")
    keep_generators: bool = opt(False, help="also keep generators/G_A2B_stepN.pt at every checkpoint "
                                            "(to evaluate the run over time)")


class ImagePool:
    """Shrivastava et al.'s history of generated images: the discriminator sees a mix of new
    fakes and older ones, which steadies GAN training."""

    def __init__(self, size: int = 50):
        self.size, self.images = size, list[torch.Tensor]()

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for img in batch.detach():
            img = img.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(img.cpu())
                out.append(img)
            elif random.random() < 0.5:
                i = random.randrange(self.size)
                old, self.images[i] = self.images[i], img.cpu()
                out.append(old.to(batch.device))
            else:
                out.append(img)
        return torch.cat(out)

    def state_dict(self) -> dict:
        return {"size": self.size, "images": self.images}

    def load_state_dict(self, state: dict) -> None:
        self.size, self.images = state["size"], list(state["images"])


def _lsgan(pred: torch.Tensor, real: bool) -> torch.Tensor:
    return F.mse_loss(pred, torch.full_like(pred, 1.0 if real else 0.0))


def train_cyclegan(domain_a: Union[str, os.PathLike], domain_b: Union[str, os.PathLike],
                   run_dir: Union[str, os.PathLike], options: Optional[CycleGANOptions] = None,
                   device: str = "auto", resume: bool = False,
                   callback: Optional[training.Callback] = None) -> training.TrainResult:
    """Train A→B and B→A generators; write run_dir/{G_A2B,G_B2A}.pt, checkpoint.pt, losses.json/png
    and samples/epoch_NNN.png."""
    opts = options or CycleGANOptions()
    run = Path(run_dir)
    if run.exists() and not run.is_dir():
        raise InputError(f"-o {run} exists and is not a folder")
    ck_path = run / "checkpoint.pt"
    state = training.resume_state(ck_path, resume, KIND)
    if state is not None:
        opts = training.resumed_options(opts, state["options"], ("epochs", "checkpoint_every", "sample_every",
                                                                 "workers", "keep_generators"), ck_path)
    elif ck_path.exists():
        raise InputError(f"{run} already holds a run: continue it with {{resume}} or choose another {{output}} folder",
                         refs=("resume", "output"))
    opts.validate()
    files_a = images.list_images(domain_a, "domain A")
    files_b = images.list_images(domain_b, "domain B")
    created = not run.exists()
    images.prepare_output_folder(run)
    try:
        return _train(domain_a, domain_b, run, opts, state, files_a, files_b, ck_path, device, callback)
    finally:     # a run that stopped before writing anything (unreadable photos, Ctrl-C) leaves no folder
        if created:
            images.remove_empty_tree(run)


def _train(domain_a, domain_b, run: Path, opts: CycleGANOptions, state: Optional[dict], files_a: list, files_b: list,
           ck_path: Path, device: str, callback: Optional[training.Callback]) -> training.TrainResult:
    """The training itself, into the prepared folder `run`."""
    ddp = training.setup_distributed(device)
    dev = ddp.device
    # the Magenta transformer already paints: start it at domain B's mean style (a resumed run restores its
    # own). Computed before seeding: loading the style predictor the first time draws random numbers.
    start_style = mean_style(files_b) if opts.generator == "magenta" and state is None else None
    training.seed_everything(opts.seed)

    if opts.generator == "magenta":
        g_ab = magenta_generator(opts.train_params, start_style).to(dev)
        g_ba = build_generator("dncnn", opts.depth, opts.channels).to(dev)
    else:
        g_ab = build_generator(opts.generator, opts.depth, opts.channels, opts.blocks).to(dev)
        g_ba = build_generator(opts.generator, opts.depth, opts.channels, opts.blocks).to(dev)
    d_a, d_b = build_discriminator(opts.discriminator).to(dev), build_discriminator(opts.discriminator).to(dev)
    learnt = g_ab.trainable() if hasattr(g_ab, "trainable") else list(g_ab.parameters())
    for prm in g_ab.parameters():
        prm.requires_grad_(False)
    for prm in learnt:
        prm.requires_grad_(True)
    opt_g = torch.optim.Adam([*learnt, *g_ba.parameters()], lr=opts.lr, betas=opts.betas)
    opt_da = torch.optim.Adam(d_a.parameters(), lr=opts.lr, betas=opts.betas)
    opt_db = torch.optim.Adam(d_b.parameters(), lr=opts.lr, betas=opts.betas)
    scheds = [training.make_scheduler(o, opts.schedule, opts.epochs, opts.decay_every, opts.gamma)
              for o in (opt_g, opt_da, opt_db)]
    pool_a, pool_b = ImagePool(opts.pool_size), ImagePool(opts.pool_size)
    per_epoch = max(1, math.ceil((opts.epoch_size or max(len(files_a), len(files_b)))
                                / (opts.batch_size * ddp.world)))
    total = opts.epochs * per_epoch
    trainer = training.Trainer(KIND, ck_path, opts, state, ddp,
                               {"G_A2B": g_ab, "G_B2A": g_ba, "D_A": d_a, "D_B": d_b},
                               {"G": opt_g, "D_A": opt_da, "D_B": opt_db}, dict(zip(("G", "D_A", "D_B"), scheds)),
                               {"A": pool_a, "B": pool_b})
    start = trainer.start
    m_ab, m_ba, m_da, m_db = (trainer.wrap(n) for n in ("G_A2B", "G_B2A", "D_A", "D_B"))
    it_a = training.batches(training.RandomCrops(files_a, opts.size, opts.seed, (1.0, 1.15)), opts.batch_size,
                            start, opts.workers, ddp.rank, ddp.world)
    it_b = training.batches(training.RandomCrops(files_b, opts.size, opts.seed + 1, (1.0, 1.15)),
                            opts.batch_size, start, opts.workers, ddp.rank, ddp.world)
    fixed_a = torch.stack([training.RandomCrops(files_a, opts.size, 12345)[k] for k in range(4)])
    fixed_b = torch.stack([training.RandomCrops(files_b, opts.size, 12345)[k] for k in range(4)])
    lam, lam_id = opts.cycle_weight, opts.cycle_weight * opts.identity_weight

    def step_fn(step: int, batch) -> dict[str, float]:
        a, b = (t.to(dev, non_blocking=True) for t in batch)
        # generators: fool both discriminators, cycle back, (identity)
        for d in (d_a, d_b):
            d.requires_grad_(False)
        with training.autocast(dev, opts.amp):
            fake_b, fake_a = m_ab(a), m_ba(b)
            rec_a, rec_b = m_ba(fake_b), m_ab(fake_a)
            adv = _lsgan(m_db(fake_b).float(), True) + _lsgan(m_da(fake_a).float(), True)
            cyc = F.l1_loss(rec_a.float(), a) + F.l1_loss(rec_b.float(), b)
            idt = (F.l1_loss(m_ab(b).float(), b) + F.l1_loss(m_ba(a).float(), a)) if lam_id > 0 else torch.zeros(
                (), device=dev)
            loss_g = adv + lam * cyc + lam_id * idt
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        # discriminators: real -> 1, (pooled) fake -> 0
        for d in (d_a, d_b):
            d.requires_grad_(True)
        with training.autocast(dev, opts.amp):
            pb, pa = pool_b.query(fake_b.detach()), pool_a.query(fake_a.detach())
            loss_db = 0.5 * (_lsgan(m_db(b).float(), True) + _lsgan(m_db(pb).float(), False))
            loss_da = 0.5 * (_lsgan(m_da(a).float(), True) + _lsgan(m_da(pa).float(), False))
        opt_db.zero_grad(set_to_none=True)
        loss_db.backward()
        opt_db.step()
        opt_da.zero_grad(set_to_none=True)
        loss_da.backward()
        opt_da.step()
        if step % per_epoch == 0:
            for s in scheds:
                s.step()
            e = step // per_epoch
            if ddp.main and (e % opts.sample_every == 0 or step == total):
                samples(g_ab, g_ba, fixed_a, fixed_b, run / "samples" / f"epoch_{e:03d}.png")
        return {"G": loss_g.item(), "adv": adv.item(), "cycle": cyc.item(), "identity": idt.item(),
                "D_A": loss_da.item(), "D_B": loss_db.item(), "lr": opt_g.param_groups[0]["lr"],
                "epoch": step / per_epoch}

    def outputs(step: int, seconds: float) -> None:
        meta = {"domain_a": str(domain_a), "domain_b": str(domain_b), "images_a": len(files_a),
                "images_b": len(files_b), "epoch": step / per_epoch, "steps": step, "seconds": round(seconds, 1),
                "cpu_seconds": round(trainer.cpu_seconds, 1),
                "device": training.device_label(dev, ddp.world), "options": asdict(opts)}
        save_generator(g_ab, run / "G_A2B.pt", {**meta, "direction": "A2B"})
        save_generator(g_ba, run / "G_B2A.pt", {**meta, "direction": "B2A"})
        if opts.keep_generators:
            save_generator(g_ab, run / "generators" / f"G_A2B_step{step:07d}.pt", {**meta, "direction": "A2B"})
        if trainer.history:
            training.write_history(trainer.history, run / "losses", ("G", "cycle", "D_A", "D_B"),
                                   f"CycleGAN {run.name}", meta)

    return trainer.fit(step_fn, zip(it_a, it_b), total, opts.checkpoint_every * per_epoch, outputs, run, callback)


@torch.inference_mode()
def mean_style(files: list, limit: int = 200) -> torch.Tensor:
    """Mean Magenta style vector of up to `limit` images (each read at 512 px)."""
    from ..magenta.stylize import style_vector
    vecs = []
    for f in files[:limit]:
        try:
            vecs.append(style_vector(images.load_image(f, long_side=512)))
        except InputError:
            continue                           # list_images already warned about unreadable files
    if not vecs:
        raise InputError("domain B holds no readable image to start the Magenta generator's style from")
    return torch.cat(vecs).mean(0, keepdim=True)


@torch.no_grad()
def samples(g_ab: torch.nn.Module, g_ba: torch.nn.Module, a: torch.Tensor, b: torch.Tensor, path: Path) -> Path:
    """A grid, one row per image: input, translated, cycled back (A rows first, then B rows)."""
    from torchvision.utils import make_grid
    modes = [g_ab.training, g_ba.training]
    g_ab.eval(), g_ba.eval()
    dev = next(g_ab.parameters()).device
    a, b = a.to(dev), b.to(dev)
    fb, fa = g_ab(a), g_ba(b)
    rows = torch.cat([torch.stack([a, fb, g_ba(fb)], 1), torch.stack([b, fa, g_ab(fa)], 1)]).flatten(0, 1)
    g_ab.train(modes[0]), g_ba.train(modes[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = make_grid(rows.clamp(0, 1).cpu(), nrow=3, padding=2, pad_value=1.0)
    return images.save_image(grid.unsqueeze(0), path)
