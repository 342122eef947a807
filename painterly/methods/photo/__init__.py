"""Family: photorealistic style transfer (#23) — a photo in the colour and light of another photo.

    options.py     PhotoOptions (imports nothing of the family)
    network.py     Chiu & Gurari's PCA-distilled VGG encoder/decoder (PyTorch; weights in data/photo)
    tfbundle.py    numpy reader of TensorFlow bundle checkpoints (used by scripts/photo_convert_pcakd.py)
    transforms.py  ZCA whitening/colouring per region, as statistics -> affine maps
    labels.py      colour-coded label maps: read, quantise, match photo to reference
    smoothing.py   guided filter (OpenCV or PyTorch) and PhotoWCT's matting-affinity smoothing
    engine.py      the whole-image run;  tiled.py: the same on tiles (print sizes)

The registration below is the only glue with the rest of painterly (today's registry API).
"""

from __future__ import annotations

import dataclasses

from ...options import OptionError
from .. import Method, Output, Run, register
from .options import PhotoOptions

#: Peak bytes per output pixel of a whole-image run (CPU; measured at 700 px, with margin).
BYTES_PER_PIXEL = 1200


def _options(r: Run, o: PhotoOptions) -> PhotoOptions:
    if len(r.styles) != 1:
        raise OptionError("style_blend", f"photo takes one reference photo, got {len(r.styles)}")
    return dataclasses.replace(o, alpha=o.alpha * r.strength) if r.strength != 1.0 else o


def _run(r: Run, o: PhotoOptions) -> Output:
    from .engine import stylise
    o = _options(r, o)
    out, info = stylise(r.content, r.styles[0], o, r.device)
    return Output(out, info=info)


def _tiled(r: Run, o: PhotoOptions, tiles) -> Output:
    from .tiled import stylise_tiled
    o = _options(r, o)
    out, info = stylise_tiled(r.content, r.styles[0], o, tiles.tile, max(tiles.halo, _tiled.halo), r.device,
                              tiles.progress)
    return Output(out, info=info)


_tiled.halo = 128       # the network's receptive field (~150 px) and the guided filter's 2 × 30 px


def _bench(device: str):
    from .engine import stylise
    opts = PhotoOptions()
    return "photo", lambda c, s: stylise(c, s, opts, device)


register(Method(
    name="photo", title="Photo to photo (photorealistic WCT)", paper="Chiu & Gurari 2022; Li et al. 2018",
    description="Gives a photo the colours and light of another photo, without paint strokes: about a second",
    options=PhotoOptions, run=_run, supports=frozenset({"mask", "strength", "preserve_colors"}),
    memory=lambda h, w, o: BYTES_PER_PIXEL * h * w, style_memory=lambda px, o: BYTES_PER_PIXEL // 2 * px,
    style_side=lambda h, w, o: o.style_size or max(h, w), style_field="style_size", strength_field="alpha",
    bench=_bench, tiled=_tiled))
