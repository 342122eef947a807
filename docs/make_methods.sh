#!/usr/bin/env bash
# Regenerates docs/images/methods.png: the same photo by every one-pass method (CPU: ~30 s).
set -euo pipefail
cd "$(dirname "$0")/.."
P=.venv/bin/painterly
D=../shared/data/images
O=docs/images
c=(--size 320 --quiet)
$P stylize $D/tubingen.jpg $D/starry_night.jpg --method adain -o $O/m_adain.png "${c[@]}"
$P stylize $D/tubingen.jpg $D/starry_night.jpg --method wct -o $O/m_wct.png "${c[@]}"
$P stylize $D/tubingen.jpg --model starry_night -o $O/m_model_starry.png "${c[@]}"
$P stylize $D/tubingen.jpg --model picasso -o $O/m_model_picasso.png "${c[@]}"
.venv/bin/python -c "from PIL import Image, ImageOps; ImageOps.invert(Image.open('$O/sky_mask.png').convert('L')).save('$O/sky_mask_inverse.png')"
$P stylize $D/tubingen.jpg $D/starry_night.jpg $D/woman-with-hat-matisse.jpg --method adain \
    --style-masks $O/sky_mask.png $O/sky_mask_inverse.png -o $O/m_adain_regions.png "${c[@]}"
.venv/bin/python - <<'PY'
from pathlib import Path
from painterly import images
from painterly.experiments import grid
names = [("photo", "../shared/data/images/tubingen.jpg"), ("gatys (150 steps, ~1 min)", "docs/images/demo.png"),
         ("--method adain (~1 s)", "docs/images/m_adain.png"), ("--method wct (~3 s)", "docs/images/m_wct.png"),
         ("--model starry_night (0.1 s)", "docs/images/m_model_starry.png"),
         ("--model picasso (0.1 s)", "docs/images/m_model_picasso.png"),
         ("adain: sky Starry Night, town Matisse", "docs/images/m_adain_regions.png")]
grid([(label, images.load_image(path)) for label, path in names], 4, Path("docs/images/methods.png"), tile=320)
PY
echo "wrote docs/images/methods.png"
