"""Figures for docs/models from the shipped run's evaluation (issue 15).

    python scripts/vangogh_report.py RUN HELD_OUT OUT_DIR [--short RUN_A RUN_B ...]

OUT_DIR/vangogh_metrics.png: relative Gram distance and content distance per checkpoint against
CPU minutes (short comparison runs dashed); OUT_DIR/vangogh_grid.jpg: held-out photos and their
translations by the last kept generator.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from painterly import images
from painterly.methods.cyclegan.model import load_generator, translate
from painterly.experiments import grid


CPU_SHARE = 0.28   # the short runs predate cpu_seconds in the meta: 5.5 CPU-min in 19.5 wall-min each


def minutes(row: dict) -> float:
    return (row.get("cpu_seconds") or row["seconds"] * CPU_SHARE) / 60


def plot(runs: dict[str, list[dict]], path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for i, (label, rows) in enumerate(runs.items()):
        xs = [minutes(r) for r in rows]
        style = "-o" if i == 0 else "--s"
        axes[0].plot(xs, [r["relative_style_distance"] for r in rows], style, label=label, ms=3)
        axes[1].plot(xs, [r["content_distance"] for r in rows], style, label=label, ms=3)
    axes[0].axhline(0.7, color="grey", lw=0.8, ls=":", label="target 0.70")
    axes[0].set(xlabel="training CPU minutes (1 thread)", ylabel="Gram distance / photos' distance",
                title="closer to van Gogh (lower)")
    axes[1].set(xlabel="training CPU minutes (1 thread)", ylabel="relative conv4_2 distance to the photo",
                title="content kept (lower)")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("held_out", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--short", nargs="*", type=Path, default=[])
    ap.add_argument("--photos", type=int, default=8)
    ap.add_argument("--generator", type=Path, default=None, help="default: the last kept one")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = {f"{r.name} (shipped run)" if i == 0 else f"{r.name} (CPU from wall x {CPU_SHARE})": json.loads((r / "eval.json").read_text())["rows"]
            for i, r in enumerate([args.run, *args.short])}
    plot(runs, args.out / "vangogh_metrics.png")
    last = args.generator or sorted((args.run / "generators").glob("G_A2B_step*.pt"))[-1]
    g, meta = load_generator(last)
    files = images.list_images(args.held_out / "testA")
    tiles = []
    for f in files[:: max(1, len(files) // args.photos)][: args.photos]:
        x = images.resize_long_side(images.load_image(f), 256)
        tiles += [(f.name, x), (f"step {meta['steps']}", translate(g, x))]
    grid(tiles, 4, args.out / "vangogh_grid.jpg", tile=256)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
