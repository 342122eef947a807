"""A new style in minutes on a CPU (Dumoulin et al. 2017, section 4.3): keep every convolution of
the GPU-trained 26-style network fixed and learn only the new style's gamma/beta (990 numbers) with
the perceptual loss of the offline VGG-19 -- Gatys' own objective (content conv4_2, Gram style
conv1_1..conv5_1), averaged over random photo crops. Also: refining one painting's style vector for
the arbitrary network against the same loss (seconds).
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Optional, Union

import torch
from torch import nn

from ... import images, training, weights
from ...errors import InputError
from ...features import Encoder
from ...options import STEPS_MAX, OptionError, opt
from ...training import train_option
from ..gatys.options import DEFAULT_STYLE_LAYERS
from ...losses import gram_matrix
from ...objective import ContentTerm, GramTerm, Objective
from .presets import NAMES, save_style, save_vector
from .stylize import pad4

KIND = "train-style-fast"


@dataclass(frozen=True)
class FastStyleOptions(training.TrainOptions):
    """A fast (gamma/beta-only) style run; the defaults beat the shipped 43-minute starry_night in minutes."""

    size: int = train_option("size", 160)
    batch_size: int = train_option("batch_size", 2, help="photos per step")
    lr: float = train_option("lr", 0.02)
    checkpoint_every: int = train_option("checkpoint_every", 20, help="save style + checkpoint every N steps")
    steps: int = train_option("steps", 100)
    content_weight: float = opt(1.0, min=0, help="weight of the content term (conv4_2)")
    style_weight: Optional[float] = opt(None, min=0, help="default: the encoder's Gatys balance (1e-4)")
    style_size: int = opt(512, min=32, help="style image long side (bench quality: 512)")
    init: str = opt("nearest", choices=("nearest", "mean"),
                    help="start from the best-scoring of the 26 styles on one batch, or their mean")
    encoder: str = opt(weights.AUTO, help="loss network")

    def validate(self) -> None:
        super().validate()
        weights.check_encoder(self.encoder)


class StyleRow(nn.Module):
    """The only trainable numbers: one style's flat gamma|beta."""

    def __init__(self, params: torch.Tensor):
        super().__init__()
        self.params = nn.Parameter(params.clone().reshape(1, -1))


class PerceptualLoss:
    """Gatys' objective against one painting: content on conv4_2 (target: the photo the network
    painted), Gram style on conv1_1..conv5_1 (`painterly.objective` terms, equal layer weights)."""

    def __init__(self, style: torch.Tensor, encoder: str, style_weight: Optional[float], content_weight: float = 1.0,
                 device: str = "cpu"):
        name = weights.auto_encoder() if encoder == weights.AUTO else encoder
        content_layers, style_layers = ("conv4_2",), tuple(DEFAULT_STYLE_LAYERS)
        self.enc = Encoder(name, [*content_layers, *style_layers]).to(device)
        self.style_weight = style_weight if style_weight is not None else weights.spec(name).style_weight
        self.content_weight = content_weight
        terms = [ContentTerm(dict.fromkeys(content_layers, 1.0), weight=content_weight),
                 GramTerm(dict.fromkeys(style_layers, 1.0), weight=self.style_weight)]
        with torch.no_grad():
            f = Objective(self.enc, terms).encode(style)
        grams = {n: gram_matrix(f[n]) for n in style_layers}
        self.objective = Objective(self.enc, [terms[0], replace(terms[1], targets=grams)])

    def __call__(self, y: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"loss": the weighted total, "content", "style"} of the painting `y` of the photo `x`."""
        with torch.no_grad():
            fx = self.objective.encode(x)
        loss, parts = self.objective.with_content(fx)(y)
        return {"loss": loss, **parts}


def train_fast_style(style: images.ImageLike, data: Union[str, os.PathLike], output: Union[str, os.PathLike],
                     options: Optional[FastStyleOptions] = None, device: str = "auto", resume: bool = False,
                     callback: Optional[training.Callback] = None) -> training.TrainResult:
    """Learn `style`'s gamma/beta for the 26-style network on photos under `data`; write the style to
    `output` (usable as --model OUTPUT), with `output`.ckpt.pt and .losses.json/.png."""
    from ...device import pick_device
    from .files import load
    dev = pick_device(device)
    output, state, opts = training.start_run(output, resume, KIND, options or FastStyleOptions())
    files = images.list_images(data, "training photo")
    training.seed_everything(opts.seed)
    net = copy.deepcopy(load("magenta-26styles")).to(dev)
    style_label = str(style) if isinstance(style, (str, os.PathLike)) else "style image"
    s = images.resize_long_side(images.load_image(style, "style image", opts.style_size), opts.style_size).to(dev)
    loss_fn = PerceptualLoss(s, opts.encoder, opts.style_weight, opts.content_weight, dev)
    init_note = ""
    if state is None:
        rows = torch.cat([net.gamma, net.beta], dim=1)
        if opts.init == "mean":
            init = rows.mean(0)
            init_note = "mean of the 26 styles"
        else:   # the existing style that already scores best on a held-out batch
            x = next(iter(training.batches(training.RandomCrops(files, opts.size, opts.seed + 7919), 2, 0))).to(dev)
            with torch.no_grad():
                scores = [float(loss_fn(net(x, params=r[None]), x)["loss"]) for r in rows]
            k = min(range(len(scores)), key=scores.__getitem__)
            init, init_note = rows[k], f"started from {NAMES[k]}"
    else:
        init = torch.zeros(net.gamma.shape[1] * 2)
    row = StyleRow(init).to(dev)
    optimizer = torch.optim.Adam(row.parameters(), lr=opts.lr)
    trainer = training.Trainer(KIND, training.checkpoint_path(output), opts, state,
                               training.Distributed(device=dev), {"row": row},
                               {"adam": optimizer})
    if state is not None:
        init_note = state.get("init_note", "")
    data_iter = training.batches(training.RandomCrops(files, opts.size, opts.seed), opts.batch_size, trainer.start,
                                 opts.workers)

    def step_fn(step: int, x: torch.Tensor) -> dict[str, float]:
        x = x.to(dev)
        losses = loss_fn(net(x, params=row.params), x)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        optimizer.step()
        return {k: float(v.detach()) for k, v in losses.items()}

    def outputs(step: int, seconds: float) -> None:
        history = trainer.history
        meta = {"name": Path(output).stem, "style": Path(style_label).name, "data": str(data),
                "photos": len(files), "steps": step, "seconds": round(seconds, 1),
                "device": training.device_label(dev, 1), "options": asdict(opts), "init": init_note,
                "method": "gamma/beta of Magenta's 26-style network (convolutions frozen)",
                "final_losses": history[-1] if history else None}
        save_style(row.params, output, meta)
        if history:
            training.write_history(history, Path(output).with_suffix(".losses"), ("loss", "content", "style"),
                                   f"fast style {Path(style_label).name}", meta)

    return trainer.fit(step_fn, data_iter, opts.steps, opts.checkpoint_every, outputs, Path(output), callback,
                       scalars=lambda: {"init_note": init_note})


@dataclass(frozen=True)
class RefineOptions:
    """`painterly refine-style`: optimise a painting's style vector on photos (seconds)."""

    steps: int = opt(30, min=0, max=STEPS_MAX,
                     help="Adam steps on the 100 numbers (0: save the predictor's vector as is)")
    lr: float = opt(0.05, above=0, help="Adam learning rate")
    size: int = opt(512, min=64, help="long side the photos (and the painting's Gram targets) are used at: "
                                      "the size you will paint at (a vector refined at 256 px can paint worse at 512)")
    style_square: int = opt(256, min=32, help="side of the painting's centre square fed to the style predictor")
    style_weight: Optional[float] = opt(None, min=0, help="default: the encoder's Gatys balance (1e-4)")
    encoder: str = opt(weights.AUTO, help="loss network")


