"""Deep Photo Style Transfer (Luan et al. 2017) as terms over painterly's shared pieces.

Luan et al. add two things to Gatys' objective:

- the *photorealism regulariser* λ Σ_c V_c[O]ᵀ L V_c[O], L the matting Laplacian of the photo
  (`painterly.matting.MattingLoss`): the output must stay a locally affine recolouring of the photo;
- the *label-augmented style loss*: one Gram term per label region, the output's features masked by
  the photo's region, the target the Gram matrix of the reference's same region
  (`label_gram_targets` + `label_style_loss`, or one `objective.GramTerm` per (layer, label)).

`run` is a small L-BFGS loop over these terms (content conv4_2, style conv1_1 … conv5_1), kept so
the variant can be measured today; the Gatys family takes the same terms (`--photorealism WEIGHT`)
once its objective is one module per term (issue #21).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Optional

import torch

from ...features import Encoder
from ...losses import content_loss, gram_matrix, resize_mask, style_loss
from ...matting import MattingLoss

CONTENT_LAYER = "conv4_2"
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
#: Default weight of the photorealism regulariser (relative to the style gap, see `run`).
PHOTOREALISM = 1000.0


def label_masks(ids: Optional[torch.Tensor], n: int) -> list[Optional[torch.Tensor]]:
    """(1, 1, H, W) masks, one per label (ids < 0 in none); [None] without labels."""
    if ids is None:
        return [None]
    return [(ids == k).float()[None, None] for k in range(n)]


def label_gram_targets(feats: dict[str, torch.Tensor], masks: list[Optional[torch.Tensor]],
                       layers=STYLE_LAYERS) -> dict[str, list[torch.Tensor]]:
    """Per layer, the Gram matrix of the reference's features over each label's region."""
    return {n: [gram_matrix(feats[n].float(), m) for m in masks] for n in layers}


def label_style_loss(feats: dict[str, torch.Tensor], targets: dict[str, list[torch.Tensor]],
                     masks: list[Optional[torch.Tensor]], shares: list[float]) -> torch.Tensor:
    """Σ_layers Σ_labels share_k · E_l(output over region k, reference's region k)."""
    total = torch.zeros(())
    for n, grams in targets.items():
        for g, m, share in zip(grams, masks, shares):
            if share > 0:
                total = total + share * style_loss(feats[n].float(), g, m)
    return total


def run(content: torch.Tensor, style: torch.Tensor, photorealism: float = PHOTOREALISM, steps: int = 200,
        content_ids: Optional[torch.Tensor] = None, style_ids: Optional[torch.Tensor] = None, n_labels: int = 1,
        style_weight: Optional[float] = None, encoder: str = "auto", init: Optional[torch.Tensor] = None,
        callback: Optional[Callable[[int, dict], None]] = None) -> tuple[torch.Tensor, list[dict]]:
    """Optimise the photo (1, 3, H, W) toward `style` under Luan et al.'s objective; returns (image, history).
    `init`: the start image (default the photo; Luan et al. start from a stylised result)."""
    from ... import weights
    t0 = time.perf_counter()
    enc = Encoder(encoder, (CONTENT_LAYER, *STYLE_LAYERS))
    style_weight = style_weight if style_weight is not None else weights.spec(enc.name).style_weight
    c_masks = label_masks(content_ids, n_labels)
    s_masks = label_masks(style_ids, n_labels)
    shares = [1.0] if content_ids is None else [float(m.mean()) for m in c_masks]
    with torch.no_grad():
        fc = enc(content)
        target_c = fc[CONTENT_LAYER].detach()
        targets = label_gram_targets(enc(style), s_masks)
        # The regulariser in the objective's own units: photorealism 1 makes one unit of matting energy
        # per pixel (images in 0..1) cost as much as the photo's whole style loss (the gap to close).
        gap = float(style_weight * label_style_loss(fc, targets, c_masks, shares))
    matting = MattingLoss(content, photorealism * gap) if photorealism > 0 else None
    x = (content if init is None else init).clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=steps, history_size=50, tolerance_grad=0, tolerance_change=0)
    history: list[dict] = []
    best = [math.inf, x.detach().clone()]

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        img = x + (x.detach().clamp(0, 1) - x.detach())
        f = enc(img)
        lc = content_loss(f[CONTENT_LAYER], target_c)
        ls = label_style_loss(f, targets, c_masks, shares)
        lm = matting(img) if matting is not None else torch.zeros(())
        total = lc + style_weight * ls + lm
        if not history:
            closure.scale = 1.0 / max(float(total.detach()), 1e-30)
        (total * closure.scale).backward()
        x.grad = x.grad.contiguous()        # the sparse product's gradient comes back strided; L-BFGS views it
        rec = {"step": len(history) + 1, "content": float(lc), "style": float(ls), "matting": float(lm),
               "total": float(total), "seconds": time.perf_counter() - t0}
        history.append(rec)
        if rec["total"] < best[0]:
            best[0], best[1] = rec["total"], img.detach().clone()
        if callback:
            callback(rec["step"], rec)
        return total.detach() * closure.scale

    opt.step(closure)
    return best[1].clamp(0, 1), history


def resize_ids(ids: Optional[torch.Tensor], hw: tuple[int, int]) -> Optional[torch.Tensor]:
    """Label ids at another size (nearest)."""
    if ids is None:
        return None
    return torch.nn.functional.interpolate(ids[None, None].float(), size=hw, mode="nearest")[0, 0].long()


__all__ = ["label_gram_targets", "label_masks", "label_style_loss", "resize_ids", "resize_mask", "run"]
