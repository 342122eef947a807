"""Train a decoder for AdaIN/WCT on random crops of a content folder (and a style folder).

Objectives: `adain` (Huang & Belongie): decode AdaIN(content, style) and match its features
at the level (content term) and the style's mean/std at relu1_1 … the level (style term);
`reconstruct` (Li et al., for WCT): decode the content's own features, pixel + feature L2.
Shares the loop, checkpoints, resume and torchrun support of `painterly.training`.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Optional, Union

import torch
import torch.nn.functional as F

from ... import images, training
from ...errors import InputError
from ...options import OptionError, opt
from ...training import train_option
from .networks import LEVELS, Decoder
from .pairs import NORMALISED, build_encoder, load_decoder, save_decoder
from .transforms import adain, mean_std

KIND = "train-decoder"
OBJECTIVES = ("adain", "reconstruct")


@dataclass(frozen=True)
class DecoderTrainOptions(training.TrainOptions):
    """Every knob of a decoder-training run."""

    size: int = train_option("size", min=16, help="crop size")
    batch_size: int = train_option("batch_size", 8)
    lr: float = train_option("lr", 1e-4)
    checkpoint_every: int = train_option("checkpoint_every", help="save decoder + checkpoint every N steps (0: at "
                                                                  "the end); Ctrl-C also saves")
    level: str = opt("relu3_1", choices=LEVELS, help="encoder level the decoder inverts")
    encoder: str = opt(NORMALISED, help="the encoder (vgg19-normalised or a VGG of painterly weights)")
    objective: str = opt("adain", choices=OBJECTIVES, help="adain (Huang & Belongie) or reconstruct (for WCT)")
    init: Optional[str] = opt(None, help="start from a decoder file or shipped level (fine-tuning)")
    steps: int = train_option("steps")
    style_weight: Optional[float] = opt(None, min=0, help="lambda of the style term (adain, default 10) or of "
                                                          "the feature term (reconstruct, 1e-3)")
    amp: bool = train_option("amp")


def _stat_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    (ma, sa), (mb, sb) = mean_std(a), mean_std(b)
    return F.mse_loss(ma, mb) + F.mse_loss(sa, sb)


@torch.no_grad()
def fit_linear_decoder(dec: Decoder, enc: torch.nn.Module, crops: training.RandomCrops, device: str,
                       count: int = 32, rows: int = 100_000) -> float:
    """The relu1_1 decoder is one 3×3 conv, linear in the features: solve it by least squares on
    `rows` random pixels of `count` crops. Gradient descent crawls here (features are ~100× pixels: badly conditioned);
    the exact fit reconstructs photos at ~40 dB PSNR. Returns the fit's mean squared error."""
    conv = dec.body[-1]
    x = torch.stack([crops[k] for k in range(count)]).to(device)
    f = enc(x)["relu1_1"]
    cols = F.unfold(F.pad(f, (1, 1, 1, 1), mode="reflect"), 3).transpose(1, 2).reshape(-1, conv.in_channels * 9)
    y = x.permute(0, 2, 3, 1).reshape(-1, 3)
    pick = torch.randperm(len(cols), generator=torch.Generator().manual_seed(0))[:rows].to(device)
    cols, y = cols[pick], y[pick].double()
    a = torch.cat([cols, torch.ones(len(cols), 1, device=device)], 1).double()
    sol = torch.linalg.lstsq(a.cpu(), y.cpu()).solution.float().to(device)
    conv.weight.copy_(sol[:-1].T.reshape(3, conv.in_channels, 3, 3))
    conv.bias.copy_(sol[-1])
    return float(((a.float() @ sol - y.float()) ** 2).mean())


