"""Evaluate every kept generator of a train-cyclegan run on the held-out split (issue 15).

    python scripts/vangogh_eval.py RUN HELD_OUT [--size 256] [--watch]

HELD_OUT holds testA/ (photos) and testB/ (paintings), as written by vangogh_split.py.  Appends
one row per RUN/generators/G_A2B_stepN.pt to RUN/eval.json (steps, CPU seconds from the file's
meta, relative style distance, content distance); with --watch it keeps polling until the run's
last epoch is evaluated.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from painterly import images
from painterly.methods.cyclegan.model import load_generator
from painterly.methods.cyclegan.metrics import evaluate, metric_encoder, reference


def load_set(folder: Path, size: int) -> list[torch.Tensor]:
    return [images.resize_long_side(images.load_image(f), size) for f in images.list_images(folder)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("held_out", type=Path)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--watch", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    enc = metric_encoder()
    ref = reference(enc, load_set(args.held_out / "testA", args.size), load_set(args.held_out / "testB", args.size))
    out = args.run / "eval.json"
    doc = json.loads(out.read_text()) if out.exists() else {"photo_style_distance": ref.photo_distance, "size": args.size, "rows": []}
    done = {r["file"] for r in doc["rows"]}
    while True:
        for f in sorted((args.run / "generators").glob("G_A2B_step*.pt")):
            if f.name in done:
                continue
            g, meta = load_generator(f)
            t = time.perf_counter()
            row = {"file": f.name, "steps": meta["steps"], "epoch": meta["epoch"],
                   "epochs": meta["options"]["epochs"], "seconds": meta["seconds"],
                   "cpu_seconds": meta.get("cpu_seconds"),
                   **evaluate(enc, g, ref), "eval_seconds": 0.0}
            row["eval_seconds"] = round(time.perf_counter() - t, 1)
            doc["rows"].append(row)
            done.add(f.name)
            images.atomic_write_text(out, json.dumps(doc, indent=1))
            print(json.dumps(row), flush=True)
        if not args.watch:
            break
        rows = doc["rows"]
        if rows and rows[-1]["epoch"] >= rows[-1]["epochs"]:
            break
        time.sleep(30)


if __name__ == "__main__":
    main()
