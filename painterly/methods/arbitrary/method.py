"""Registration of AdaIN and WCT: any style in one pass. The engine is `stylize.py`, the tiled
runner `tiled.py`."""

from __future__ import annotations

import dataclasses

from ..base import Method, Output, Run, Runner, Tiled, register
from .options import ArbitraryOptions

SUPPORTS = frozenset({"mask", "blend", "style_masks", "strength", "preserve_colors"})


def _options(r: Run) -> ArbitraryOptions:
    """The request's options on the run's device, with `alpha` times the shared strength."""
    o = r.options
    return dataclasses.replace(o, device=r.device, alpha=o.alpha * r.strength if r.strength != 1.0 else o.alpha)


def _runner(kind: str):
    def run(r: Run, levels=None) -> Output:
        from .stylize import run as stylize
        out, info = stylize(kind, r.content, r.styles, _options(r), r.style_blend, r.style_masks, levels)
        return Output(out, info=info)

    def prepare(r: Run) -> Runner:
        """Decoders, encoders and the styles' features once, for every photo of this size."""
        from .stylize import prepare_levels
        o = _options(r)
        levels = prepare_levels(kind, r.styles, o, o.style_size or max(r.content.shape[-2:]))
        return lambda run_: run(run_, levels)
    return run, prepare


def _memory(kind: str):
    def content(h: int, w: int, o: ArbitraryOptions) -> int:
        from .stylize import CONTENT_BYTES_PER_PIXEL
        return CONTENT_BYTES_PER_PIXEL[kind] * h * w

    def style(pixels: int, o: ArbitraryOptions) -> int:
        from .stylize import STYLE_BYTES_PER_PIXEL
        return STYLE_BYTES_PER_PIXEL[kind] * pixels
    return content, style


def _style_side(h: int, w: int, o: ArbitraryOptions) -> int:
    return o.style_size or max(h, w)


def _tiled(kind: str, extra: int):
    def run(r: Run, tiles) -> Output:
        from ... import images
        from .tiled import arbitrary_tiled
        o = _options(r)
        if o.content_labels is not None:
            from ...options import OptionError
            raise OptionError("content_labels", f"do not work on tiles with {kind}: lower {{size}} (or leave out "
                                                "{tile}), or use the photo method", refs=("size", "tile"))
        long_side = o.style_size or max(r.content.shape[-2:])
        styles = [images.load_uint8(s, "style image", images.fit_size(s.shape[-2], s.shape[-1], long_side))
                  for s in r.styles]
        out, info = arbitrary_tiled(kind, r.content, styles, o, r.style_blend, tiles.tile, tiles.halo,
                                    tiles.progress)
        return Output(out, info=info)
    return Tiled(run, halo=64, buffer_bytes_per_pixel=extra)


def _bench(kind: str):
    def setup(device: str):
        from .stylize import run as stylize
        opts = ArbitraryOptions(device=device)
        return kind, lambda c, s: stylize(kind, c, [s], opts)
    return setup


def _method(kind: str, title: str, paper: str, line: str, tile_buffers: int = 0) -> Method:
    content, style = _memory(kind)
    run, prepare = _runner(kind)
    return Method(
        name=kind, title=title, paper=paper, description=line, options=ArbitraryOptions, run=run, prepare=prepare,
        supports=SUPPORTS, memory=content, style_memory=style, style_side=_style_side, style_field="style_size",
        strength_field="alpha", bench=_bench(kind), tiled=_tiled(kind, tile_buffers))


@register
def adain() -> Method:
    return _method("adain", "Any painting, fast (AdaIN)", "Huang & Belongie 2017",
                   "Copies the colours and textures of any painting: about a second")


@register
def wct() -> Method:
    # its levels run one after the other on tiles: one more float32 image lives between them
    return _method("wct", "Any painting, richer (WCT)", "Li et al. 2017",
                   "Copies any painting's style more closely, with richer brushwork: a few seconds", tile_buffers=12)
