"""Ship one kept generator of the van Gogh run as the package's `vangogh` model (issue 15).

    python scripts/vangogh_ship.py RUN/generators/G_A2B_stepN.pt RUN/eval.json

Writes painterly/data/cyclegan/vangogh.pt (half precision) with plain, path-free meta: what it
was trained on, the data's licences, steps, CPU time and the held-out evaluation of that step.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from painterly.methods.cyclegan.model import load_generator, save_generator
from painterly.methods.cyclegan.model import shipped_dir


def main(gen: str, eval_json: str) -> None:
    g, meta = load_generator(gen)
    rows = {r["file"]: r for r in json.loads(Path(eval_json).read_text())["rows"]}
    ev = rows.get(Path(gen).name, {})
    opts = meta["options"]
    out = {
        "name": "vangogh", "title": "photo -> van Gogh (CycleGAN)", "direction": "A2B",
        "trained_on": f"{meta['images_a']} BSDS500 photos -> {meta['images_b']} van Gogh paintings (256 px), "
                      f"{opts['size']} px crops",
        "data_licence": "BSDS500 photos (Berkeley Segmentation Dataset, non-commercial research use); "
                        "van Gogh paintings public domain (the CycleGAN vangogh2photo set)",
        "steps": meta["steps"], "epoch": meta["epoch"], "seconds": meta["seconds"],
        "cpu_seconds": meta.get("cpu_seconds"), "device": meta["device"] + " of a shared 2-core machine",
        "options": {k: opts[k] for k in ("generator", "channels", "blocks", "discriminator", "size", "batch_size",
                                         "lr", "schedule", "cycle_weight", "identity_weight", "pool_size",
                                         "epoch_size", "seed")},
        "held_out": {k: ev[k] for k in ("relative_style_distance", "content_distance") if k in ev}
                    | {"photos": 50, "paintings": 20, "size": 192,
                       "split": "scripts/vangogh_split.py (docs/models/vangogh_split.json)"},
    }
    d = shipped_dir()
    d.mkdir(parents=True, exist_ok=True)
    p = save_generator(g, d / "vangogh.pt", out)
    print(p, p.stat().st_size, json.dumps(out["held_out"]))


if __name__ == "__main__":
    main(*sys.argv[1:3])
