"""Optimisation-based style transfer (Gatys, Ecker & Bethge 2015/2016).

The image itself is optimised so that its VGG features match the content photo's on the
content layers and its Gram matrices match the style's on the style layers:

    L = content_weight * sum_c w_c L_content + style_weight * sum_l w_l E_l + tv_weight * L_tv

(one `painterly.objective.Objective` per level: a content term, a Gram term, TV, and any terms the
caller adds, e.g. a temporal term for video).

L-BFGS (default) or Adam; init from content, white noise or the style; several styles blended
by weight; an optional mask that restricts the style statistics to a region; coarse-to-fine
multi-scale; and a divergence guard that stops and returns the best image when the loss turns
NaN/inf or explodes. Plain values in, tensors and a history out: no printing, no arguments parsing.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Optional, Union
from collections.abc import Callable, Sequence

import torch

from ... import images, imageparam
from ...errors import InputError
from ...features import Encoder, check_layers
from ...losses import blend_weights, gram_matrix
from ...objective import ContentTerm, GramTerm, ImageTerm, Objective, Region, Term, tv_term
from ...options import OptionError
from .options import GatysOptions

Callback = Callable[[int, dict], None]
ImageCallback = Callable[[int, torch.Tensor], None]

#: A step whose total loss exceeds this multiple of the best so far counts as divergence.
EXPLODE_FACTOR = 1e3


@dataclass
class GatysResult:
    """What a run returns: the image (best by total loss), per-step losses, and why it stopped."""

    image: torch.Tensor
    history: list[dict]
    stopped: Optional[str]          # None: ran all steps; else "interrupted" or a divergence message
    encoder: str
    options: dict
    seconds: float


#: From this many output pixels on, `low_memory=None` recomputes activations (checkpointing).
LOW_MEMORY_PIXELS = 512 * 1024
#: Peak bytes per output pixel and fixed overhead, measured on the CPU with vgg19-caffe-q8
#: (painterly bench gatys): 1024x768 takes 3.6 GB without checkpointing, 2.7 GB with it.
BYTES_PER_PIXEL = {False: 4800, True: 3000}
BASE_BYTES = 600 * 2**20


def low_memory(h: int, w: int, setting: Optional[bool] = None) -> bool:
    """Whether a run at (h, w) checkpoints the encoder: `setting` if given, else by size."""
    return setting if setting is not None else h * w >= LOW_MEMORY_PIXELS


def estimate_memory(h: int, w: int, setting: Optional[bool] = None) -> int:
    """Rough peak bytes of a run at (h, w), so that absurd sizes fail before they start."""
    return BASE_BYTES + BYTES_PER_PIXEL[low_memory(h, w, setting)] * h * w


#: Peak bytes per style-image pixel of encoding a style (no gradients; measured on the CPU with
#: vgg19-caffe-q8 at 512 and 1024 px: 1010-1020, plus margin). Styles are encoded one at a time
#: before the optimisation starts, so this peak and `estimate_memory`'s do not add up.
STYLE_BYTES_PER_PIXEL = 1100


def estimate_style_memory(pixels: int) -> int:
    """Rough peak bytes of encoding a style image of `pixels` pixels."""
    return BASE_BYTES + STYLE_BYTES_PER_PIXEL * pixels


def style_long_side(h: int, w: int, style_scale: float) -> int:
    """Long side a style image is resized to for an output of (h, w) (the finest level)."""
    return max(images.MIN_SIDE, round(max(h, w) * style_scale))


#: L-BFGS keeps 2 image-sized vectors per remembered step; cap what that history may use.
LBFGS_HISTORY_BYTES = 256 * 2**20


def lbfgs_history(numel: int) -> int:
    """History length for an image of `numel` values: 50 at 512 px, 13 at 1024 px, never below 5.

    Measured at 256 px, 150 steps: history 10 vs 100 changes the final loss by under 2 %, while
    100 would cost 1.9 GB at 1024 px.
    """
    return int(max(5, min(50, LBFGS_HISTORY_BYTES // (2 * 4 * numel))))


#: Without a line search, an L-BFGS step whose loss exceeds this multiple of the best is an
#: overshoot (seen at 128 px: 10^3 x; smaller jumps, 64 px: 3x, recover by themselves and restarting
#: would lose the history): the run goes on from the best image with a line search.
OVERSHOOT_FACTOR = 100.0


def _lbfgs(params: list[torch.Tensor], o: GatysOptions, steps: int, line_search: bool) -> torch.optim.LBFGS:
    """L-BFGS over `params` for `steps` evaluations in one step() call (so its state carries on;
    each step() call would start with an extra evaluation at the same point). Without a line
    search it takes the quasi-Newton step as is, one evaluation per iteration, as the PyTorch
    tutorial does: at 512 px the strong-Wolfe search spent ~8 extra evaluations getting started
    and then matched it evaluation for evaluation."""
    return torch.optim.LBFGS(params, lr=o.lr or 1.0, max_iter=steps, max_eval=steps + 25,
                             history_size=lbfgs_history(sum(p.numel() for p in params)), tolerance_grad=0.0,
                             tolerance_change=0.0, line_search_fn="strong_wolfe" if line_search else None)


class _Overshoot(Exception):
    """Raised inside the closure when a plain L-BFGS step made the loss much worse."""


class _LevelDone(Exception):
    """Raised inside the closure when a level has used its steps."""


class _Diverged(Exception):
    """Raised inside the closure when the loss is NaN/inf or explodes."""


def check_scales(h: int, w: int, scales: int) -> None:
    """OptionError naming `scales` when an (h, w) output cannot have that many levels."""
    possible = len(_scale_sizes(h, w, scales))
    if scales > possible:
        raise OptionError("scales", f"{scales} is more than a {w}x{h} output can have: at most {possible} here (each "
                                    "level is half the next, and the coarsest keeps 32 px on its short side)")


def _scale_sizes(h: int, w: int, scales: int) -> list[tuple[int, int]]:
    """Sizes from coarse to fine, each level half the next, never below 32 px on the short side."""
    out = []
    for k in reversed(range(scales)):
        f = 2 ** -k
        if min(h, w) * f >= 32 or k == 0:
            out.append((max(1, round(h * f)), max(1, round(w * f))))
    return out


def style_for(style: torch.Tensor, size: tuple[int, int], style_scale: float = 1.0) -> torch.Tensor:
    """The style image at the size its Gram targets are taken: long side = output's x style_scale."""
    return images.resize_long_side(style, style_long_side(size[0], size[1], style_scale))


