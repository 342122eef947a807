"""Does refining the style vector help? Refine on 4 COCO photos at 256 px; evaluate Gatys' total loss
(512 px; edit EVAL_SIDE for 256) of --method magenta on held-out photos with the predictor's vs the refined vector."""
import json, sys, time, torch
from pathlib import Path
torch.set_num_threads(2)
from painterly import images
from painterly.methods.gatys import stylize as gatys
from painterly.methods.magenta.options import MagentaOptions
from painterly.methods.magenta.stylize import run
from painterly.methods.magenta.train import refine_vector
EVAL_SIDE = 512
S = Path(__file__).resolve().parents[3] / "shared" / "data"   # ../shared beside the checkout
coco = sorted((S / "photos/coco100").glob("*.jpg"))
train = coco[:4]
held = [S / "images/tubingen.jpg", S / "images/golden_gate.jpg", coco[50], coco[80]]
res = {}
for style_name in ("starry_night.jpg", "woman-with-hat-matisse.jpg"):
    style = images.load_image(S / "images" / style_name)
    t0 = time.perf_counter()
    v, hist = refine_vector([images.load_image(p, "photo", 256) for p in train], style, steps=30, lr=0.05, size=256)
    secs = time.perf_counter() - t0
    rows = []
    for p in held:
        c = images.resize_long_side(images.load_image(p), EVAL_SIDE)
        a, _ = run(c, [style], MagentaOptions())
        b, _ = run(c, [v], MagentaOptions())
        ea, eb = gatys.evaluate(a, c, style), gatys.evaluate(b, c, style)
        rows.append({"photo": p.name, "predictor": ea, "refined": eb})
        print(style_name, p.name, f"{ea['total']:.4g} -> {eb['total']:.4g} ({eb['total']/ea['total']-1:+.1%}) style {ea['style']:.3g}->{eb['style']:.3g} content {ea['content']:.3g}->{eb['content']:.3g}", flush=True)
    res[style_name] = {"train_loss": [hist[0]["loss"], min(h["loss"] for h in hist)], "seconds": secs, "held_out": rows}
    print(style_name, "train", hist[0]["loss"], min(h["loss"] for h in hist), f"{secs:.0f}s", flush=True)
json.dump(res, open(sys.argv[1] if len(sys.argv) > 1 else "refine-style-eval.json", "w"), indent=1)
