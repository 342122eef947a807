"""Optimisation-based style transfer (Gatys, Ecker & Bethge 2015/2016).

The image itself is optimised so that its VGG features match the content photo's on the
content layers and its Gram matrices match the style's on the style layers:

    L = alpha * sum_c w_c L_content + beta * sum_l w_l E_l + tv * L_tv

L-BFGS (default) or Adam; init from content, white noise or the style; several styles blended
by weight; an optional mask that restricts the style statistics to a region; coarse-to-fine
multi-scale; and a divergence guard that stops and returns the best image when the loss turns
NaN/inf or explodes. Plain values in, tensors and a history out: no printing, no arguments parsing.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Optional
from collections.abc import Callable, Sequence

import torch

from ... import images, imageparam
from ...errors import InputError
from ...features import Encoder, check_layers
from ...losses import blend_weights, content_loss, gram_matrix, style_loss, tv_loss
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


class Objective:
    """Gatys' loss of an image, with its targets: alpha * content + beta * style (+ tv * TV).

    VGG runs under autocast to `dtype` when one is given (channels-last, which oneDNN needs for
    fast bfloat16); Gram matrices are computed in `dtype`, everything after them and the content
    features in float32, and the targets are computed the same way so that the content loss of
    the photo itself is 0.
    """

    def __init__(self, encoder: Encoder, content: torch.Tensor, styles: Sequence[torch.Tensor],
                 blend: Sequence[float], options: GatysOptions, beta: float,
                 mask: Optional[torch.Tensor] = None, dtype: Optional[torch.dtype] = None):
        self.encoder, self.o, self.beta, self.mask, self.dtype = encoder, options, beta, mask, dtype
        if dtype is not None:
            encoder.to(memory_format=torch.channels_last)
        with torch.no_grad():
            c_feats = self.features(content)
            self.content = {n: c_feats[n].detach().float() for n in options.content_layers}
            per_style = []
            for s in styles:
                f = self.features(s)
                per_style.append({n: gram_matrix(f[n]) for n in options.style_layers})
            self.style = {n: _blend([g[n] for g in per_style], blend) for n in options.style_layers}

    def features(self, img: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.dtype is None:
            return self.encoder(img)
        with torch.autocast(img.device.type, dtype=self.dtype):
            feats = self.encoder(img.contiguous(memory_format=torch.channels_last))
        # style layers stay in `dtype`: their Gram matrices are oneDNN matmuls (about 2.5x faster
        # in bfloat16; float32 accumulation and result); the others come back as float32
        return {n: f if n in self.o.style_layers else f.float() for n, f in feats.items()}

    def __call__(self, img: torch.Tensor) -> tuple[torch.Tensor, dict]:
        o = self.o
        feats = self.features(img)
        zero = torch.zeros((), device=img.device)
        lc = sum((wt * content_loss(feats[n].float(), self.content[n]) for n, wt in o.content_layers.items()), zero)
        ls = sum((wt * style_loss(feats[n], self.style[n], self.mask) for n, wt in o.style_layers.items()), zero)
        lt = tv_loss(img)  # always measured (reported), weighted only when tv_weight > 0
        total = o.content_weight * lc + self.beta * ls + o.tv_weight * lt
        return total, {"content": float(lc.detach()), "style": float(ls.detach()),
                       "tv": float(lt.detach()), "total": float(total.detach())}


def make_encoder(o: GatysOptions, h: int, w: int) -> Encoder:
    """The VGG a run at (h, w) uses (its layers, pooling, weights; checkpointed from `low_memory`'s
    size). A folder or a video makes it once and passes it to every `run`."""
    name = o.encoder_name()
    _check_layers(name, o)
    return Encoder(name, list(o.content_layers) + list(o.style_layers), o.pooling, o.weights_path,
                   checkpoint=low_memory(h, w, o.low_memory)).to(o.device)


def run(content: torch.Tensor, styles: Sequence[torch.Tensor], options: Optional[GatysOptions] = None,
        style_blend: Optional[Sequence[float]] = None, mask: Optional[torch.Tensor] = None,
        callback: Optional[Callback] = None, image_callback: Optional[ImageCallback] = None,
        image_every: int = 0, encoder: Optional[Encoder] = None) -> GatysResult:
    """Stylise `content` (1,3,H,W in [0,1], already at output size) with one or more style images.

    `style_blend` weights the styles' Gram targets; `mask` (1,1,H,W) restricts the style
    statistics to where it is 1. `callback(step, losses)` is called every step; `image_callback`
    every `image_every` steps. Ctrl-C stops early and returns the best image so far.
    """
    o = (options or GatysOptions()).validate()
    if not styles:
        raise InputError("at least one style image is needed")
    blend = blend_weights(style_blend, len(styles))
    dev = torch.device(o.device)
    name = o.encoder_name()
    _check_layers(name, o)
    beta = o.beta(name)
    if encoder is None:
        encoder = make_encoder(o, content.shape[-2], content.shape[-1])
    encoder = encoder.to(dev)
    gen = torch.Generator().manual_seed(o.seed)
    dtype = autocast_dtype(o.precision, dev)

    content = content.to(dev)
    images.check_min_size(content, "content image")
    h, w = content.shape[-2:]
    history: list[dict] = []
    stopped: Optional[str] = None
    t0 = time.perf_counter()
    step = 0
    carry: Optional[torch.Tensor] = None   # the previous level's best image

    for level, (sh, sw) in enumerate(_scale_sizes(h, w, o.scales)):
        c_img = images.resize(content, (sh, sw))
        m = images.resize(mask.to(dev), (sh, sw)).clamp(0, 1) if mask is not None else None
        s_imgs = []
        for s in styles:
            s_img = style_for(s.to(dev), (sh, sw), o.style_scale)
            images.check_min_size(s_img, "style image")
            s_imgs.append(s_img)
        objective = Objective(encoder, c_img, s_imgs, blend, o, beta, m, dtype)

        if carry is None:
            if o.init == "content":
                x0 = c_img.clone()
            elif o.init == "noise":
                x0 = torch.rand(c_img.shape, generator=gen).to(dev)
            else:
                x0 = images.resize(styles[0].to(dev), (sh, sw))
        else:
            x0 = images.resize(carry.clamp(0, 1), (sh, sw))
        # Adam's learning rate is per pixel: it always moves the pixels
        param = imageparam.make(x0, o.parametrization if o.optimizer == "lbfgs" else "pixels")
        params = param.parameters()
        opt: torch.optim.Optimizer
        # L-BFGS's plain step watches for an overshoot (auto) and then goes on with a line search
        guard = o.optimizer == "lbfgs" and o.line_search == "auto"
        if o.optimizer == "lbfgs":
            opt = _lbfgs(params, o, o.steps, o.line_search == "strong_wolfe")
        else:
            opt = torch.optim.Adam(params, lr=o.lr or 0.02)
        best_img, best_loss = x0.clone(), math.inf  # losses at different scales are not comparable
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
            total, parts = objective(img)
            t = parts["total"]
            if not math.isfinite(t) or (math.isfinite(best_loss) and t > EXPLODE_FACTOR * best_loss
                                        and o.optimizer == "adam"):
                why = "NaN/inf" if not math.isfinite(t) else f"{t:.3g}, over {EXPLODE_FACTOR:g}x the best"
                raise _Diverged(f"diverged at step {step + 1} (loss {why}); kept the best image so far: "
                                "lower --style-weight or --lr, or use fewer --steps")
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
            stopped = str(e)
        except KeyboardInterrupt:
            stopped = "interrupted"
        carry = best_img  # the next level starts from this level's best image
        if stopped:
            break

    best_img = images.resize(best_img.clamp(0, 1), (h, w))
    return GatysResult(image=best_img.detach().cpu(), history=history, stopped=stopped,
                       encoder=name, options={**asdict(o), "encoder": name, "style_weight": beta},
                       seconds=time.perf_counter() - t0)


@torch.no_grad()
def evaluate(image: torch.Tensor, content: torch.Tensor, style: torch.Tensor,
             options: Optional[GatysOptions] = None) -> dict[str, float]:
    """The content and style losses Gatys' objective assigns to `image` (any method's output),
    with the same layers, weights and style size as `run`: a common yardstick for comparing methods."""
    o = (options or GatysOptions()).validate()
    name = o.encoder_name()
    enc = Encoder(name, list(o.content_layers) + list(o.style_layers), o.pooling, o.weights_path).to(o.device)
    f, fc = enc(image.to(o.device)), enc(content.to(o.device))
    s_img = images.resize_long_side(style.to(o.device), round(max(content.shape[-2:]) * o.style_scale))
    fs = enc(s_img)
    lc = sum(wt * content_loss(f[n], fc[n]) for n, wt in o.content_layers.items())
    ls = sum(wt * style_loss(f[n], gram_matrix(fs[n])) for n, wt in o.style_layers.items())
    beta = o.beta(name)
    return {"content": float(lc), "style": float(ls), "total": float(o.content_weight * lc + beta * ls)}


def _check_layers(encoder: str, o: GatysOptions) -> None:
    for key in ("content_layers", "style_layers"):
        try:
            check_layers(encoder, getattr(o, key), key)
        except InputError as e:
            raise OptionError(key, ": " + str(e).replace(f" for {key}", "")) from None