def train_decoder(content_dir: Union[str, os.PathLike], output: Union[str, os.PathLike],
                  style_dir: Optional[Union[str, os.PathLike]] = None,
                  options: Optional[DecoderTrainOptions] = None, device: str = "auto", resume: bool = False,
                  callback: Optional[training.Callback] = None) -> training.TrainResult:
    """Train a decoder inverting `options.encoder` at `options.level`; write it to `output`."""
    output, state, opts = training.start_run(output, resume, KIND, options or DecoderTrainOptions())
    if opts.style_weight is None:
        opts = replace(opts, style_weight=10.0 if opts.objective == "adain" else 1e-3)
    if opts.objective == "adain" and style_dir is None:
        raise OptionError("style_dir", "is needed by the adain objective (a folder of paintings)")
    content_files = images.list_images(content_dir, "content")
    style_files = images.list_images(style_dir, "painting") if style_dir is not None else None
    ddp = training.setup_distributed(device)
    dev = ddp.device
    training.seed_everything(opts.seed)

    levels = LEVELS[: LEVELS.index(opts.level) + 1]
    enc = build_encoder(opts.encoder, tuple(levels)).to(dev)
    dec = Decoder(opts.level).to(dev)
    if opts.init and state is None:
        init = load_decoder(opts.init)
        if (init.encoder, init.level) != (opts.encoder, opts.level):
            raise OptionError("init", f"decoder inverts {init.encoder} at {init.level}, not {opts.encoder} at "
                                      f"{opts.level}")
        dec.load_state_dict(init.decoder.state_dict())
        dec.input_scale = init.decoder.input_scale
    if opts.init is None and state is None:
        crops = training.RandomCrops(content_files, opts.size, opts.seed + 7)
        if opts.level == "relu1_1":
            fit_linear_decoder(dec, enc, crops, dev)
        else:
            with torch.no_grad():
                f = enc(torch.stack([crops[k] for k in range(8)]).to(dev))[opts.level]
            dec.input_scale = float(1.0 / f.pow(2).mean().sqrt().clamp_min(1e-6))
    optimizer = torch.optim.Adam(dec.parameters(), lr=opts.lr)
    trainer = training.Trainer(KIND, training.checkpoint_path(output), opts, state, ddp, {"decoder": dec},
                               {"adam": optimizer})
    if state is not None:
        dec.input_scale = state.get("input_scale", 1.0)
    start = trainer.start
    model = trainer.wrap("decoder")
    c_iter = training.batches(training.RandomCrops(content_files, opts.size, opts.seed), opts.batch_size, start,
                              opts.workers, ddp.rank, ddp.world)
    s_iter = (training.batches(training.RandomCrops(style_files, opts.size, opts.seed + 1), opts.batch_size, start,
                               opts.workers, ddp.rank, ddp.world) if style_files else None)
    data = zip(c_iter, s_iter) if s_iter is not None else ((c, None) for c in c_iter)

    def step_fn(step: int, batch) -> dict[str, float]:
        c, s = batch
        c = c.to(dev, non_blocking=True)
        with training.autocast(dev, opts.amp):
            with torch.no_grad():
                fc = enc(c)[opts.level].float()
                if opts.objective == "adain":
                    fs = enc(s.to(dev, non_blocking=True))
                    target = torch.cat([adain(fc[i:i + 1], fs[opts.level][i:i + 1].float()) for i in range(len(fc))])
                else:
                    target = fc
            y = model(target)
            fy = enc(y)
        if opts.objective == "adain":
            content = F.mse_loss(fy[opts.level].float(), target)
            style = sum(_stat_loss(fy[n].float(), fs[n].float()) for n in levels)
            loss = content + opts.style_weight * style
            out = {"content": content.detach(), "style": style.detach()}
        else:
            pixel = F.mse_loss(y.float(), c)
            feature = F.mse_loss(fy[opts.level].float(), fc)
            loss = pixel + opts.style_weight * feature
            out = {"pixel": pixel.detach(), "feature": feature.detach()}
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.item(), **{k: float(v) for k, v in out.items()}}

    def outputs(step: int, seconds: float) -> None:
        history = trainer.history
        meta = {"name": Path(output).stem, "objective": opts.objective, "content_dir": str(content_dir),
                "style_dir": str(style_dir) if style_dir else None, "steps": step, "seconds": round(seconds, 1),
                "device": training.device_label(dev, ddp.world), "options": asdict(opts),
                "final_losses": history[-1] if history else None}
        save_decoder(dec, output, opts.encoder, meta)
        if history:
            keys = ("loss", "content", "style") if opts.objective == "adain" else ("loss", "pixel", "feature")
            training.write_history(history, Path(output).with_suffix(".losses"), keys,
                                   f"train-decoder {opts.level} ({opts.objective})", meta)

    return trainer.fit(step_fn, data, opts.steps, opts.checkpoint_every, outputs, Path(output), callback,
                       scalars=lambda: {"input_scale": dec.input_scale})
