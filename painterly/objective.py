"""One perceptual objective: a sum of small terms, each holding its layers, target, weight and mask.

pystiche's shape (a perceptual loss is a weighted sum of per-encoding losses) over painterly's
pure loss functions (`painterly.losses`): a term says which encoder layers it reads and scores an
image's features (or the image itself) against its target; an `Objective` runs the encoder once for
every layer its terms read and returns the weighted total and each term's own loss. Gatys, the
trainers (train-style, `--fast`), refine-style and video build their losses from these terms; a
caller adds its own (a temporal term, a regulariser) as an `ImageTerm` or any `Term`.

Numerics follow the hand-built losses they replace term for term: a term's loss is its layers'
weighted sum (in layer order), and the total is the terms' weighted sum (in term order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Optional

import torch

from .losses import content_loss, style_loss, tv_loss

Features = Mapping[str, torch.Tensor]
#: A label-augmented style region: (share of the image, mask over the image, Gram targets per layer).
Region = tuple[float, Optional[torch.Tensor], Mapping[str, torch.Tensor]]


class Term:
    """One weighted loss. `layers`: the encoder layers it reads ({} for a term over the image)."""

    name: str
    weight: float
    layers: Mapping[str, float]

    def loss(self, feats: Features, image: torch.Tensor) -> torch.Tensor:
        """The term's unweighted loss of `image`, whose features on `layers` are `feats`."""
        raise NotImplementedError


def _layer_sum(values: Iterable[torch.Tensor], device: torch.device) -> torch.Tensor:
    return sum(values, torch.zeros((), device=device))


@dataclass(frozen=True, eq=False)
class ContentTerm(Term):
    """Gatys' content loss: 1/2 mean squared feature difference to `targets` on each layer (weighted).
    `targets` None: set per image with `Objective.with_content` (a trainer's batch is its own target)."""

    layers: Mapping[str, float]
    targets: Optional[Features] = None
    weight: float = 1.0
    mask: Optional[torch.Tensor] = None
    name: str = "content"

    def loss(self, feats: Features, image: torch.Tensor) -> torch.Tensor:
        if self.targets is None:
            raise ValueError(f"term '{self.name}' has no content target: use Objective.with_content")
        return _layer_sum((wt * content_loss(feats[n].float(), self.targets[n].float(), self.mask)
                           for n, wt in self.layers.items()), image.device)


@dataclass(frozen=True, eq=False)
class GramTerm(Term):
    """Gatys' style loss: the Gram matrix of each layer's (masked) features against `targets`.
    `regions` instead of `targets`/`mask`: Luan et al.'s label-augmented loss, one (share, mask,
    targets) per label region, summed with the shares as weights."""

    layers: Mapping[str, float]
    targets: Optional[Features] = None
    weight: float = 1.0
    mask: Optional[torch.Tensor] = None
    name: str = "style"
    regions: Sequence[Region] = ()

    def loss(self, feats: Features, image: torch.Tensor) -> torch.Tensor:
        if self.regions:
            return _layer_sum((share * wt * style_loss(feats[n], targets[n], m) for share, m, targets in self.regions
                               for n, wt in self.layers.items()), image.device)
        if self.targets is None:
            raise ValueError(f"term '{self.name}' has no Gram targets")
        return _layer_sum((wt * style_loss(feats[n], self.targets[n], self.mask) for n, wt in self.layers.items()),
                          image.device)


@dataclass(frozen=True, eq=False)
class ImageTerm(Term):
    """A loss over the image itself, `fn(image)` (e.g. a regulariser, or a temporal term against the
    previous frame warped onto this one); it reads no encoder layer."""

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    weight: float = 1.0
    layers: Mapping[str, float] = field(default_factory=dict)

    def loss(self, feats: Features, image: torch.Tensor) -> torch.Tensor:
        return self.fn(image)


def tv_term(weight: float, name: str = "tv") -> ImageTerm:
    """Total variation (a smoothness prior). Weight 0 still measures it, for the history."""
    return ImageTerm(name, tv_loss, weight)


class Objective:
    """The weighted sum of `terms` on one encoder. `dtype` (e.g. bfloat16): the encoder runs under
    autocast, channels-last (what oneDNN needs for fast bfloat16), and the layers Gram terms read
    stay in `dtype` (their Gram products are the expensive part); every other layer is float32."""

    def __init__(self, encoder: torch.nn.Module, terms: Sequence[Term], dtype: Optional[torch.dtype] = None):
        self.encoder, self.terms, self.dtype = encoder, tuple(terms), dtype
        self.layers = tuple(dict.fromkeys(n for t in self.terms for n in t.layers))
        missing = [n for n in self.layers if n not in getattr(encoder, "layers", self.layers)]
        if missing:
            raise ValueError(f"the encoder does not return {', '.join(missing)}")
        self._low = {n for t in self.terms if isinstance(t, GramTerm) for n in t.layers}
        if dtype is not None:
            encoder.to(memory_format=torch.channels_last)

    def encode(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """The encoder's features of `image`, one pass, in the types the terms take."""
        if self.dtype is None:
            return {n: f.float() for n, f in self.encoder(image).items()}
        with torch.autocast(image.device.type, dtype=self.dtype):
            feats = self.encoder(image.contiguous(memory_format=torch.channels_last))
        return {n: f if n in self._low else f.float() for n, f in feats.items()}

    def with_content(self, feats: Features) -> Objective:
        """The same objective with every content term's target set to `feats` (e.g. a batch's own)."""
        terms = [replace(t, targets=feats) if isinstance(t, ContentTerm) else t for t in self.terms]
        return Objective(self.encoder, terms, self.dtype)

    def term(self, name: str) -> Term:
        """The term called `name`."""
        return next(t for t in self.terms if t.name == name)

    def __call__(self, image: torch.Tensor, feats: Optional[Features] = None
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(weighted total, {term name: its unweighted loss}) of `image`; `feats`: its features if
        the caller already has them (computed with `encode`)."""
        if feats is None and self.layers:
            feats = self.encode(image)
        parts: dict[str, torch.Tensor] = {}
        total: Optional[torch.Tensor] = None
        for t in self.terms:
            value = t.loss(feats or {}, image)
            parts[t.name] = value
            total = t.weight * value if total is None else total + t.weight * value
        if total is None:
            raise ValueError("an objective needs at least one term")
        return total, parts


__all__ = ["ContentTerm", "GramTerm", "ImageTerm", "Objective", "Region", "Term", "tv_term"]
