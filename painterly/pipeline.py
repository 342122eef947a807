"""The one pipeline every method plugs into:

    load images -> resize -> (colour pre-process) -> method -> strength / colour / mask -> result

A front end builds one frozen `Request` (`painterly.request.make_request`) and calls `run(request)`;
a folder or a video makes one `Painter(request)` and paints every photo with it, so the styles are
decoded and the method prepared (`Method.prepare`) once. The method comes from the registry
(`painterly.methods`); this module never names one. `run_stylize` is the keyword form of
`run(make_request(...))`, and `painterly.stylize` its one-line form.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import torch
from PIL import Image

from . import colour, images, methods, tiling
from .device import free_memory_bytes, gib, memory_guard, pick_device, return_freed_memory
from .errors import InputError, NotEnoughMemory
from .losses import blend_weights
from .options import OptionError, check_fields
from .request import PRESERVE_COLORS, Request, TransferOptions, method_options  # noqa: F401

@dataclass
class StylizeResult:
    """A finished (or interrupted) run: the output image and everything needed to report on it."""

    image: Image.Image
    tensor: torch.Tensor
    history: list[dict] = field(default_factory=list)
    stopped: Optional[str] = None
    info: dict = field(default_factory=dict)


class TooLarge(OptionError, NotEnoughMemory):
    """A run refused before it starts because an option makes it need more memory than is free."""


def estimate_memory(m: methods.Method, h: int, w: int, o: Any, inputs: Sequence[tuple[Any, str, int]] = (),
                    style_sizes: Sequence[tuple[int, int]] = ()) -> list[tuple[int, str, Optional[str]]]:
    """Peak bytes of a run, before any pixel is decoded, as (bytes, what, field to change) parts:
    the method's tensors for an (h, w) output, the encoding of its largest style image at the size
    the method uses it (the two run one after the other), and decoding each input (`inputs`:
    (source, role, long side it is used at)), at reduced size where it is much larger."""
    out = m.memory(h, w, o)
    style = 0
    if m.style_memory is not None and style_sizes:
        side = m.style_side(h, w, o) if m.style_side else max(h, w)
        px = max(a * b for a, b in (images.fit_size(sh, sw, side) for sw, sh in style_sizes))
        style = m.style_memory(px, o)
    parts: list[tuple[int, str, Optional[str]]] = []
    if style > out:
        sw, sh = style_sizes[0] if len(style_sizes) == 1 else (0, 0)
        at = "x".join(map(str, images.fit_size(sw, sh, side))) if sw else f"{side} px"
        parts.append((style, f"the style image at {at}", m.style_field))
    else:
        parts.append((out, f"the output at {w}x{h}", "size"))
    for src, role, side in inputs:
        parts.append((images.decode_memory(src, side, role), f"decoding {images.label(src, role)}", None))
    return parts


def check_fits(m: methods.Method, h: int, w: int, device: str, o: Any, inputs: Sequence[tuple[Any, str, int]] = (),
               style_sizes: Sequence[tuple[int, int]] = ()) -> None:
    """Refuse a run that would need more memory than is free: one line saying how much, for what
    (the largest part), and which option to lower. Decoding happens in the computer's memory, the
    method on `device`: on a GPU the two are checked separately."""
    parts = estimate_memory(m, h, w, o, inputs, style_sizes)
    groups = [(parts, device)] if device == "cpu" else [(parts[:1], device), (parts[1:], "cpu")]
    for group, where in groups:
        need, free = sum(p[0] for p in group), free_memory_bytes(where)
        if not group or free is None or need <= free:
            continue
        _, what, field_ = max(group, key=lambda p: p[0])
        problem = f"this run ({what}) needs about {gib(need)} but only {gib(free)} is free on {where}"
        if field_ is None:
            raise NotEnoughMemory(f"{problem}: downscale it first")
        raise TooLarge(field_, f"is too large: {problem}; lower it")


#: Memory a tile's activations may take: with the whole-image buffers (`_buffer_bytes`, 0.43 GB
#: at 24 MP) and the loaded process (~0.7 GB: PyTorch, the network) a 24 MP run stays under 2 GB.
TILE_BUDGET = 512 * 2**20


def _buffer_bytes(h: int, w: int, m: methods.Method) -> int:
    """Whole-image buffers of a tiled run: uint8 content, float32 result and its uint8 PIL copy,
    plus what the method's tiled runner declares it keeps (e.g. a float32 image between levels)."""
    return h * w * (3 + 12 + 3 + m.tiled.buffer_bytes_per_pixel)