def _blend(grams: list[torch.Tensor], blend: Sequence[float]) -> torch.Tensor:
    total = sum(blend)
    return torch.stack([g * (b / total) for g, b in zip(grams, blend)]).sum(dim=0)


def autocast_dtype(precision: str, device: str | torch.device) -> Optional[torch.dtype]:
    """The reduced-precision type VGG runs in (None: float32). `auto` picks bfloat16 on a CPU whose
    oneDNN has native bfloat16 (AVX512-BF16/AMX: about 1.8x faster per evaluation here) and on a CUDA
    device that supports it; elsewhere bfloat16 would be emulated and slower, so float32."""
    if precision == "float32":
        return None
    dev = torch.device(device)
    if precision == "bfloat16":
        return torch.bfloat16
    if dev.type == "cpu":
        return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None
    if dev.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return None


#: Extra terms a caller adds to every level: a list, or a function of the level's (height, width).
ExtraTerms = Union[Sequence[Term], Callable[[tuple[int, int]], Sequence[Term]]]


def objective(encoder: Encoder, content: torch.Tensor, styles: Sequence[torch.Tensor], blend: Sequence[float],
              options: GatysOptions, style_weight: float, mask: Optional[torch.Tensor] = None,
              dtype: Optional[torch.dtype] = None, terms: Sequence[Term] = ()) -> Objective:
    """Gatys' objective at one size: content_weight x content (`content_layers`) + style_weight x Gram
    style of the blended styles (`style_layers`, inside `mask`) + tv_weight x TV (always measured, for
    the history), the photorealism regulariser when asked, then the caller's `terms`.

    With `dtype` the encoder runs in it (see `Objective`); the targets are taken the same way, so the
    content loss of the photo itself is 0."""
    o = options
    probe = Objective(encoder, [ContentTerm(o.content_layers), GramTerm(o.style_layers)], dtype)
    with torch.no_grad():
        c_feats = probe.encode(content)
        per_style = []
        for s in styles:
            f = probe.encode(s)
            per_style.append({n: gram_matrix(f[n]) for n in o.style_layers})
        grams = {n: _blend([g[n] for g in per_style], blend) for n in o.style_layers}
        regions = _label_regions(o, content, styles, f, mask) if o.content_labels is not None else ()
        style = GramTerm(o.style_layers, grams, style_weight, mask, regions=regions)
        parts: list[Term] = [ContentTerm(o.content_layers, {n: c_feats[n].detach().float() for n in o.content_layers},
                                         o.content_weight), style, tv_term(o.tv_weight)]
        if o.photorealism > 0:       # Luan et al.'s regulariser, in units of the photo's style loss
            from ...matting import MattingLoss
            gap = float(style_weight * style.loss(c_feats, content))
            parts.append(ImageTerm("photorealism", MattingLoss(content, o.photorealism * gap)))
    return Objective(encoder, [*parts, *terms], dtype)