def check_predictor_memory(style_square: int, device: str = "cpu") -> None:
    """OptionError naming `style_square` when the style predictor's square would not fit in free memory."""
    from ...device import free_memory_bytes, gib
    from .stylize import PREDICTOR_BYTES_PER_PIXEL
    need, free = PREDICTOR_BYTES_PER_PIXEL * style_square ** 2, free_memory_bytes(device)
    if free is not None and need > free:
        raise OptionError("style_square", f"is too large: the style predictor's {style_square}x{style_square} "
                                          f"square needs about {gib(need)} but only {gib(free)} is free on "
                                          f"{device}; lower it")


def refine_vector(content, style: torch.Tensor, steps: int = 20, lr: float = 0.05,
                  style_square: int = 256, encoder: str = weights.AUTO, style_weight: Optional[float] = None,
                  callback=None, size: Optional[int] = None) -> tuple[torch.Tensor, list[dict]]:
    """Optimise the painting's 100-number style vector so that the transformer's output on `content`
    (one photo, or a list: their mean loss) scores lower on Gatys' objective (Adam, `steps` steps);
    returns (the best vector (1, 100), history). The first record is the predictor's own vector;
    Ctrl-C stops early and returns the best so far (its last record says "stopped")."""
    from .files import load
    from .stylize import check_style_image, style_vector
    if steps < 0:
        raise OptionError("steps", f"must be at least 0, got {steps}")
    photos = [content] if isinstance(content, torch.Tensor) else list(content)
    if not photos:
        raise InputError("refine-style needs at least one photo")
    check_style_image(style)
    weights.check_encoder(encoder)
    check_predictor_memory(style_square)
    if size:
        photos = [images.resize_long_side(p, size) for p in photos]
    net = load("magenta-transformer")
    s = images.resize_long_side(style, max(max(p.shape[-2:]) for p in photos))
    loss_fn = PerceptualLoss(s, encoder, style_weight)
    v = style_vector(style, style_square).clone().requires_grad_(True)
    opt_ = torch.optim.Adam([v], lr=lr)
    padded = [pad4(p) for p in photos]
    history: list[dict] = []
    best = (float("inf"), v.detach().clone())
    t0 = time.perf_counter()
    try:
        for step in range(steps + 1):
            opt_.zero_grad(set_to_none=True)
            sums: dict[str, float] = {}
            for xp, h, w in padded:      # one photo at a time: gradients add up, activations do not
                losses = loss_fn(net(xp, v)[..., :h, :w], xp[..., :h, :w])
                if step < steps:
                    (losses["loss"] / len(padded)).backward()
                for k, t in losses.items():
                    sums[k] = sums.get(k, 0.0) + float(t.detach()) / len(padded)
            rec = {"step": step, **sums, "seconds": time.perf_counter() - t0}
            history.append(rec)
            if callback:
                callback(rec)
            if rec["loss"] < best[0]:
                best = (rec["loss"], v.detach().clone())
            if step < steps:
                opt_.step()
    except KeyboardInterrupt:
        if history:
            history[-1]["stopped"] = "interrupted"
        else:
            raise
    return best[1], history


def write_vector(vec: torch.Tensor, path: Union[str, os.PathLike], meta: dict) -> Path:
    """Save a (refined) style vector for `--method magenta STYLE.pt`."""
    images.check_output_path(path, {".pt"})
    return save_vector(vec, path, meta)
