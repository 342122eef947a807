"""Make the hand-made ground-truth masks of `painterly bench masks` (docs/bench/masks/*.png).

Sky: from the WCT2 label maps in shared/data/photoreal (the colour that labels the sky in each map).
Person: semi-manual. For each portrait a person drew, by eye on a coordinate grid over the photo,
polygons of sure person (`fg`) and sure background (`bg`); OpenCV's GrabCut (colour models, graph cut)
then places the boundary in the band between them; the result was overlaid on the photo, checked by eye
and the polygons corrected until the outline followed the hair, ears, collar and hat. No network was used.
Masks are stored at 512 px on the long side, white = the region.

    python scripts/masks_ground_truth.py [--check DIR]   # DIR: overlays for checking by eye
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parents[1] / "docs" / "bench" / "masks"
SIDE = 512

#: photo -> (label map, RGB colour of the sky in it)
SKY = {
    "in00": ("photoreal/content/in00.png", "photoreal/content_segment/in00.png", (128, 128, 0)),
    "in14": ("photoreal/content/in14.png", "photoreal/content_segment/in14.png", (0, 0, 0)),
    "in58": ("photoreal/content/in58.png", "photoreal/content_segment/in58.png", (255, 0, 0)),
    "in00s": ("photoreal/style/in00.png", "photoreal/style_segment/in00.png", (128, 128, 0)),
    "in14s": ("photoreal/style/in14.png", "photoreal/style_segment/in14.png", (0, 0, 0)),
    "in58s": ("photoreal/style/in58.png", "photoreal/style_segment/in58.png", (255, 0, 0)),
}

#: photo -> polygons in the photo's own pixel coordinates
PERSON = {
    "brad_pitt": ("images/brad_pitt.jpg", {
        "fg": [[(320, 300), (450, 150), (650, 130), (780, 300), (760, 600), (690, 900), (620, 1000), (900, 1100),
                (1054, 1150), (1054, 1331), (0, 1331), (0, 1250), (250, 1120), (400, 1000), (330, 800), (300, 550)]],
        "bg": [[(0, 0), (1054, 0), (1054, 950), (950, 900), (930, 450), (800, 100), (650, 20), (450, 20),
                (200, 150), (150, 500), (180, 900), (0, 1100)]]}),
    "avril": ("photos/adain_content/avril.jpg", {
        "fg": [[(600, 0), (1150, 0), (1250, 300), (1200, 700), (1300, 1050), (500, 1050), (550, 700), (500, 300)]],
        "bg": [[(0, 0), (300, 0), (330, 400), (250, 1050), (0, 1050)],
               [(1560, 0), (1680, 0), (1680, 1050), (1600, 1050), (1550, 500)]]}),
    "blonde_girl": ("photos/adain_content/blonde_girl.jpg", {
        "fg": [[(230, 150), (330, 60), (430, 100), (480, 300), (500, 600), (560, 800), (150, 800), (160, 500),
                (190, 300)], [(430, 100), (530, 200), (550, 450), (600, 580), (600, 800), (500, 800)]],
        "bg": [[(0, 0), (260, 0), (200, 60), (150, 200), (130, 400), (90, 600), (40, 800), (0, 800)],
               [(575, 0), (600, 0), (600, 120)]]}),
    "lenna": ("photos/adain_content/lenna.jpg", {
        "fg": [[(180, 110), (300, 60), (330, 120), (470, 185), (400, 260), (420, 400), (430, 520), (440, 640),
                (190, 640), (130, 450), (150, 330), (170, 200)]],
        "bg": [[(0, 0), (140, 0), (130, 150), (80, 300), (60, 640), (0, 640)],
               [(0, 0), (640, 0), (640, 100), (500, 80), (300, 30), (140, 60)],
               [(560, 100), (640, 100), (640, 640), (520, 640), (490, 400), (500, 250)],
               [(390, 105), (440, 105), (465, 135), (400, 155)]]}),
}


def _load(rel: str) -> np.ndarray:
    im = Image.open(SHARED / rel).convert("RGB")
    s = SIDE / max(im.size)
    return np.asarray(im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)), s


def sky_mask(photo: str, labels: str, colour: tuple) -> np.ndarray:
    im, s = _load(photo)
    lab = Image.open(SHARED / labels).convert("RGB").resize((im.shape[1], im.shape[0]), Image.NEAREST)
    return (np.abs(np.asarray(lab).astype(int) - colour).sum(-1) <= 6).astype(np.uint8)


def person_mask(photo: str, polys: dict) -> tuple[np.ndarray, np.ndarray]:
    im, s = _load(photo)
    m = np.full(im.shape[:2], cv2.GC_PR_BGD, np.uint8)
    hull = np.concatenate([np.array(p, float) for p in polys["fg"]]) * s
    cv2.fillPoly(m, [cv2.convexHull(hull.astype(np.int32))], cv2.GC_PR_FGD)
    for p in polys["bg"]:
        cv2.fillPoly(m, [(np.array(p, float) * s).astype(np.int32)], cv2.GC_BGD)
    for p in polys["fg"]:
        cv2.fillPoly(m, [(np.array(p, float) * s).astype(np.int32)], cv2.GC_FGD)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.setRNGSeed(0)
    cv2.grabCut(cv2.cvtColor(im, cv2.COLOR_RGB2BGR), m, None, bgd, fgd, 8, cv2.GC_INIT_WITH_MASK)
    fg = ((m == cv2.GC_FGD) | (m == cv2.GC_PR_FGD)).astype(np.uint8)
    # keep the largest connected piece and fill holes smaller than 0.2 % of the picture
    n, lab, stats, _ = cv2.connectedComponentsWithStats(fg)
    if n > 1:
        fg = (lab == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(1 - fg)
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_AREA] < 0.002 * fg.size:
            fg[lab == i] = 1
    return fg, im


def overlay(im: np.ndarray, m: np.ndarray) -> Image.Image:
    out = im.astype(float)
    out[m == 0] = out[m == 0] * 0.45 + np.array([255, 0, 0]) * 0.55
    edge = cv2.morphologyEx(m, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    out[edge] = (0, 255, 0)
    return Image.fromarray(out.astype(np.uint8))


def main(argv=None) -> int:
    a = argparse.ArgumentParser()
    a.add_argument("--check", default=None, help="folder for overlays to check by eye")
    a.add_argument("--only", nargs="*", default=None)
    args = a.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (photo, labels, colour) in SKY.items():
        if args.only and name not in args.only:
            continue
        m = sky_mask(photo, labels, colour)
        Image.fromarray(m * 255).convert("1").save(OUT / f"sky_{name}.png", optimize=True)
        if args.check:
            overlay(_load(photo)[0], m).save(Path(args.check) / f"sky_{name}.png")
    for name, (photo, polys) in PERSON.items():
        if args.only and name not in args.only:
            continue
        m, im = person_mask(photo, polys)
        Image.fromarray(m * 255).convert("1").save(OUT / f"person_{name}.png", optimize=True)
        if args.check:
            overlay(im, m).save(Path(args.check) / f"person_{name}.png")
        print(name, f"{m.mean():.3f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
