"""Options of a Gatys run: the one dataclass that the CLI flags, the web form and the checks come from."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from ...options import SEED_MAX, STEPS_MAX, OptionError, check_fields, check_together, opt

DEFAULT_CONTENT_LAYERS = ("conv4_2",)
DEFAULT_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
INITS = ("content", "noise", "style")
OPTIMIZERS = ("lbfgs", "adam")
LINE_SEARCHES = ("auto", "strong_wolfe", "none")
PARAMETRIZATIONS = ("pyramid", "pixels")    # painterly.imageparam
PRECISIONS = ("auto", "float32", "bfloat16")


def parse_layers(spec, option: str = "layers") -> dict[str, float]:
    """Layer choice -> {name: weight}: a dict, a list of names, or a string 'conv1_1,conv2_1:0.5'."""
    if isinstance(spec, dict):
        return {str(k): float(v) for k, v in spec.items()}
    tokens = spec.replace(",", " ").split() if isinstance(spec, str) else list(spec)
    out: dict[str, float] = {}
    for tok in tokens:
        name, _, w = str(tok).partition(":")
        try:
            out[name] = float(w) if w else 1.0
        except ValueError:
            raise OptionError(option, f": '{tok}' is not NAME or NAME:WEIGHT (e.g. conv1_1:0.5)") from None
    if not out:
        raise OptionError(option, "needs at least one layer name")
    return out


@dataclass(frozen=True)
class GatysOptions:
    """Every knob of a Gatys run; defaults follow the paper where it gives one."""

    steps: int = opt(300, min=1, max=STEPS_MAX, help="iterations (per scale)")
    content_weight: float = opt(1.0, min=0, help="weight of the content loss (Gatys' alpha)")
    style_weight: Optional[float] = opt(None, min=0, help="weight of the style loss (Gatys' beta; default: a "
                                                          "balanced value for the encoder, e.g. 1e-4 for "
                                                          "vgg19-caffe-q8)")
    tv_weight: float = opt(0.0, min=0, help="total-variation weight")
    content_layers: dict[str, float] = opt(factory=lambda: {n: 1.0 for n in DEFAULT_CONTENT_LAYERS}, web=False,
                                           help="layers[:weight], comma-separated")
    style_layers: dict[str, float] = opt(factory=lambda: {n: 1.0 for n in DEFAULT_STYLE_LAYERS}, web=False,
                                         help="layers[:weight], comma-separated (equal weights)")
    style_scale: float = opt(1.0, min=0, help="style image size relative to {size}")
    init: str = opt("content", choices=INITS, help="start image")
    optimizer: str = opt("lbfgs", choices=OPTIMIZERS, help="L-BFGS or Adam")
    lr: Optional[float] = opt(None, help="learning rate (Adam 0.02, L-BFGS 1)")
    line_search: str = opt("auto", choices=LINE_SEARCHES, web=False,
                           help="L-BFGS steps: auto = the plain quasi-Newton step (one evaluation per step), "
                                "switching to a strong-Wolfe line search if a step overshoots; strong_wolfe "
                                "from the start (slower to get going); none = never")
    scales: int = opt(1, min=1, max=16,
                      help="coarse-to-fine levels, each half the size of the next (try 3 for >1000 px)")
    low_memory: Optional[bool] = opt(None, web=False, help="recompute activations in the backward pass: ~40% less "
                                                           "memory, ~1/3 slower (default: on from 0.5 megapixels)")
    pooling: str = opt("max", choices=("max", "avg"), help="VGG pooling (Gatys used avg)")
    encoder: str = opt("auto", web=False, help="auto, or an encoder `painterly weights` lists")
    weights_path: Optional[str] = opt(None, flag="--weights", web=False,
                                      help="explicit path to the encoder's weight file")
    seed: int = opt(0, min=0, max=SEED_MAX, help="random seed (noise init)")
    parametrization: str = opt("pixels", choices=PARAMETRIZATIONS, web=False,
                               help="what L-BFGS moves: the pixels, or a Laplacian pyramid of the image (fewer "
                                    "steps at 128 px, more from 256 px; a more strongly stylised look)")
    precision: str = opt("auto", choices=PRECISIONS, web=False,
                         help="VGG arithmetic; auto: bfloat16 where the CPU/GPU has it natively (~1.8x faster "
                              "per step), else float32")
    photorealism: float = opt(0.0, min=0.0, metavar="WEIGHT",
                              help="Deep Photo Style Transfer (Luan et al.): weight of the matting-Laplacian "
                                   "regulariser that keeps the result a local recolouring of the photo, relative "
                                   "to the photo's style loss (try 1000; 0 = off)")
    content_labels: Optional[str] = opt(None, web=False, metavar="IMAGE",
                                        help="colour-coded label map of the photo: each region takes the style of "
                                             "the same colour in {style_labels}")
    style_labels: Optional[str] = opt(None, web=False, metavar="IMAGE",
                                      help="colour-coded label map of the style image")
    frame_steps: Optional[int] = opt(None, min=1, help="videos: iterations for each frame after the first, which "
                                                      "starts from the previous one (default a third of steps)")
    temporal_weight: float = opt(100.0, min=0.0, help="videos: weight of the temporal loss (Ruder et al.), in units "
                                                     "of the previous frame's total loss per unit of mean squared "
                                                     "change where the motion is reliable")
    device: str = "cpu"

    def __post_init__(self) -> None:
        for key in ("content_layers", "style_layers"):
            object.__setattr__(self, key, parse_layers(getattr(self, key), key))

    def validate(self) -> GatysOptions:
        """Check values a user could get wrong; raise OptionError naming the field."""
        check_fields(self)
        from ... import weights
        weights.check_encoder(self.encoder)        # before the layers, which are checked against it
        for name in ("content_layers", "style_layers"):
            for layer, w in getattr(self, name).items():
                if not (math.isfinite(w) and w >= 0):
                    raise OptionError(name, f": weight of {layer} must be >= 0, got {w}")
        if self.style_scale <= 0:
            raise OptionError("style_scale", "must be > 0")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise OptionError("lr", f"must be > 0, got {self.lr}")
        check_together(self, "content_labels", "style_labels",
                       lambda missing: "is needed with the other label map: give one label map for each image")
        return self

    def encoder_name(self) -> str:
        from ... import weights
        return weights.auto_encoder() if self.encoder == weights.AUTO else self.encoder

    def resolved_style_weight(self, encoder: Optional[str] = None) -> float:
        """The style weight a run uses: the given one, else the encoder's balanced default."""
        if self.style_weight is not None:
            return self.style_weight
        from ... import weights
        return weights.spec(encoder or self.encoder_name()).style_weight
