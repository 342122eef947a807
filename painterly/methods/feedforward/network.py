"""The image transformation network of Johnson et al. (2016) with Ulyanov et al.'s instance
normalisation: 3 downsampling convs, residual blocks, 2 upsampling convs (nearest-neighbour
upsample + conv instead of a transposed conv, which avoids checkerboard artefacts).

`width` is the channel count of the first layer (Johnson: 32); painterly's pretrained styles
use 16 and 5 blocks, which keeps 512 px inference on two CPU cores in a fraction of a second.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvLayer(nn.Sequential):
    """Reflection padding + convolution (+ instance norm + ReLU unless it is the last layer)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, norm: bool = True, relu: bool = True):
        layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride)]
        if norm:
            layers.append(nn.InstanceNorm2d(cout, affine=True))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """Two 3×3 convs with instance norm; the input is added back (He et al.; Johnson's variant)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(ConvLayer(channels, channels, 3), ConvLayer(channels, channels, 3, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConvLayer(nn.Module):
    """Nearest-neighbour ×2 upsampling followed by a ConvLayer."""

    def __init__(self, cin: int, cout: int, kernel: int = 3):
        super().__init__()
        self.conv = ConvLayer(cin, cout, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class TransformerNet(nn.Module):
    """RGB [0, 1] in, RGB out (clamped to [0, 1] in eval mode), any size (padded internally
    to a multiple of 4). Works on 0-255 internally, like Johnson et al."""

    def __init__(self, width: int = 32, blocks: int = 5):
        super().__init__()
        self.width, self.blocks = width, blocks
        w = width
        self.down = nn.Sequential(ConvLayer(3, w, 9), ConvLayer(w, 2 * w, 3, 2), ConvLayer(2 * w, 4 * w, 3, 2))
        self.res = nn.Sequential(*[ResidualBlock(4 * w) for _ in range(blocks)])
        self.up = nn.Sequential(UpsampleConvLayer(4 * w, 2 * w), UpsampleConvLayer(2 * w, w),
                                ConvLayer(w, 3, 9, norm=False, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        # Always pad (often by 0): no Python branch, so an ONNX export stays valid for every size.
        x = F.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode="reflect")
        y = self.up(self.res(self.down(x * 255.0))) / 255.0
        if not self.training:   # clamp only at inference: a clamp would stop gradients in training
            y = y.clamp(0.0, 1.0)
        return y[..., :h, :w]
