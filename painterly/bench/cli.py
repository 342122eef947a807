"""`painterly bench`: its flags and what each benchmark writes (wired in by `painterly.cli`).

Lives in the bench package, so `painterly --help` and every other sub-command never import it.
"""

from __future__ import annotations

import argparse
import sys

from .. import methods
from ..errors import InputError
from ..options import positive_int


def configure(b: argparse.ArgumentParser) -> None:
    """The flags of `painterly bench` on its sub-parser `b`."""
    b.add_argument("what", choices=("gatys", "fast", "print", "photo", "masks", "engine", "video"),
                   help="gatys: per-step time/memory; fast: every one-pass method and training speed; "
                        "print: every tiled method at print size (6000x4000), seconds and peak memory; "
                        "photo: photorealistic transfer on photo pairs (SSIM, colour distance, time, memory); "
                        "masks: automatic masks' IoU against hand-made masks, seconds at 512 px and 24 MP; "
                        "engine: a folder of 200 photos at 512 px, local engine vs Ray at 2 workers (images/s, "
                        "overhead, start-up); "
                        "video: warping error (frame by frame, temporal, stable result) on synthetic clips and a real "
                        "one, style strength, frames/s at 640x360")
    b.add_argument("--pairs", default=None, metavar="DIR",
                   help="bench photo: folder with content/, style/ (+ *_segment/) photo pairs")
    b.add_argument("-o", "--output", default=None, help="JSON file to write (default bench-WHAT.json)")
    b.add_argument("--sizes", type=positive_int, nargs="+", default=[256, 512, 1024])
    b.add_argument("--steps", type=positive_int, default=5, help="timed iterations per size")
    b.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    b.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N")
    b.add_argument("--converge-steps", type=positive_int, default=100,
                   help="steps of the single- vs multi-scale convergence comparison at 512 px")
    b.add_argument("--print-size", type=positive_int, default=6000, help="bench print: long side (default 6000)")
    b.add_argument("--methods", nargs="+", default=None, help="bench print, video: only these methods")
    b.add_argument("--model-file", action="append", default=[], metavar="METHOD=FILE",
                   help="bench print: a model file for a method (repeatable), e.g. cyclegan=run/G_A2B.pt")
    b.add_argument("--tile-stats", choices=("auto", "reduced", "exact"), default="auto",
                   help="bench print: instance-norm statistics of tiled networks")
    b.add_argument("--reference", action="store_true",
                   help="gatys: seconds painterly and the plain tutorial L-BFGS loop need to the same loss "
                        "(sizes default 256 512)")
    b.add_argument("--repeats", type=positive_int, default=2, help="--reference: interleaved pairs per size")
    b.add_argument("--images", default=None, metavar="DIR", help="bench print: keep the outputs in DIR; gatys --reference: write side-by-side PNGs there")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark `args.what` and write its JSON; 0 when written."""
    from .. import bench
    from ..device import pick_device
    if args.what == "gatys" and args.reference:
        from . import gatys_reference
        out = args.output or "bench-gatys-reference.json"

        def keep(what: str, partial: dict) -> None:   # a long run keeps what it has measured
            print(f"bench: {what}", file=sys.stderr, flush=True)
            bench.write(out, partial)
        sizes = args.sizes if args.sizes != [256, 512, 1024] else [256, 512]
        result = gatys_reference.reference_benchmark(sizes, repeats=args.repeats, quick=args.quick,
                                                     device=pick_device(args.device), image_dir=args.images,
                                                     progress=keep)
        print(f"wrote {bench.write(out, result)}", file=sys.stderr)
        return 0
    if args.what == "print":
        from .print_size import print_benchmark
        models: dict[str, list[str]] = {}
        for item in args.model_file:
            name, sep, path = item.partition("=")
            if not sep or name not in methods.names():
                raise InputError(f"--model-file '{item}': use METHOD=FILE with a method of {', '.join(methods.names())}")
            models.setdefault(name, []).append(path)
        result = print_benchmark(args.print_size, args.methods, models, args.tile_stats, pick_device(args.device),
                                 quick=args.quick, out_dir=args.images)
    elif args.what == "photo":
        from .photo import photo_benchmark
        result = photo_benchmark(args.pairs, methods=args.methods, quick=args.quick, image_dir=args.images,
                                 progress=lambda row: print(f"bench: {row['pair']} {row['method']} ssim {row['ssim']}"
                                                            f" ratio {row['distance_ratio']}", file=sys.stderr))
    elif args.what == "video":
        from .video import video_benchmark
        out = args.output or "bench-video.json"

        def row(kind: str, r: dict, partial: dict) -> None:   # a long run keeps what it has measured
            ratio = r.get("ratio_to_stable") or r.get("ratio_to_input") or {"fps": r.get("fps")}
            print(f"bench: {kind} {r['method']} {r.get('clip', '')} "
                  + " ".join(f"{k} {v:.3g}" for k, v in ratio.items()), file=sys.stderr, flush=True)
            bench.write(out, partial)
        result = video_benchmark(quick=args.quick, device=pick_device(args.device), only=args.methods, progress=row)
        print(f"wrote {bench.write(out, result)}", file=sys.stderr)
        return 0
    elif args.what == "masks":
        from .masks import masks_benchmark
        result = masks_benchmark(quick=args.quick)
    elif args.what == "engine":
        from .engine import engine_benchmark
        result = engine_benchmark(size=args.sizes[0] if args.sizes != [256, 512, 1024] else 512,
                                  method=(args.methods or ['adain'])[0], quick=args.quick,
                                  progress=lambda what: print(f"bench: {what}", file=sys.stderr, flush=True))
    elif args.what == "fast":
        result = bench.fast_benchmark(args.sizes, quick=args.quick, device=pick_device(args.device))
    else:
        result = bench.gatys_benchmark(args.sizes, args.steps, quick=args.quick, device=pick_device(args.device),
                                       converge_steps=args.converge_steps)
    print(f"wrote {bench.write(args.output or f'bench-{args.what}.json', result)}", file=sys.stderr)
    return 0
