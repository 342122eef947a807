"""Held-out comparison of the van Gogh models (issue 26): Gram distance to the held-out paintings
relative to the photos' own, content distance, time at 512 px, and a grid for the docs.

    python scripts/vangogh_compare.py DATA [--size 192] [--grid docs/models/vangogh_heldout_grid.jpg]

Rows: the previous model (`vangogh_resnet`), the shipped `vangogh`, and Magenta given one training
painting. Writes docs/models/vangogh_heldout.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from vangogh_split import split  # noqa: E402

from painterly import images  # noqa: E402
from painterly.methods.cyclegan.metrics import evaluate, metric_encoder, reference  # noqa: E402
from painterly.methods.cyclegan.model import load_generator  # noqa: E402
from painterly.methods.magenta.stylize import style_vector, transform  # noqa: E402


class MagentaWith(torch.nn.Module):
    """Magenta with one painting's style vector, as a generator (for the side-by-side)."""

    def __init__(self, painting: Path):
        super().__init__()
        self.vec = style_vector(images.resize_long_side(images.load_image(painting), 512))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return transform(x, self.vec)


def seconds_at(g: torch.nn.Module, side: int = 512, repeats: int = 3) -> float:
    x = torch.rand(1, 3, side * 3 // 4, side)
    with torch.inference_mode():
        g(x)
        t = time.perf_counter()
        for _ in range(repeats):
            g(x)
    return (time.perf_counter() - t) / repeats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--grid", type=Path, default=Path("docs/models/vangogh_heldout_grid.jpg"))
    ap.add_argument("--out", type=Path, default=Path("docs/models/vangogh_heldout.json"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    parts = split(args.data)
    load = lambda ps: [images.resize_long_side(images.load_image(p), args.size) for p in ps]  # noqa: E731
    enc = metric_encoder()
    ref = reference(enc, load(parts["testA"]), load(parts["testB"]))
    painting = next(p for p in parts["trainB"] if "starry" in p.name.lower()) if any(
        "starry" in p.name.lower() for p in parts["trainB"]) else parts["trainB"][0]
    from vangogh_magenta import mean_vector
    from painterly.methods.cyclegan.networks import magenta_generator
    models = {"vangogh_resnet (previous)": load_generator("vangogh_resnet")[0],
              "vangogh (shipped)": load_generator("vangogh")[0],
              "Magenta generator at the mean style, untrained": magenta_generator("vector", mean_vector(parts["trainB"])),
              f"Magenta + {painting.name}": MagentaWith(painting)}
    rows = {}
    for name, g in models.items():
        rows[name] = {**evaluate(enc, g, ref), "seconds_512": round(seconds_at(g), 3)}
        print(name, json.dumps(rows[name]), flush=True)
    doc = {"photos": len(parts["testA"]), "paintings": len(parts["testB"]), "size": args.size,
           "metric": "painterly.methods.cyclegan.metrics (Gram distance relu1_1..relu5_1 to the held-out "
                     "paintings' mean, relative to the photos' own; conv4_2 content distance)",
           "threads": 2, "rows": rows}
    images.atomic_write_text(args.out, json.dumps(doc, indent=1))
    # grid: photo | each model, six held-out photos at 256 px
    picks = [images.resize_long_side(images.load_image(p), 256) for p in parts["testA"][::9][:6]]
    tiles = []
    with torch.inference_mode():
        for x in picks:
            row = [x] + [g(x).clamp(0, 1) for n, g in models.items() if "untrained" not in n]
            h = min(t.shape[-2] for t in row)
            tiles.append(torch.cat([t[..., :h, :] for t in row], dim=-1))
    w = min(t.shape[-1] for t in tiles)
    grid = torch.cat([torch.nn.functional.interpolate(t, size=(t.shape[-2] * w // t.shape[-1], w)) for t in tiles], -2)
    images.save_image(grid, args.grid)
    print("columns: photo |", " | ".join(n for n in models if "untrained" not in n), "->", args.grid)


if __name__ == "__main__":
    main()
