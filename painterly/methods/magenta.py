"""Room: any painting in one pass with Magenta's GPU-trained networks (Ghiasi et al. 2017).
The networks, weights and style vectors live in `painterly.magenta`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..options import OptionError, check_fields, opt
from . import Method, Output, Run, register

STYLE_SIZE = 256        # the predictor's input side in Magenta's release
MIN_STYLE_SIDE = 32     # MobileNetV2 downsamples by 32


@dataclass
class MagentaOptions:
    """Strength and style-predictor input of a Magenta arbitrary-style run."""

    alpha: float = opt(1.0, min=0.0, max=1.0,
                       help="style strength 0..1 (times --strength): magenta mixes the photo's own style vector "
                            "with the painting's")
    style_square: int = opt(STYLE_SIZE, min=MIN_STYLE_SIDE,
                          help="magenta: side of the centre square of the painting fed to the style predictor; "
                               "smaller = coarser statistics")
    device: str = "cpu"

    def validate(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise OptionError("alpha", f"must be between 0 and 1, got {self.alpha}")
        check_fields(self)


def _run(r: Run, o: MagentaOptions) -> Output:
    from .. import magenta
    opts = magenta.MagentaOptions(alpha=o.alpha * r.strength, style_size=o.style_square, device=r.device)
    out, info = magenta.run(r.content, r.styles, opts, r.style_blend, r.style_masks)
    info.pop("style_vectors", None)
    return Output(out, info={**info, "model": "Magenta arbitrary (Ghiasi et al. 2017)"})


#: Tile overlap: the transformer's receptive field is about 55 px (9x9, two stride-2 3x3, ten 3x3 at
#: 1/4 size, two upsampling 3x3, 9x9).
HALO = 64


def _tiled(r: Run, o: MagentaOptions, tiles) -> Output:
    """Print size: style vectors from a reduced copy (the predictor sees a 256 px square anyway),
    the transformer on tiles with whole-image norm statistics; with region masks, one tiled
    pass per style composited onto the photo a band of rows at a time."""
    import torch
    from .. import magenta, tiling
    from ..magenta.files import load
    from ..magenta.stylize import blend_vectors, check_masks, style_vectors
    opts = magenta.MagentaOptions(alpha=o.alpha * r.strength, style_size=o.style_square, device=r.device)
    opts.validate()
    check_masks(r.styles, r.style_masks)
    styles = [tiling.to_float(s) for s in r.styles]     # uint8 after --preserve-colors match
    vecs = style_vectors(tiling.downscale(r.content, tiling.REDUCED_SIDE), styles, opts)
    net = load("magenta-transformer").to(r.device)
    halo = max(HALO, tiles.halo)

    def tiled(vec: torch.Tensor):
        return tiling.run_tiled(tiling.Bound(net, vec, multiple=4), r.content, tiles.tile, halo, tiles.stats,
                                device=r.device, progress=tiles.progress)
    if r.style_masks is None:
        out, info = tiled(blend_vectors(vecs, r.style_blend))
    else:
        out = tiling.to_float(r.content)
        for vec, mask in zip(vecs, r.style_masks):
            styled, info = tiled(vec[None])
            tiling.paste_in_bands(out, styled, mask)
            del styled
    return Output(out, info={**info, "alpha": opts.alpha, "model": "Magenta arbitrary (Ghiasi et al. 2017)"})


_tiled.halo = HALO
_tiled.style_masks = True     # the pipeline hands it the region masks


def load_style(src, what: str = "style image"):
    """A painting (1, 3, H, W) checked for the predictor, or a style-vector file (.pt) -> (1, 100)."""
    from .. import images
    from ..magenta import presets, stylize
    if isinstance(src, (str, Path)) and str(src).lower().endswith(".pt"):
        return presets.load_vector(src)
    s = images.load_image(src, what)
    stylize.check_style_image(s, f"{what} {src}" if isinstance(src, (str, Path)) else what)
    return s


def _bench(device: str):
    from .. import magenta
    opts = magenta.MagentaOptions(device=device)
    return "Magenta arbitrary", lambda c, s: magenta.run(c, [s], opts)


#: Peak bytes per output pixel (bench fast at 1024x768, plus margin): 32-channel maps at 1/4 size
#: and 8-16 channel maps at full size, a few alive at once.
BYTES_PER_PIXEL = 200

register(Method(
    name="magenta", title="Any painting, networks trained on GPUs (Magenta)", paper="Ghiasi et al. 2017",
    description="Copies any painting's style, learned from thousands of paintings: about a second",
    options=MagentaOptions, run=_run,
    supports=frozenset({"mask", "blend", "style_masks", "strength", "preserve_colors"}),
    memory=lambda h, w, o: h * w * BYTES_PER_PIXEL, strength_field="alpha", bench=_bench, load_style=load_style,
    tiled=_tiled))
