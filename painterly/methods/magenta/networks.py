"""The three Magenta networks, each class the paper's figure in code.

- `StylePredictor`: Ghiasi et al. 2017 (arbitrary image stylization, Magenta's TF-Lite release): a
  MobileNetV2 (width 1.0) whose pooled 1280 features are mapped to a 100-number style vector.
- `StyleTransformer`: Ghiasi et al.'s transformer: contract, 5 residual blocks, expand; 13 conditional
  instance norms whose gamma and beta are linear in the style vector.
- `MultiStyleNetwork`: Dumoulin et al. 2017 ("A learned representation for artistic style"): one
  network, N styles, each style a row of gamma/beta in every conditional instance norm.

Conditional instance norm is a plain `nn.InstanceNorm2d(C, affine=False)` followed by the
style's scale and shift, so code that swaps every `nn.InstanceNorm2d` (e.g. for whole-image
statistics when tiling a print-size picture) works on these networks unchanged.
Images are float32 RGB (N, 3, H, W) in [0, 1] throughout (no ImageNet normalisation).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

STYLE_DIM = 100   # Ghiasi's style vector
EPS = 1e-5        # both networks' instance-norm epsilon (read from the graphs)


class ConditionalInstanceNorm(nn.Module):
    """Instance norm without its own affine, then the style's per-channel gamma/beta."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.norm = nn.InstanceNorm2d(channels, affine=False, eps=EPS)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        # gamma/beta: (N, C) or (C,)
        return self.norm(x) * gamma.reshape(-1, self.channels, 1, 1) + beta.reshape(-1, self.channels, 1, 1)


