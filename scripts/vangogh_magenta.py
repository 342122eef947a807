"""Build the shipped `vangogh` model (issue 26): Magenta's GPU-trained transformer as a CycleGAN
generator, at the mean style vector of the training paintings, optionally fine-tuned by a
`train-cyclegan --generator magenta` run.

    python scripts/vangogh_magenta.py DATA [--from RUN/G_A2B.pt]

DATA is the shared data folder (photos/bsds500, vangogh); the held-out paintings of
docs/models/vangogh_split.json (scripts/vangogh_split.py) are never used. Writes
painterly/data/cyclegan/vangogh.pt (half precision, ~0.4 MB) with plain, path-free meta.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from vangogh_split import split  # noqa: E402

from painterly import images  # noqa: E402
from painterly.methods.cyclegan.model import load_generator, save_generator, shipped_dir  # noqa: E402
from painterly.methods.cyclegan.networks import magenta_generator  # noqa: E402
from painterly.methods.magenta.stylize import style_vector  # noqa: E402


@torch.inference_mode()
def mean_vector(paintings: list[Path]) -> torch.Tensor:
    """Mean of Magenta's style vectors of `paintings` (each read at 512 px, predictor at 256)."""
    vecs = [style_vector(images.resize_long_side(images.load_image(p), 512)) for p in paintings]
    return torch.cat(vecs).mean(0, keepdim=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--from", dest="source", type=Path, help="a fine-tuned G_A2B.pt to ship instead")
    args = ap.parse_args()
    parts = split(args.data)
    if args.source:
        g, meta = load_generator(args.source)
        how = (f"Magenta transformer fine-tuned in a CycleGAN ({meta['options']['train_params']}), "
               f"{meta['steps']} steps")
    else:
        g = magenta_generator("vector", mean_vector(parts["trainB"]))
        meta, how = {}, "Magenta transformer at the mean style vector of the training paintings, no adversarial steps"
    out = {
        "name": "vangogh", "title": "photo -> van Gogh (Magenta generator)", "direction": "A2B",
        "trained_on": f"{len(parts['trainA'])} BSDS500 photos -> {len(parts['trainB'])} van Gogh paintings",
        "how": how,
        "data_licence": ("BSDS500 photos (Berkeley Segmentation Dataset, non-commercial research use); " if args.source
                         else "") + "van Gogh paintings public domain (the CycleGAN vangogh2photo set)",
        "weights_licence": "network weights: Magenta arbitrary image stylization (Apache-2.0, Ghiasi et al. 2017; "
                           "see painterly/methods/magenta/NOTICE)",
        "steps": meta.get("steps", 0), "seconds": meta.get("seconds", 0.0), "cpu_seconds": meta.get("cpu_seconds", 0.0),
        "device": meta.get("device", "cpu"),
        "options": {"generator": "magenta", **{k: v for k, v in g.config.items() if k != "kind"},
                    **{k: meta.get("options", {})[k] for k in ("size", "batch_size", "lr", "cycle_weight",
                                                               "identity_weight", "discriminator", "seed")
                       if k in meta.get("options", {})}},
        "held_out": {"photos": 50, "paintings": 20,
                     "split": "scripts/vangogh_split.py (docs/models/vangogh_split.json)"},
    }
    path = save_generator(g.float(), shipped_dir() / "vangogh.pt", out)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
