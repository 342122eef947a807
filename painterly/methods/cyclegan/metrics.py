"""How far a translation moved photos toward a painter, and how much of the photo it kept.

`style_distance`: per image, Σ over the Gatys style layers of ‖G_l(x) − Ḡ_l‖² / ‖Ḡ_l‖², where Ḡ_l
is the mean Gram matrix of a set of paintings (each layer weighs the same); averaged over images.
`relative_style_distance` = distance of the translated photos / distance of the photos themselves
(1 = unchanged, lower = closer to the paintings). `content_distance`: ‖φ(T(x)) − φ(x)‖² / ‖φ(x)‖²
at conv4_2 (0 = the photo's content kept exactly)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import torch

from ...features import Encoder
from ...losses import gram_matrix

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "conv4_2"


def metric_encoder(name: str = "auto") -> Encoder:
    """The VGG that every measurement of this module uses (style layers + content layer)."""
    return Encoder(name, (*STYLE_LAYERS, CONTENT_LAYER))


@torch.inference_mode()
def mean_grams(encoder: Encoder, images: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Mean Gram matrix per style layer over (1, 3, H, W) images of any sizes."""
    total: dict[str, torch.Tensor] = {}
    n = 0
    for x in images:
        feats = encoder(x)
        for layer in STYLE_LAYERS:
            g = gram_matrix(feats[layer])[0]
            total[layer] = total[layer] + g if layer in total else g.clone()
        n += 1
    if n == 0:
        raise ValueError("mean_grams needs at least one image")
    return {k: v / n for k, v in total.items()}


def _distance(feats: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> float:
    return sum(float((gram_matrix(feats[k])[0] - t).pow(2).sum() / t.pow(2).sum()) for k, t in target.items())


@torch.inference_mode()
def style_distance(encoder: Encoder, images: Sequence[torch.Tensor], target: dict[str, torch.Tensor]) -> float:
    """Mean over images of the layer-normalised Gram distance to `target` (from `mean_grams`)."""
    return sum(_distance(encoder(x), target) for x in images) / len(images)


@dataclass
class Reference:
    """What every evaluation of one held-out split reuses: photos, their content features and
    style distance, and the paintings' mean Grams."""

    photos: list[torch.Tensor]
    content: list[torch.Tensor]
    target: dict[str, torch.Tensor]
    photo_distance: float


@torch.inference_mode()
def reference(encoder: Encoder, photos: Sequence[torch.Tensor], paintings: Iterable[torch.Tensor]) -> Reference:
    """Measure the held-out photos and paintings once."""
    target = mean_grams(encoder, paintings)
    content, dist = [], 0.0
    for x in photos:
        f = encoder(x)
        content.append(f[CONTENT_LAYER])
        dist += _distance(f, target)
    return Reference(list(photos), content, target, dist / len(photos))


@torch.inference_mode()
def evaluate(encoder: Encoder, generator: torch.nn.Module, ref: Reference) -> dict[str, float]:
    """Translate the reference photos: style distance relative to the photos' own (lower = closer to
    the paintings) and relative content distance at conv4_2 (0 = content kept exactly)."""
    from .model import translate
    style, content = 0.0, 0.0
    for x, fx in zip(ref.photos, ref.content):
        f = encoder(translate(generator, x))
        style += _distance(f, ref.target)
        content += float((f[CONTENT_LAYER] - fx).pow(2).sum() / fx.pow(2).sum())
    n = len(ref.photos)
    return {"style_distance": style / n, "photo_style_distance": ref.photo_distance,
            "relative_style_distance": style / n / ref.photo_distance, "content_distance": content / n}