class ConvLayer(nn.Module):
    """Reflect padding (half the kernel each side) then a convolution: no zero-padded borders."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, bias: bool = True):
        super().__init__()
        self.pad = kernel // 2
        self.conv = nn.Conv2d(cin, cout, kernel, stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, [self.pad] * 4, mode="reflect"))


class UpsampleConvLayer(ConvLayer):
    """Nearest-neighbour x`scale` upsampling then a reflect-padded conv (no checkerboard artefacts)."""

    def __init__(self, cin: int, cout: int, kernel: int, scale: int = 2, bias: bool = True):
        super().__init__(cin, cout, kernel, 1, bias)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale != 1:
            x = F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return super().forward(x)


class CondConv(nn.Module):
    """conv -> conditional instance norm -> activation: the unit both style networks repeat."""

    def __init__(self, conv: ConvLayer, act: str = "relu"):
        super().__init__()
        self.conv, self.cin, self.act = conv, ConditionalInstanceNorm(conv.conv.out_channels), act

    def forward(self, x: torch.Tensor, gb: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        y = self.cin(self.conv(x), *gb)
        return torch.relu(y) if self.act == "relu" else torch.sigmoid(y) if self.act == "sigmoid" else y


class CondResidualBlock(nn.Module):
    """[conv, CIN, ReLU, conv, CIN] + identity."""

    def __init__(self, channels: int, bias: bool):
        super().__init__()
        self.a = CondConv(ConvLayer(channels, channels, 3, bias=bias), "relu")
        self.b = CondConv(ConvLayer(channels, channels, 3, bias=bias), "none")

    def forward(self, x: torch.Tensor, gbs: list) -> torch.Tensor:
        return x + self.b(self.a(x, gbs[0]), gbs[1])


def norm_channels(net: nn.Module) -> list[int]:
    """Channel count of every conditional norm, in forward order (the layout of a style's gamma/beta)."""
    return [m.channels for m in net.modules() if isinstance(m, ConditionalInstanceNorm)]


def split_params(flat: torch.Tensor, channels: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(N, 2*sum(C)) -> per-norm (gamma, beta) pairs: gammas first, then betas."""
    total = sum(channels)
    gammas = torch.split(flat[:, :total], channels, dim=1)
    betas = torch.split(flat[:, total:], channels, dim=1)
    return list(zip(gammas, betas))


class MultiStyleNetwork(nn.Module):
    """Dumoulin et al. 2017: contract (9x9 s1, 3x3 s2, 3x3 s2), 6 residual blocks, expand (up x2 3x3,
    up x2 3x3, 9x9) + sigmoid; every conv without bias, followed by a conditional instance norm.
    A style is one row of `gamma`/`beta` ((styles, sum of channels)); a blend mixes rows linearly."""

    def __init__(self, styles: int = 26, width: int = 32, blocks: int = 6):
        super().__init__()
        self.contract = nn.ModuleList([
            CondConv(ConvLayer(3, width, 9, bias=False)),
            CondConv(ConvLayer(width, width, 3, 2, bias=False)),
            CondConv(ConvLayer(width, width, 3, 2, bias=False))])
        self.res = nn.ModuleList([CondResidualBlock(width, bias=False) for _ in range(blocks)])
        self.expand = nn.ModuleList([
            CondConv(UpsampleConvLayer(width, 8, 3, bias=False)),
            CondConv(UpsampleConvLayer(8, 4, 3, bias=False)),
            CondConv(ConvLayer(4, 3, 9, bias=False), "sigmoid")])
        self.channels = norm_channels(self)
        self.gamma = nn.Parameter(torch.ones(styles, sum(self.channels)))
        self.beta = nn.Parameter(torch.zeros(styles, sum(self.channels)))

    @property
    def styles(self) -> int:
        return self.gamma.shape[0]

    def style_params(self, weights: torch.Tensor) -> torch.Tensor:
        """Blend weights (N, styles) -> flat (N, 2*sum(C)) gamma|beta of the mixed style."""
        return torch.cat([weights @ self.gamma, weights @ self.beta], dim=1)

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None,
                params: torch.Tensor | None = None) -> torch.Tensor:
        """Stylise `x` with blend `weights` (N, styles) or explicit flat gamma|beta `params` (N, 2*sum(C))."""
        if params is None:
            params = self.style_params(weights)
        return _run(self, x, split_params(params, self.channels))


class StyleTransformer(nn.Module):
    """Ghiasi et al. 2017's transformer: contract (9x9 3->8, 3x3 s2 8->16, 3x3 s2 16->32; conv + bias +
    ReLU, batch norm folded), 5 residual blocks of 32 channels with conditional norms, expand (up x2
    3x3 32->16, up x2 3x3 16->8, 9x9 8->3 + sigmoid) with conditional norms. Each norm's gamma and
    beta are a linear map of the 100-number style vector."""

    def __init__(self, blocks: int = 5):
        super().__init__()
        self.contract = nn.Sequential(
            ConvLayer(3, 8, 9), nn.ReLU(), ConvLayer(8, 16, 3, 2), nn.ReLU(), ConvLayer(16, 32, 3, 2), nn.ReLU())
        self.res = nn.ModuleList([CondResidualBlock(32, bias=False) for _ in range(blocks)])
        self.expand = nn.ModuleList([
            CondConv(UpsampleConvLayer(32, 16, 3)),
            CondConv(UpsampleConvLayer(16, 8, 3)),
            CondConv(ConvLayer(8, 3, 9), "sigmoid")])
        self.channels = norm_channels(self)
        self.to_gamma = nn.Linear(STYLE_DIM, sum(self.channels))
        self.to_beta = nn.Linear(STYLE_DIM, sum(self.channels))

    def style_params(self, style: torch.Tensor) -> torch.Tensor:
        """Style vectors (N, 100) -> flat (N, 2*sum(C)) gamma|beta."""
        return torch.cat([self.to_gamma(style), self.to_beta(style)], dim=1)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None,
                params: torch.Tensor | None = None) -> torch.Tensor:
        if params is None:
            params = self.style_params(style)
        return _run(self, self.contract(x), split_params(params, self.channels))


def _run(net: nn.Module, x: torch.Tensor, gbs: list) -> torch.Tensor:
    """Walk contract (conditional in Dumoulin's net), residual blocks and expand, feeding each norm its pair."""
    i = 0
    if isinstance(net.contract, nn.ModuleList):
        for layer in net.contract:
            x = layer(x, gbs[i])
            i += 1
    for block in net.res:
        x = block(x, gbs[i:i + 2])
        i += 2
    for layer in net.expand:
        x = layer(x, gbs[i])
        i += 1
    return x


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand (ReLU6), 3x3 depthwise (ReLU6), 1x1 linear projection, + input
    when the shape is kept. Batch norm is folded into the convolutions' biases."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.expand = nn.Conv2d(cin, hidden, 1) if expand != 1 else None
        self.depthwise = nn.Conv2d(hidden, hidden, 3, stride, groups=hidden)
        self.project = nn.Conv2d(hidden, cout, 1)
        self.stride = stride
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self.expand(x)) if self.expand is not None else x
        y = F.relu6(self.depthwise(same_pad(y, 3, self.stride)))
        y = self.project(y)
        return x + y if self.residual else y


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow "SAME" zero padding: the extra pixel of an even total goes bottom/right."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


#: MobileNetV2's (expansion t, channels c, repeats n, first stride s).
MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1))


class StylePredictor(nn.Module):
    """Ghiasi et al.'s style prediction network (Magenta's mobile release): MobileNetV2 features,
    global average pool, then a 1x1 conv 1280->100 = the style vector. Input (N, 3, 256, 256) in [0, 1]."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, 2)
        blocks, cin = [], 32
        for t, c, n, s in MOBILENET_V2:
            for i in range(n):
                blocks.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Conv2d(cin, 1280, 1)
        self.bottleneck = nn.Linear(1280, STYLE_DIM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self.stem(same_pad(x, 3, 2)))
        x = F.relu6(self.head(self.blocks(x)))
        return self.bottleneck(x.mean((2, 3)))