def _label_regions(o: GatysOptions, content: torch.Tensor, styles: Sequence[torch.Tensor], s_feats,
                   mask: Optional[torch.Tensor]) -> list[Region]:
    """Luan et al.'s label-augmented style loss: per label colour, the photo's region as the mask and the
    Gram matrices of the style image's same region as targets (label maps read as the photo method does)."""
    from ... import labels as lab
    if len(styles) != 1:
        raise OptionError("content_labels", f"work with one style image, got {len(styles)}")
    cm = lab.load(o.content_labels, "content labels", tuple(content.shape[-2:]))
    sm = lab.load(o.style_labels, "style labels", tuple(styles[0].shape[-2:]))
    order = lab.match(cm, sm)
    s_ids = lab.for_style(sm, order).to(content.device)
    c_ids = cm.ids.to(content.device)
    out = []
    for k in range(len(cm.palette)):
        cmask = (c_ids == k).float()[None, None]
        if mask is not None:
            cmask = cmask * mask
        share = float(cmask.mean())
        if share <= 0:
            continue
        smask = (s_ids == k).float()[None, None]
        out.append((share, cmask, {n: gram_matrix(s_feats[n], smask) for n in o.style_layers}))
    return out


def make_encoder(o: GatysOptions, h: int, w: int) -> Encoder:
    """The VGG a run at (h, w) uses (its layers, pooling, weights; checkpointed from `low_memory`'s
    size). A folder or a video makes it once and passes it to every `run`."""
    name = o.encoder_name()
    _check_layers(name, o)
    return Encoder(name, list(o.content_layers) + list(o.style_layers), o.pooling, o.weights_path,
                   checkpoint=low_memory(h, w, o.low_memory)).to(o.device)


