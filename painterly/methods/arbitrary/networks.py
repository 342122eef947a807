"""Encoder/decoder pairs for AdaIN and WCT.

`NormalisedVGG` is the "normalised" VGG-19 of the universal-style-transfer papers (the 1×1
conv1 does the BGR/mean conversion, reflection padding) up to relu3_1, in the exact layout of
LinearStyleTransfer's `vgg_r31.pth`, so that file and its decoder load as they are. Any VGG of
the weights registry also works as encoder (`features.Encoder`, up to relu4_1 and beyond).
`Decoder` mirrors VGG-19 from a level back to RGB: nearest upsampling, reflection padding.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...errors import InputError

#: Decoder layouts, deepest first: (in, out) per 3×3 conv, "up" for ×2 nearest upsampling.
_MIRROR = [(512, 256), "up", (256, 256), (256, 256), (256, 256), (256, 128), "up", (128, 128), (128, 64), "up",
           (64, 64), (64, 3)]
_START = {"relu4_1": 0, "relu3_1": 5, "relu2_1": 8, "relu1_1": 11}
LEVELS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
CHANNELS = {"relu1_1": 64, "relu2_1": 128, "relu3_1": 256, "relu4_1": 512}


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise InputError(f"unknown level '{level}': use one of {', '.join(LEVELS)}")
    return level


class Decoder(nn.Module):
    """relu{k}_1 features -> RGB; conv layers are named conv7, conv8, ... as in LinearStyleTransfer."""

    def __init__(self, level: str = "relu3_1", input_scale: float = 1.0):
        super().__init__()
        self.level = check_level(level)
        # Features reach the hundreds; scaling them to ~unit size keeps Adam's steps sensible when
        # training from scratch (1 for decoders trained without it, e.g. LinearStyleTransfer's).
        self.input_scale = float(input_scale)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        idx = 3 + sum(1 for x in _MIRROR[:_START[level]] if x != "up")   # relu3_1's first conv is conv7
        spec = _MIRROR[_START[level]:]
        for i, item in enumerate(spec):
            if item == "up":
                layers[f"up{idx}"] = nn.Upsample(scale_factor=2, mode="nearest")
                continue
            cin, cout = item
            layers[f"pad{idx}"] = nn.ReflectionPad2d(1)
            layers[f"conv{idx}"] = nn.Conv2d(cin, cout, 3)
            if i < len(spec) - 1:
                layers[f"relu{idx}"] = nn.ReLU(inplace=True)
            idx += 1
        self.body = nn.Sequential(layers)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.body(feat * self.input_scale if self.input_scale != 1.0 else feat)

    def load_linear_style_transfer(self, state: dict[str, torch.Tensor]) -> Decoder:
        """Load a LinearStyleTransfer decoder state dict (keys convN.weight/bias)."""
        self.body.load_state_dict(state)
        return self


class NormalisedVGG(nn.Module):
    """The normalised VGG-19 up to relu3_1; forward returns {relu1_1, relu2_1, relu3_1: tensor}.
    Input RGB [0, 1] (conv1, a learned 1×1 conv, maps it to the network's own convention)."""

    LAYERS = ("relu1_1", "relu2_1", "relu3_1")

    def __init__(self, layers=LAYERS):
        super().__init__()
        for n in layers:
            if n not in self.LAYERS:
                raise InputError(f"layer '{n}' is not in the normalised VGG (it has {', '.join(self.LAYERS)})")
        self.layers = list(layers)
        self.conv1 = nn.Conv2d(3, 3, 1)
        self.conv2, self.conv3 = nn.Conv2d(3, 64, 3), nn.Conv2d(64, 64, 3)
        self.conv4, self.conv5 = nn.Conv2d(64, 128, 3), nn.Conv2d(128, 128, 3)
        self.conv6 = nn.Conv2d(128, 256, 3)
        self.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> NormalisedVGG:
        return super().train(False)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        def conv(m: nn.Module, t: torch.Tensor) -> torch.Tensor:
            return F.relu(m(F.pad(t, (1, 1, 1, 1), mode="reflect")))
        wanted, out = set(self.layers), {}
        x = conv(self.conv2, self.conv1(x))
        out["relu1_1"] = x
        if wanted <= out.keys():
            return {k: out[k] for k in self.layers}
        x = F.max_pool2d(conv(self.conv3, x), 2)
        x = conv(self.conv4, x)
        out["relu2_1"] = x
        if wanted <= out.keys():
            return {k: out[k] for k in self.layers}
        x = F.max_pool2d(conv(self.conv5, x), 2)
        out["relu3_1"] = conv(self.conv6, x)
        return {k: out[k] for k in self.layers}