def plan_tiles(h: int, w: int, device: str, m: methods.Method, o: Any, tile: Optional[int] = None,
               force: bool = False) -> Optional[int]:
    """The tile side for an h×w run of `m`, or None to run the whole image at once: tiles when
    `force` (`tile` px, or an automatic size when `tile` is None or 0), or when the whole image
    would not fit in free memory; InputError when even tiles would not."""
    need = m.memory(h, w, o)
    free = free_memory_bytes(device)
    if m.tiled is None:
        if force:
            raise OptionError("tile", "works with the one-pass methods ("
                              + ", ".join(x.name for x in methods.all_methods() if x.tiled) + f"), not {m.name}")
        return None      # the caller checks that the whole run fits (check_fits)
    if not force and (free is None or need <= free):
        return None
    halo = m.tiled.halo
    if tile:
        if tile < 2 * halo + tiling.ALIGN:
            raise OptionError("tile", f"{tile} is too small: it needs at least {2 * halo + tiling.ALIGN} px "
                                      f"(the tiles overlap by {halo} px on each side)")
        th, tw = min(h, int(tile) + 2 * halo), min(w, int(tile) + 2 * halo)
        need_tile = m.memory(th, tw, o) + _buffer_bytes(h, w, m)
        if free is not None and need_tile > free:
            raise TooLarge("tile", f"{tile} is too large: a {tw}x{th} tile (with its overlap) and the whole-image "
                                   f"buffers need about {gib(need_tile)} but only {gib(free)} is free on {device}; "
                                   "lower it (or give no number: an automatic size)")
        return int(tile)
    bpp = max(1.0, need / (h * w))
    buffers = _buffer_bytes(h, w, m)
    budget = TILE_BUDGET if free is None else min(TILE_BUDGET, (free - buffers) // 2)
    if budget < min((256 + 2 * halo) ** 2, h * w) * bpp:
        raise InputError(f"output size {w}x{h} needs about {buffers / 2**30:.1f} GiB even on tiles (its "
                         f"whole-image buffers) but only {(free or 0) / 2**30:.1f} GiB is free on {device}: "
                         "lower {size}", refs=("size",))
    return tiling.tile_for(bpp, budget)


def _check_supports(m: methods.Method, n_styles: int, t: TransferOptions) -> None:
    def who(feature: str) -> str:
        return " or ".join(x.name for x in methods.all_methods() if feature in x.supports)
    if m.needs_style and not n_styles:
        raise InputError(f"method {m.name} needs at least one style image")
    if not m.needs_style and n_styles:
        raise InputError(f"method {m.name} carries its style in the model: give no style image")
    if t.preserve_colors == "match" and not m.needs_style:
        raise OptionError("preserve_colors", f"match needs a style image; with method {m.name} use luminance")
    for feature, value in (("mask", t.mask), ("style_masks", t.style_masks), ("blend", t.style_blend),
                           ("preserve_colors", t.preserve_colors)):
        if value is not None and feature not in m.supports:
            raise OptionError("style_blend" if feature == "blend" else feature,
                              f"works with method {who(feature)}, not {m.name}")
    if t.style_blend is not None and m.needs_style:   # a model method checks its own (one weight per model)
        blend_weights(t.style_blend, n_styles)


def make_request(content: Any = None, styles: Any = None, method: Optional[str] = None,
                 options: Any = None, transfer: Optional[TransferOptions] = None, **values: Any) -> Request:
    """A checked request. `transfer` (the shared options) or its fields as keywords (`size=`,
    `strength=` ...); the method's own options as its dataclass in `options` or as keywords
    (`steps=`, `alpha=`, `model=` ...). `method`: a registered name; default gatys, or the
    trained-model method when `model=` is given."""
    shared = {f.name for f in dataclasses.fields(TransferOptions)} - {"method"}
    t_values = {k: values.pop(k) for k in list(values) if k in shared}
    if transfer is None:
        transfer = TransferOptions(**t_values)
    elif t_values:
        transfer = dataclasses.replace(transfer, **t_values)
    check_fields(transfer)
    _check_auto_masks(transfer.mask, transfer.style_masks)
    name = method or transfer.method
    m = methods.get(name or methods.default_for(values.get("model") or getattr(options, "model", None)))
    o = method_options(m, options, **values)
    o.validate() if hasattr(o, "validate") else check_fields(o)   # validate() checks the fields too
    return Request(content, styles, dataclasses.replace(transfer, method=m.name), o)



class Painter:
    """A request made ready for many photos (a folder, a video's frames): the method's checks run
    once, and the decoded styles and the method's prepared runner (`Method.prepare`) are kept
    while the output size stays the same. `painter(content)` paints one photo; every photo of the
    request goes through the same code, so identical photos give identical pixels."""

    def __init__(self, request: Request, tile_callback: Optional[tiling.Progress] = None):
        self.request, self.tile_callback = request, tile_callback
        self.method = methods.get(request.method)
        self.device = pick_device(request.transfer.device)
        _check_supports(self.method, len(request.styles), request.transfer)
        self._key: Any = None
        self._styles: tuple = ()
        self._runner: Optional[methods.Runner] = None

    def __getstate__(self) -> dict:
        """What travels to another process (a Ray worker): the request and what was prepared for
        it; the method is found there again by name, progress callbacks stay behind."""
        return {"request": self.request, "device": self.device, "key": self._key, "styles": self._styles,
                "runner": self._runner}

    def __setstate__(self, state: dict) -> None:
        self.request, self.tile_callback = state["request"], None
        self.method = methods.get(self.request.method)
        self._key, self._styles, self._runner = state["key"], state["styles"], state["runner"]
        # nothing prepared: the device is this process's own choice (a GPU worker of a CPU driver)
        self.device = state["device"] if self._runner is not None else pick_device(self.request.transfer.device)

    @property
    def prepared(self) -> bool:
        """The method's runner is ready (`prepare` or a first photo ran)."""
        return self._runner is not None

    def prepare(self, content: Any) -> Painter:
        """Decode the styles and prepare the method for photos shaped like `content`, without
        painting it, so that the prepared painter can be shipped (engines: style features
        computed once). A photo that would run on tiles, or a colour-matched run, prepares nothing."""
        req = self.request.with_content(content)
        h, w, s_side, tiled = self._plan(req)
        if not tiled and req.transfer.preserve_colors != "match":
            self._ready(req, (h, w), s_side, None, None, 0)
        return self

    def _plan(self, req: Request) -> tuple[int, int, int, bool]:
        """(h, w, style side, whether it runs on tiles) of the request's photo, from headers."""
        m, o, t = self.method, req.options, req.transfer
        cw, ch = images.image_size(req.content, "content image")
        h, w = images.fit_size(ch, cw, t.size)
        s_side = m.style_side(h, w, o) if m.style_side else max(h, w)
        return h, w, s_side, plan_tiles(h, w, self.device, m, o, t.tile, force=t.tile is not None) is not None

    def __call__(self, content: Any = None, callback: Optional[Callable[[int, dict], None]] = None,
                 image_callback: Optional[Callable[[int, torch.Tensor], None]] = None,
                 image_every: int = 0, guide: Any = None) -> StylizeResult:
        """Paint `content` (default: the request's own photo). `guide`: a video frame's
        `temporal.Guide`, passed on to a method that follows the motion itself (`uses_guide`)."""
        return self._paint(content, callback, image_callback, image_every, check_only=False, guide=guide)

    def check(self, content: Any = None) -> None:
        """Every check a run of `content` makes before it decodes a pixel (sizes, tiles, memory),
        without running it: a server refuses a bad request before queueing it."""
        self._paint(content, None, None, 0, check_only=True)

    def _paint(self, content: Any, callback: Optional[Callable[[int, dict], None]],
               image_callback: Optional[Callable[[int, torch.Tensor], None]], image_every: int,
               check_only: bool, guide: Any = None) -> Optional[StylizeResult]:
        req = self.request if content is None else self.request.with_content(content)
        m, o, t, dev = self.method, req.options, req.transfer, self.device
        content = req.content
        c_label = images.label(content, "content image")
        cw, ch = images.image_size(content, "content image")
        images.check_min_size((cw, ch), c_label)
        h, w = images.fit_size(ch, cw, t.size)
        images.check_min_size((w, h), f"{c_label} at size {t.size}")
        own_reader = m.load_style is not None      # the method reads its style arguments itself (e.g. vectors)
        # style images are sized from their headers (a method's own files, e.g. style vectors, are not images)
        style_images = [s for s in req.styles if not own_reader or images.is_image_file(s)]
        s_sizes = [images.image_size(s, "style image") for s in style_images]
        for s, wh in zip(style_images, s_sizes):
            images.check_min_size(wh, images.label(s, "style image"))
        s_side = m.style_side(h, w, o) if m.style_side else max(h, w)
        for s, (sw, sh) in zip(style_images, s_sizes):   # at the size the method uses it, naming the file
            uh, uw = images.fit_size(sh, sw, s_side)
            if min(uh, uw) < images.MIN_SIDE:
                label, need = images.label(s, "style image"), f"it needs at least {images.MIN_SIDE} px on each side"
                if m.style_field is None:
                    raise InputError(f"{label} ({sw}x{sh}) would be {uw}x{uh} at the size it is used: {need}")
                raise OptionError(m.style_field, f"makes {label} {uw}x{uh} (from {sw}x{sh}), too small: {need}; "
                                                 "raise it")
        inputs = ([(content, "content image", max(h, w))]
                  + [(s, "style image", s_side) for s in style_images]
                  + [(x, "mask", max(h, w)) for x in [*([t.mask] if t.mask is not None else []),
                                                       *(t.style_masks or [])] if not _is_auto(x)])
        tile_side = plan_tiles(h, w, dev, m, o, t.tile, force=t.tile is not None)
        if check_only:
            if tile_side is None:
                check_fits(m, h, w, dev, o, inputs, s_sizes)
            return None
        if tile_side is not None:
            with memory_guard("size"):
                return _run_tiled(req, m, (h, w), dev, tiling.Tiles(
                    tile_side, m.tiled.halo, "reduced" if t.tile_stats == "auto" else t.tile_stats,
                    self.tile_callback))
        check_fits(m, h, w, dev, o, inputs, s_sizes)
        with memory_guard("size"):
            return self._run_whole(req, (h, w), s_side, callback, image_callback, image_every,
                                   guide if m.uses_guide else None)

    def _run_whole(self, req: Request, hw: tuple[int, int], s_side: int, callback, image_callback,
                   image_every: int, guide: Any = None) -> StylizeResult:
        """Decode the inputs (each at no more than about twice the size it is used at), run the method,
        post-process (strength, colours, mask)."""
        m, t = self.method, req.transfer
        c, mk, r = self._ready(req, hw, s_side, callback, image_callback, image_every, guide)
        res = self._runner(r)
        out = res.image
        if t.strength != 1.0:   # also after a method's own mix (strength_field): 0 is the photo, exactly
            out = t.strength * out + (1 - t.strength) * c.to(out)
        if t.preserve_colors == "luminance":
            out = colour.luminance_transfer(out, c)
        if mk is not None:
            out = mk * out + (1 - mk) * c
        info = {"method": m.name, "height": out.shape[-2], "width": out.shape[-1],
                "preserve_colors": t.preserve_colors, "style_blend": list(t.style_blend) if t.style_blend else None,
                "strength": t.strength, **res.info}
        return StylizeResult(images.tensor_to_pil(out), out, res.history, res.stopped, info)


    def _ready(self, req: Request, hw: tuple[int, int], s_side: int, callback, image_callback,
               image_every: int, guide: Any = None) -> tuple[torch.Tensor, Optional[torch.Tensor], methods.Run]:
        """The photo, its mask and the method's Run, with the styles decoded and the runner prepared
        for this size (kept while the size stays the same)."""
        m, t, dev = self.method, req.transfer, self.device
        (h, w), style_masks = hw, t.style_masks
        c = images.resize(images.load_image(req.content, "content image", max(h, w)), (h, w))
        match = t.preserve_colors == "match"          # styles take the photo's colours: nothing to keep
        key = (h, w, s_side)
        if match or key != self._key:
            s_list = tuple(m.load_style(s, "style image", s_side) if m.load_style
                           else images.load_image(s, "style image", s_side) for s in req.styles)
            if match:
                s_list = tuple(colour.match_colours(s, c) if s.dim() == 4 else s for s in s_list)
            self._key, self._styles, self._runner = (None if match else key), s_list, None
        mk = _load_mask(t.mask, c, (h, w), "mask", t) if t.mask is not None else None
        region_masks = (tuple(_load_mask(sm, c, (h, w), "style mask", t) for sm in style_masks)
                        if style_masks is not None else None)
        r = methods.Run(req, c, self._styles, dev, mk, region_masks, callback, image_callback, image_every, guide)
        if self._runner is None:
            self._runner = m.prepared(r)
        return c, mk, r


def run(request: Request, callback: Optional[Callable[[int, dict], None]] = None,
        image_callback: Optional[Callable[[int, torch.Tensor], None]] = None, image_every: int = 0,
        tile_callback: Optional[tiling.Progress] = None) -> StylizeResult:
    """Load, stylise and post-process the request's photo. `callback(step, losses)` every step of
    an iterative method, `image_callback(step, image)` every `image_every` steps;
    `tile_callback(done, total, phase)` on tiles (see `tiling`)."""
    return Painter(request, tile_callback)(None, callback, image_callback, image_every)


def run_stylize(content: images.ImageLike,
                styles: Union[images.ImageLike, Sequence[images.ImageLike], None] = None,
                method: Optional[str] = None, size: Optional[int] = 512,
                preserve_colors: Optional[str] = None, mask: Optional[images.ImageLike] = None,
                style_blend: Optional[Sequence[float]] = None,
                style_masks: Optional[Sequence[images.ImageLike]] = None, device: Optional[str] = "auto",
                strength: float = 1.0, callback: Optional[Callable[[int, dict], None]] = None,
                image_callback: Optional[Callable[[int, torch.Tensor], None]] = None, image_every: int = 0,
                options: Any = None, tile: Optional[int] = None, tile_stats: str = "auto",
                tile_callback: Optional[tiling.Progress] = None, **values: Any) -> StylizeResult:
    """Load, stylise and post-process: `run(make_request(...))` in keywords. `method`: a registered
    name (`painterly.methods.names()`); default gatys, or the trained-model method when `model=`
    is given. The method's own options come as keywords (`steps=`, `alpha=`, `model=` ...) or as
    its dataclass in `options`. `strength` (0 = photo, 1 = full style) works for every method.
    Methods with a tiled runner run on tiles when the whole image would not fit in free memory,
    or always when `tile` is given (px, 0 = automatic size; `tile_stats`, `tile_callback(done,
    total, phase)`: see `tiling`)."""
    transfer = TransferOptions(method, size, strength, style_blend, preserve_colors, mask, style_masks, device, tile,
                               tile_stats)
    request = make_request(content, styles, options=options, transfer=transfer, **values)
    return run(request, callback, image_callback, image_every, tile_callback)


def _run_tiled(req: Request, m: methods.Method, hw: tuple[int, int], dev: str,
               tiles: tiling.Tiles) -> StylizeResult:
    """The method on tiles: content and styles stay uint8, the result is built tile by tile and
    post-processed (strength, colours, mask) in bands of rows."""
    return_freed_memory()      # tile after tile of activations must not pile up on the heap
    h, w = hw
    t = req.transfer
    region_masks = None
    if t.style_masks is not None:
        if not m.tiled.style_masks:
            able = " or ".join(x.name for x in methods.all_methods() if x.tiled and x.tiled.style_masks)
            raise OptionError("style_masks", f"works on tiles with method {able}, not {m.name}: lower {{size}} "
                                             "(or leave out {tile})", refs=("size", "tile"))
    c8 = images.load_uint8(req.content, "content image", (h, w))
    if t.style_masks is not None:
        region_masks = tuple(_load_mask(sm, c8, (h, w), "style mask", t) for sm in t.style_masks)
    s8 = []
    for s in req.styles:
        if m.load_style is not None:      # the method reads its style arguments itself (e.g. vectors)
            s8.append(m.load_style(s, "style image", m.style_side(h, w, req.options) if m.style_side else max(h, w)))
            continue
        s8.append(images.load_uint8(s, "style image", long_side=m.style_side(h, w, req.options) if m.style_side
                                    else max(h, w)))
        images.check_min_size(s8[-1], images.label(s, "style image"))
    if t.preserve_colors == "match":
        small = tiling.downscale(c8, tiling.REDUCED_SIDE)
        s8 = [images.load_uint8(colour.match_colours(tiling.to_float(s), small), "style image") if s.dim() == 4
              else s for s in s8]
    res = m.tiled.run(methods.Run(req, c8, tuple(s8), dev, None, region_masks), tiles)
    out = res.image
    mk = _load_mask(t.mask, c8, tuple(out.shape[-2:]), "mask", t) if t.mask is not None else None
    blend = t.strength != 1.0
    with torch.inference_mode():
        _post_process_in_bands(out, c8, t.strength if blend else None, t.preserve_colors == "luminance", mk)
    info = {"method": m.name, "height": out.shape[-2], "width": out.shape[-1], "preserve_colors": t.preserve_colors,
            "style_blend": list(t.style_blend) if t.style_blend else None, "strength": t.strength, **res.info}
    return StylizeResult(images.tensor_to_pil(out), out, res.history, res.stopped, info)


def _is_auto(src: Any) -> bool:
    return isinstance(src, str) and src.strip().lower().startswith("auto:")


def _check_auto_masks(mask: Any, style_masks: Any) -> None:
    """An unknown `auto:` region is refused before anything is decoded (OptionError listing the known)."""
    from . import segment
    for field_, src in [("mask", mask), *(("style_masks", x) for x in (style_masks or ()))]:
        if _is_auto(src):
            segment.region_of(src, field_)


def _load_mask(src: Any, photo: torch.Tensor, hw: tuple[int, int], what: str, t: TransferOptions) -> torch.Tensor:
    """A mask file or tensor, or the automatic region `auto:NAME` of the photo (at `hw`; `painterly.segment`)."""
    if not _is_auto(src):
        return images.load_mask(src, hw, what)
    from . import segment
    return segment.load_mask(src, photo, hw, what, "mask" if what == "mask" else "style_masks",
                             t.mask_feather, t.missing_region)


def _post_process_in_bands(out: torch.Tensor, c8: torch.Tensor, strength: Optional[float], luminance: bool,
                           mk: Optional[torch.Tensor], band: int = 256) -> None:
    """Strength blend, luminance transfer and mask on `out` in place, a band of rows at a time."""
    for r in range(0, out.shape[-2], band):
        ob = out[..., r:r + band, :]
        cb = c8[..., r:r + ob.shape[-2], : ob.shape[-1]].float() / 255
        if strength is not None:
            ob.mul_(strength).add_((1 - strength) * cb)
        if luminance:
            ob.copy_(colour.luminance_transfer(ob, cb))
        if mk is not None:
            mb = mk[..., r:r + ob.shape[-2], :]
            ob.mul_(mb).add_((1 - mb) * cb)


def stylize(content: images.ImageLike, style: Union[images.ImageLike, Sequence[images.ImageLike], None] = None,
            **options) -> Image.Image:
    """Stylise `content` with one or more style images; returns a PIL image. See `run_stylize`."""
    return run_stylize(content, style, **options).image
