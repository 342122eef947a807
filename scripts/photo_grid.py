"""The picture grid of docs/photo.md from `painterly bench photo --images DIR`:

    python scripts/photo_grid.py DIR [-o docs/images/photo_grid.jpg] [--pairs ../shared/data/photoreal]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = (("content", "photo"), ("style", "reference"), ("wct", "WCT"), ("wct-labels", "WCT + labels"),
           ("photo", "photo"), ("photo-labels", "photo + labels"), ("photo-matting", "photo, matting"),
           ("deep-photo", "Deep Photo (Gatys)"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("images")
    ap.add_argument("-o", "--output", default=str(ROOT / "docs" / "images" / "photo_grid.jpg"))
    ap.add_argument("--pairs", default=str(ROOT.parent / "shared" / "data" / "photoreal"))
    ap.add_argument("--height", type=int, default=150)
    a = ap.parse_args()
    src, pairs = Path(a.images), Path(a.pairs)
    names = sorted(p.stem.split("_")[0] for p in src.glob("*_photo.png"))
    cols = [c for c in COLUMNS if c[0] in ("content", "style") or any(src.glob(f"*_{c[0]}.png"))]
    rows = []
    for n in names:
        cells = []
        for key, _ in cols:
            p = pairs / key / f"{n}.png" if key in ("content", "style") else src / f"{n}_{key}.png"
            im = Image.open(p).convert("RGB") if p.is_file() else Image.new("RGB", (a.height, a.height), "white")
            cells.append(im.resize((round(im.width * a.height / im.height), a.height), Image.LANCZOS))
        rows.append(cells)
    widths = [max(r[i].width for r in rows) for i in range(len(cols))]
    head, gap = 22, 4
    grid = Image.new("RGB", (sum(widths) + gap * (len(cols) - 1), head + len(rows) * (a.height + gap)), "white")
    draw = ImageDraw.Draw(grid)
    x = 0
    for i, (_, title) in enumerate(cols):
        draw.text((x + 4, 4), title, fill="black")
        for j, r in enumerate(rows):
            grid.paste(r[i], (x, head + j * (a.height + gap)))
        x += widths[i] + gap
    out = Path(a.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(out, quality=85)
    print(f"wrote {out} ({grid.width}x{grid.height})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
