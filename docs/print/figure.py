"""The README's print-size figure: a 6000x4000 output downscaled, next to a 1:1 crop centred on a
corner where four tiles meet (where a seam would show). Usage: python figure.py PRINT.jpg OUT.jpg"""

import sys

from PIL import Image, ImageDraw

from painterly import tiling

src, out = sys.argv[1], sys.argv[2]
im = Image.open(src)
w, h = im.size
tile = int(sys.argv[3]) if len(sys.argv) > 3 else 912
xs, ys = tiling.spans(w, tile, 64), tiling.spans(h, tile, 64)
cx, cy = xs[len(xs) // 4].core_end, ys[len(ys) // 3].core_end          # an inner tile corner
cw, ch = 900, 600
crop = im.crop((cx - cw // 2, cy - ch // 2, cx + cw // 2, cy + ch // 2))
small = im.resize((ch * w // h, ch), Image.LANCZOS)
d = ImageDraw.Draw(small)
s = ch / h
d.rectangle([(cx - cw // 2) * s, (cy - ch // 2) * s, (cx + cw // 2) * s, (cy + ch // 2) * s], outline="red", width=2)
fig = Image.new("RGB", (small.width + 10 + cw, ch), "white")
fig.paste(small, (0, 0))
fig.paste(crop, (small.width + 10, 0))
fig.save(out, quality=90)
print(f"tile corner at x={cx} y={cy}; crop {cw}x{ch} at 1:1")
