#!/usr/bin/env bash
# Regenerates the manual's gallery images (docs/images/) with the painterly CLI (offline encoder, CPU: ~6 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
P=.venv/bin/painterly
D=../shared/data/images
O=docs/images
common=(--size 320 --steps 150 --quiet)
$P demo -o $O/demo.png --quiet
$P stylize $D/tubingen.jpg $D/starry_night.jpg -o $O/preserve_colors.png --preserve-colors "${common[@]}"
# a mask that paints the sky (top 45 %) and keeps the town and river as photographed
.venv/bin/python - <<'PY'
from PIL import Image, ImageDraw
m = Image.new("L", (1024, 768), 0)
ImageDraw.Draw(m).rectangle([0, 0, 1024, int(768 * 0.45)], fill=255)
m.save("docs/images/sky_mask.png")
PY
$P stylize $D/tubingen.jpg $D/starry_night.jpg -o $O/mask_sky.png --mask $O/sky_mask.png "${common[@]}"
$P stylize $D/tubingen.jpg $D/starry_night.jpg $D/picasso_selfport1907.jpg --style-blend 0.5 0.5 \
    -o $O/blend.png "${common[@]}"
.venv/bin/python - <<'PY'
from pathlib import Path
from painterly import images
from painterly.experiments import grid
names = [("photo", "../shared/data/images/tubingen.jpg"), ("style", "../shared/data/images/starry_night.jpg"),
         ("stylize", "docs/images/demo.png"), ("--preserve-colors", "docs/images/preserve_colors.png"),
         ("--mask (sky)", "docs/images/mask_sky.png"), ("+ Picasso, 50/50", "docs/images/blend.png")]
grid([(label, images.load_image(path)) for label, path in names], 3, Path("docs/images/gallery.png"), tile=320)
PY
echo "wrote docs/images/gallery.png"
