"""The strip of docs/masks.md: photo, automatic mask, style on the background only, two styles split by the sky.

    PYTHONPATH=. python scripts/masks_docs_strip.py      # writes docs/masks/*.jpg
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from PIL import Image, ImageDraw

import painterly
from painterly import images, segment

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DATA = ROOT / "painterly" / "data"
OUT = ROOT / "docs" / "masks"
SIZE = 384


def _grey(m: torch.Tensor) -> Image.Image:
    return images.tensor_to_pil(m.expand(-1, 3, -1, -1))


def _label(im: Image.Image, text: str) -> Image.Image:
    im = im.copy()
    d = ImageDraw.Draw(im)
    d.rectangle([0, im.height - 18, im.width, im.height], fill=(0, 0, 0))
    d.text((4, im.height - 15), text, fill=(255, 255, 255))
    return im


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    portrait = images.resize_long_side(images.load_image(SHARED / "images" / "brad_pitt.jpg", "photo", SIZE), SIZE)
    land = images.resize_long_side(images.load_image(SHARED / "photoreal" / "content" / "in14.png", "photo", SIZE),
                                   SIZE)
    bg = segment.region_mask(portrait, "background")
    sky = segment.region_mask(land, "sky")
    painted = painterly.run_stylize(portrait, DATA / "starry_night.jpg", method="magenta", size=None,
                                    mask="auto:background").image
    split = painterly.run_stylize(land, [DATA / "starry_night.jpg", DATA / "great_wave.jpg"], method="magenta",
                                  size=None, style_masks=["auto:sky", "auto:not-sky"]).image
    rows = [[(_label(images.tensor_to_pil(portrait), "photo"), "portrait"),
             (_label(_grey(bg), "auto:background"), "portrait_background"),
             (_label(painted, "--mask auto:background, Starry Night"), "portrait_painted")],
            [(_label(images.tensor_to_pil(land), "photo"), "landscape"),
             (_label(_grey(sky), "auto:sky"), "landscape_sky"),
             (_label(split, "sky: Starry Night; rest: Great Wave"), "landscape_split")]]
    for row in rows:
        for im, name in row:
            im.save(OUT / f"{name}.jpg", quality=88)
    heights = [max(im.height for im, _ in row) for row in rows]
    w = max(sum(im.width + 4 for im, _ in row) for row in rows)
    strip = Image.new("RGB", (w + 4, sum(heights) + 4 * (len(rows) + 1)), "white")
    y = 4
    for row, h in zip(rows, heights):
        x = 4
        for im, _ in row:
            strip.paste(im, (x, y))
            x += im.width + 4
        y += h + 4
    strip.save(OUT / "strip.jpg", quality=88)
    print(f"wrote {OUT}/strip.jpg", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