def start_image(o: GatysOptions, content: torch.Tensor, style: torch.Tensor, gen: torch.Generator,
                init: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The first level's start: the caller's `init` image if given, else `o.init` (the photo, white
    noise from `gen`, or the first style stretched to the photo's size), at `content`'s size."""
    size = tuple(content.shape[-2:])
    if init is not None:
        return images.resize(init.to(content.device).clamp(0, 1), size)
    if o.init == "content":
        return content.clone()
    if o.init == "noise":
        return torch.rand(content.shape, generator=gen).to(content.device)
    return images.resize(style.to(content.device), size)


@dataclass
class Level:
    """What one level's optimisation ends with: its best image, the run's step count, and why it
    stopped early (None: it used its steps or converged; else "interrupted" or a divergence message)."""

    image: torch.Tensor
    step: int
    stopped: Optional[str]


def optimise_level(objective: Objective, start: torch.Tensor, o: GatysOptions, *, step: int = 0, level: int = 0,
                   history: Optional[list[dict]] = None, callback: Optional[Callback] = None,
                   image_callback: Optional[ImageCallback] = None, image_every: int = 0,
                   t0: Optional[float] = None) -> Level:
    """Optimise one image from `start` under `objective` for `o.steps` evaluations (L-BFGS or Adam).

    The loss is that of the image clamped to [0, 1]; the best image by total loss is kept. `step` is
    the run's step count so far (steps are numbered across levels); each step's record (the terms'
    losses, total, level and size) is appended to `history` and passed to `callback`. Control flow:
    the budget running out inside L-BFGS's step ends the level (`_LevelDone`); a plain L-BFGS step that
    overshoots restarts from the best image with a line search (`_Overshoot`); NaN/inf or an exploding
    Adam loss (`_Diverged`) and Ctrl-C stop with the best image and say so in `stopped`.
    """
    t0 = time.perf_counter() if t0 is None else t0
    history = [] if history is None else history
    sh, sw = start.shape[-2:]
    # Adam's learning rate is per pixel: it always moves the pixels
    param = imageparam.make(start, o.parametrization if o.optimizer == "lbfgs" else "pixels")
    params = param.parameters()
    opt: torch.optim.Optimizer
    # L-BFGS's plain step watches for an overshoot (auto) and then goes on with a line search
    guard = o.optimizer == "lbfgs" and o.line_search == "auto"
    if o.optimizer == "lbfgs":
        opt = _lbfgs(params, o, o.steps, o.line_search == "strong_wolfe")
    else:
        opt = torch.optim.Adam(params, lr=o.lr or 0.02)
    best_img, best_loss = start.clone(), math.inf  # losses at different scales are not comparable
    level_end = step + o.steps
    scale: list[float] = []

    def closure() -> torch.Tensor:
        nonlocal step, best_img, best_loss
        if step >= level_end:
            raise _LevelDone
        opt.zero_grad(set_to_none=True)
        # The loss is that of the image clamped to [0, 1] (what gets saved); its gradient passes
        # the clamp unchanged (straight-through), so out-of-range pixels are pulled back in.
        img = param.image()
        img = img + (img.detach().clamp(0, 1) - img.detach())
        total, terms = objective(img)
        parts = {k: float(v.detach()) for k, v in terms.items()}
        t = parts["total"] = float(total.detach())
        if not math.isfinite(t) or (math.isfinite(best_loss) and t > EXPLODE_FACTOR * best_loss
                                    and o.optimizer == "adam"):
            why = "NaN/inf" if not math.isfinite(t) else f"{t:.3g}, over {EXPLODE_FACTOR:g}x the best"
            raise _Diverged(f"diverged at step {step + 1} (loss {why}); kept the best image so far: "
                            "lower the style weight or the learning rate, or use fewer steps")
        # The optimiser sees the loss relative to its first value, so that L-BFGS's first
        # step and tolerances behave the same whatever the encoder's feature scale.
        if not scale:
            scale.append(1.0 / max(abs(t), 1e-30))
        (total * scale[0]).backward()
        step += 1
        if t < best_loss:
            best_loss, best_img = t, img.detach().clone()
        rec = {"step": step, "scale": level, "height": sh, "width": sw, **parts,
               "seconds": time.perf_counter() - t0}
        history.append(rec)
        if callback:
            callback(step, rec)
        if image_callback and image_every and step % image_every == 0:
            image_callback(step, img.detach().clamp(0, 1))
        if guard and t > OVERSHOOT_FACTOR * best_loss:
            raise _Overshoot
        return total.detach() * scale[0]

    try:
        while step < level_end:
            try:
                opt.step(closure)
            except _Overshoot:   # restart from the best image, now with a line search
                param = imageparam.make(best_img, o.parametrization)
                params = param.parameters()
                opt, guard = _lbfgs(params, o, level_end - step, True), False
                continue
            if o.optimizer == "adam":
                with torch.no_grad():
                    params[0].clamp_(0, 1)
            elif step < level_end:   # L-BFGS stopped early (converged): nothing left to gain
                break
    except _LevelDone:
        pass
    except _Diverged as e:
        return Level(best_img, step, str(e))
    except KeyboardInterrupt:
        return Level(best_img, step, "interrupted")
    return Level(best_img, step, None)


def run(content: torch.Tensor, styles: Sequence[torch.Tensor], options: Optional[GatysOptions] = None,
        style_blend: Optional[Sequence[float]] = None, mask: Optional[torch.Tensor] = None,
        callback: Optional[Callback] = None, image_callback: Optional[ImageCallback] = None,
        image_every: int = 0, encoder: Optional[Encoder] = None, init: Optional[torch.Tensor] = None,
        terms: ExtraTerms = ()) -> GatysResult:
    """Stylise `content` (1,3,H,W in [0,1], already at output size) with one or more style images.

    `style_blend` weights the styles' Gram targets; `mask` (1,1,H,W) restricts the style
    statistics to where it is 1. `callback(step, losses)` is called every step; `image_callback`
    every `image_every` steps. Ctrl-C stops early and returns the best image so far.
    `init` (1,3,H,W): the start image instead of `options.init` (e.g. the previous video frame's
    result warped onto this one). `terms`: extra objective terms added at every level (their losses
    appear in the history under their names), or a function of the level's (height, width) giving them.
    Coarse-to-fine: each of `options.scales` levels starts from the previous level's best image.
    """
    o = (options or GatysOptions()).validate()
    if not styles:
        raise InputError("at least one style image is needed")
    blend = blend_weights(style_blend, len(styles))
    dev = torch.device(o.device)
    name = o.encoder_name()
    _check_layers(name, o)
    style_weight = o.resolved_style_weight(name)
    if encoder is None:
        encoder = make_encoder(o, content.shape[-2], content.shape[-1])
    encoder = encoder.to(dev)
    gen = torch.Generator().manual_seed(o.seed)
    dtype = autocast_dtype(o.precision, dev)

    content = content.to(dev)
    images.check_min_size(content, "content image")
    h, w = content.shape[-2:]
    check_scales(h, w, o.scales)
    history: list[dict] = []
    t0 = time.perf_counter()
    step, best, stopped = 0, None, None
    for level, size in enumerate(_scale_sizes(h, w, o.scales)):
        c_img = images.resize(content, size)
        m = images.resize(mask.to(dev), size).clamp(0, 1) if mask is not None else None
        s_imgs = []
        for s in styles:
            s_img = style_for(s.to(dev), size, o.style_scale)
            images.check_min_size(s_img, "style image")
            s_imgs.append(s_img)
        extra = terms(size) if callable(terms) else terms
        level_objective = objective(encoder, c_img, s_imgs, blend, o, style_weight, m, dtype, extra)
        # the next level starts from this level's best image
        x0 = start_image(o, c_img, styles[0], gen, init) if best is None else images.resize(best.clamp(0, 1), size)
        done = optimise_level(level_objective, x0, o, step=step, level=level, history=history, callback=callback,
                              image_callback=image_callback, image_every=image_every, t0=t0)
        step, best, stopped = done.step, done.image, done.stopped
        if stopped:
            break

    best = images.resize(best.clamp(0, 1), (h, w))
    return GatysResult(image=best.detach().cpu(), history=history, stopped=stopped,
                       encoder=name, options={**asdict(o), "encoder": name, "style_weight": style_weight},
                       seconds=time.perf_counter() - t0)


@torch.no_grad()
def evaluate(image: torch.Tensor, content: torch.Tensor, style: torch.Tensor,
             options: Optional[GatysOptions] = None) -> dict[str, float]:
    """The content and style losses Gatys' objective assigns to `image` (any method's output),
    with the same layers, weights and style size as `run`: a common yardstick for comparing methods."""
    o = (options or GatysOptions()).validate()
    name = o.encoder_name()
    enc = Encoder(name, list(o.content_layers) + list(o.style_layers), o.pooling, o.weights_path).to(o.device)
    s_img = images.resize_long_side(style.to(o.device), round(max(content.shape[-2:]) * o.style_scale))
    probe = Objective(enc, [ContentTerm(o.content_layers), GramTerm(o.style_layers)])
    fs = probe.encode(s_img)
    yardstick = Objective(enc, [ContentTerm(o.content_layers, probe.encode(content.to(o.device)), o.content_weight),
                                GramTerm(o.style_layers, {n: gram_matrix(fs[n]) for n in o.style_layers},
                                         o.resolved_style_weight(name))])
    total, parts = yardstick(image.to(o.device))
    return {"content": float(parts["content"]), "style": float(parts["style"]), "total": float(total)}


def _check_layers(encoder: str, o: GatysOptions) -> None:
    for key in ("content_layers", "style_layers"):
        try:
            check_layers(encoder, getattr(o, key), key)
        except InputError as e:
            raise OptionError(key, ": " + str(e).replace(f" for {key}", "")) from None
