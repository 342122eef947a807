"""Train a feed-forward network for one style (Johnson et al. 2016): perceptual losses from a
fixed VGG (content on relu2_2, Gram style on four layers, TV), Adam, random crops of a photo
folder. Runs on the CPU, one GPU (bfloat16 autocast) or several under torchrun (DDP)."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Optional, Union

import torch

from ... import images, training, weights
from ...device import check_memory, pick_device
from ..gatys.stylize import estimate_style_memory
from ...options import names, opt
from ...training import train_option
from ...features import Encoder
from ...losses import gram_matrix
from ...objective import ContentTerm, GramTerm, Objective, tv_term
from .model import save_model
from .network import TransformerNet

KIND = "train-style"


@dataclass(frozen=True)
class StyleTrainOptions(training.TrainOptions):
    """Every knob of a style-training run; defaults train a usable style in ~2000 steps."""

    size: int = train_option("size", help="crop size of the training photos (the network downsamples by 4)")
    steps: int = train_option("steps")
    content_weight: float = opt(1.0, min=0, help="weight of the content term")
    style_weight: Optional[float] = opt(None, min=0, help="default: balanced for the encoder (1e-5)")
    tv_weight: float = opt(0.0, min=0, help="total-variation weight")
    content_layers: tuple[str, ...] = opt(("relu2_2",), parse=names, help="comma-separated")
    style_layers: tuple[str, ...] = opt(("relu1_2", "relu2_2", "relu3_3", "relu4_3"), parse=names,
                                        help="comma-separated")
    style_size: int = opt(512, min=1, help="style image long side")
    width: int = opt(16, min=1, help="channels of the first layer (Johnson: 32)")
    blocks: int = opt(5, min=1, help="residual blocks")
    encoder: str = opt(weights.AUTO, help="loss / feature network")
    amp: bool = train_option("amp")

    def validate(self) -> None:
        super().validate()
        weights.check_encoder(self.encoder)


def default_style_weight(encoder: str) -> float:
    """β that balances Gram style against relu2_2 content for an encoder's input scale."""
    return 1e-5 if weights.spec(encoder).input_convention == "caffe" else 1e5


def perceptual_objective(encoder: Encoder, style: torch.Tensor, opts: StyleTrainOptions) -> Objective:
    """Johnson et al.'s loss: content on `content_layers` (target: the batch itself, set per step with
    `with_content`), Gram style of `style` on `style_layers`, TV; equal layer weights."""
    terms = [ContentTerm(dict.fromkeys(opts.content_layers, 1.0), weight=opts.content_weight),
             GramTerm(dict.fromkeys(opts.style_layers, 1.0), weight=opts.style_weight), tv_term(opts.tv_weight)]
    probe = Objective(encoder, terms)
    with torch.no_grad():
        feats = probe.encode(style)
    grams = {n: gram_matrix(feats[n]) for n in opts.style_layers}
    return Objective(encoder, [terms[0], replace(terms[1], targets=grams), terms[2]])


def train_style(style: images.ImageLike, data: Union[str, os.PathLike], output: Union[str, os.PathLike],
                options: Optional[StyleTrainOptions] = None, device: str = "auto", resume: bool = False,
                callback: Optional[training.Callback] = None) -> training.TrainResult:
    """Train a TransformerNet for `style` on the photos under `data`; write the model to `output`
    (and `output`.ckpt.pt, .losses.json/.png). `resume` continues from the checkpoint."""
    output, state, opts = training.start_run(output, resume, KIND, options or StyleTrainOptions())
    style_label = images.label(style, "style image")
    sw, sh = images.image_size(style, "style image")
    images.check_min_size((sw, sh), style_label)
    check_memory(estimate_style_memory(math.prod(images.fit_size(sh, sw, opts.style_size))), pick_device(device),
                 f"encoding {style_label} at {opts.style_size} px", "style_size")
    if opts.encoder == weights.AUTO:
        opts = replace(opts, encoder=weights.auto_encoder())
    if opts.style_weight is None:
        opts = replace(opts, style_weight=default_style_weight(opts.encoder))
    files = images.list_images(data, "training photo")
    ddp = training.setup_distributed(device)
    dev = ddp.device
    training.seed_everything(opts.seed)

    net = TransformerNet(opts.width, opts.blocks).to(dev)
    encoder = Encoder(opts.encoder, [*opts.content_layers, *opts.style_layers]).to(dev)
    style_label = str(style) if isinstance(style, (str, os.PathLike)) else "style image"
    s = images.resize_long_side(images.load_image(style, "style image", opts.style_size), opts.style_size).to(dev)
    objective = perceptual_objective(encoder, s, opts)
    optimizer = torch.optim.Adam(net.parameters(), lr=opts.lr)
    trainer = training.Trainer(KIND, training.checkpoint_path(output), opts, state, ddp, {"net": net},
                               {"adam": optimizer})
    model = trainer.wrap("net")
    data_iter = training.batches(training.RandomCrops(files, opts.size, opts.seed), opts.batch_size, trainer.start,
                                 opts.workers, ddp.rank, ddp.world)

    def step_fn(step: int, x: torch.Tensor) -> dict[str, float]:
        x = x.to(dev, non_blocking=True)
        with training.autocast(dev, opts.amp):
            y = model(x)
            fy = objective.encode(y)
            with torch.no_grad():
                fx = objective.encode(x)
        loss, parts = objective.with_content(fx)(y.float(), fy)   # the batch is its own content target
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.item(), **{k: float(v.detach()) for k, v in parts.items()}}

    def outputs(step: int, seconds: float) -> None:
        history = trainer.history
        meta = {"name": Path(output).stem, "style": Path(style_label).name, "data": str(data),
                "photos": len(files), "steps": step, "seconds": round(seconds, 1),
                "device": training.device_label(dev, ddp.world), "options": asdict(opts),
                "final_losses": history[-1] if history else None}
        save_model(net, output, meta)
        if history:
            training.write_history(history, Path(output).with_suffix(".losses"), ("loss", "content", "style"),
                                   f"train-style {Path(style_label).name}", meta)

    return trainer.fit(step_fn, data_iter, opts.steps, opts.checkpoint_every, outputs, Path(output), callback)
