"""Figures of docs/video.md from `painterly bench video`'s JSON: the per-frame warping error of
frame-by-frame and temporal outputs (synthetic pan and the real clip), and a strip of real frames
painted both ways. Usage: python scripts/video_figures.py bench-video.json docs/video/"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def plot(bench: dict, out: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    pans = [r for r in bench["synthetic"] if r["clip"] == "pan"]
    reals = bench["real"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, rows, title, ref in ((axes[0], pans, "synthetic pan (exact flow)", "stable"),
                                 (axes[1], reals, "Big Buck Bunny (Farneback flow)", "input")):
        for c, r in zip(colours, rows):
            pf = r["per_frame"]
            xs = np.arange(1, len(pf["temporal"]) + 1)
            ax.plot(xs, pf["frame_by_frame"], color=c, ls="--", lw=1, alpha=0.7)
            ax.plot(xs, pf["temporal"], color=c, lw=1.8, label=r["method"])
        if ref == "stable":
            ax.plot(np.arange(1, len(pans[0]["per_frame"]["stable"]) + 1), pans[0]["per_frame"]["stable"], color="k",
                    lw=1, ls=":", label=f"stable result ({pans[0]['method']})")
        else:
            ax.axhline(bench["real_clip"]["input_warping_error"], color="k", lw=1, ls=":", label="the input video")
        ax.set_yscale("log")
        ax.set_xlabel("frame pair")
        ax.set_ylabel("warping error (mean squared, RGB in [0, 1])")
        ax.set_title(f"{title}: dashed = frame by frame, solid = temporal")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper right", ncol=2)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def strip(out: Path, method: str = "model", model: str = "starry_swirls", n: int = 4, every: int = 3) -> Path:
    """Input, frame-by-frame and temporal rows of Big Buck Bunny frames, and the frame-to-frame change."""
    from painterly.bench.video import BUNNY, _bunny
    from painterly.pipeline import make_request
    from painterly.video_paint import paint_frames
    frames = _bunny(1 + every * (n - 1) + 1, 320, 1.0)
    req = make_request(None, [], method=method, model=model, size=320, device="cpu")
    rows = {"input": frames, "frame by frame": [o for _, o, _ in paint_frames(req, enumerate(frames), temporal=False)],
            "temporal": [o for _, o, _ in paint_frames(req, enumerate(frames), temporal=True)]}
    pick = list(range(0, every * n, every))
    h, w = frames[0].shape[:2]
    label_w = 110
    canvas = Image.new("RGB", (label_w + n * (w + 4), 3 * (h + 4) + 2 * (h // 2 + 4)), "white")
    d = ImageDraw.Draw(canvas)
    y = 0
    for name, fr in rows.items():
        d.text((4, y + h // 2), name, fill="black")
        for k, i in enumerate(pick):
            canvas.paste(Image.fromarray(fr[i]), (label_w + k * (w + 4), y))
        y += h + 4
    for name in ("frame by frame", "temporal"):       # what changes from one frame to the next (x4)
        fr = rows[name]
        d.text((4, y + h // 4), f"change, {name}", fill="black")
        for k, i in enumerate(pick):
            diff = np.abs(fr[i + 1].astype(np.int16) - fr[i].astype(np.int16)).mean(-1) * 4
            im = Image.fromarray(np.clip(diff, 0, 255).astype(np.uint8)).resize((w // 2, h // 2))
            canvas.paste(im.convert("RGB"), (label_w + k * (w + 4), y))
        y += h // 2 + 4
    canvas.save(out)
    return out


if __name__ == "__main__":
    bench = json.loads(Path(sys.argv[1]).read_text())
    folder = Path(sys.argv[2])
    print(plot(bench, folder / "warping_error.png"))
    print(strip(folder / "strip.png"))
