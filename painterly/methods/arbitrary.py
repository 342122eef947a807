"""Room: any style in one pass, AdaIN and WCT. The networks live in `painterly.arbitrary`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from .. import images
from ..options import OptionError, check_fields, opt
from . import Method, Output, Run, register


@dataclass
class ArbitraryOptions:
    """Strength, levels and decoders of an AdaIN/WCT run."""

    alpha: float = opt(1.0, min=0.0, max=1.0, help="style strength 0..1 (times --strength)")
    decoders: Optional[Sequence[str]] = opt(None, nargs="+", metavar="DEC", web=False,
                                            help="decoder files or levels, deepest first "
                                                 "(adain: relu3_1; wct: relu3_1 relu2_1 relu1_1)")
    style_size: Optional[int] = opt(None, min=images.MIN_SIDE,
                                    help="style image long side in px (default: the output's); "
                                         "smaller = larger strokes")
    device: str = "cpu"

    def validate(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise OptionError("alpha", f"must be between 0 and 1, got {self.alpha}")
        check_fields(self)


def _runner(kind: str):
    def run(r: Run, o: ArbitraryOptions) -> Output:
        from .. import arbitrary
        o.device = r.device
        if r.strength != 1.0:
            o.alpha = o.alpha * r.strength
        out, info = arbitrary.run(kind, r.content, r.styles, o, r.style_blend, r.style_masks)
        return Output(out, info=info)
    return run


def _memory(kind: str):
    def content(h: int, w: int, o: ArbitraryOptions) -> int:
        from ..arbitrary.stylize import CONTENT_BYTES_PER_PIXEL
        return CONTENT_BYTES_PER_PIXEL[kind] * h * w

    def style(pixels: int, o: ArbitraryOptions) -> int:
        from ..arbitrary.stylize import STYLE_BYTES_PER_PIXEL
        return STYLE_BYTES_PER_PIXEL[kind] * pixels
    return content, style


def _style_side(h: int, w: int, o: ArbitraryOptions) -> int:
    return o.style_size or max(h, w)


def _tiled(kind: str):
    def run(r: Run, o: ArbitraryOptions, tiles) -> Output:
        from ..tiling import arbitrary_tiled
        o.device = r.device
        if r.strength != 1.0:
            o.alpha = o.alpha * r.strength
        long_side = o.style_size or max(r.content.shape[-2:])
        styles = [images.load_uint8(s, "style image", images.fit_size(s.shape[-2], s.shape[-1], long_side))
                  for s in r.styles]
        out, info = arbitrary_tiled(kind, r.content, styles, o, r.style_blend, tiles.tile, tiles.halo,
                                    tiles.progress)
        return Output(out, info=info)
    return run



def _bench(kind: str):
    def setup(device: str):
        from .. import arbitrary
        opts = ArbitraryOptions(device=device)
        return kind, lambda c, s: arbitrary.run(kind, c, [s], opts)
    return setup


for _kind, _title, _paper, _line in (
        ("adain", "Any painting, fast (AdaIN)", "Huang & Belongie 2017",
         "Copies the colours and textures of any painting: about a second"),
        ("wct", "Any painting, richer (WCT)", "Li et al. 2017",
         "Copies any painting's style more closely, with richer brushwork: a few seconds")):
    register(Method(
        name=_kind, title=_title, paper=_paper, description=_line, options=ArbitraryOptions,
        run=_runner(_kind), supports=frozenset({"mask", "blend", "style_masks", "strength", "preserve_colors"}),
        memory=_memory(_kind)[0], style_memory=_memory(_kind)[1], style_side=_style_side, style_field="style_size",
        strength_field="alpha", bench=_bench(_kind),
        tiled=_tiled(_kind)))
