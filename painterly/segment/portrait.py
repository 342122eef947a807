"""Person-vs-background networks of Park et al. (SINet, WACV 2020) and ExtremeC3Net (Park et al.
2019), clovaai/ext_portrait_segmentation (MIT, NAVER), re-written here from the papers' structure
so that their released state dicts load key for key (`strict=True`).

Both take a 224x224 BGR picture normalised as the authors' data loader does (per channel
`(x - mean) / std` on 0-255 values, then divided by 255 once more) and return person logits at
the input's resolution: SINet two classes (background, person), ExtremeC3Net one (person > 0).
Sides must be multiples of 32 (SINet) or 8 (ExtremeC3Net).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

#: The authors' data-set statistics (BGR, 0-255), from their `etc/Visualize_video.py`.
MEAN_BGR = (107.304565, 115.69884, 132.35703)
STD_BGR = (63.97182, 65.1337, 68.29726)


def normalise(rgb01: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> the networks' input (BGR, standardised, / 255)."""
    bgr = rgb01.flip(1) * 255
    mean = torch.tensor(MEAN_BGR, dtype=bgr.dtype, device=bgr.device).view(1, 3, 1, 1)
    std = torch.tensor(STD_BGR, dtype=bgr.dtype, device=bgr.device).view(1, 3, 1, 1)
    return (bgr - mean) / std / 255


def _up(x: torch.Tensor, factor: int) -> torch.Tensor:
    """The authors' `UpsamplingBilinear2d` (corner-aligned bilinear)."""
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=True)


class _ConvBnAct(nn.Module):
    """k x k conv (no bias) -> batch norm -> PReLU; keys conv / bn / act."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, act: bool = True, eps: float = 1e-3):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=eps)
        self.act = nn.PReLU(cout) if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class _BnAct(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(c, eps=1e-3)
        self.act = nn.PReLU(c)

    def forward(self, x):
        return self.act(self.bn(x))


class _Conv(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False, groups=groups)

    def forward(self, x):
        return self.conv(x)


# ----------------------------------------------------------------------------- SINet

class _Squeeze(nn.Module):
    """Squeeze-and-excite with PReLU gates (no sigmoid), as released."""

    def __init__(self, c: int, divide: float):
        super().__init__()
        if divide > 1:
            mid = int(c / divide)
            self.dense = nn.Sequential(nn.Linear(c, mid), nn.PReLU(mid), nn.Linear(mid, c), nn.PReLU(c))
        else:
            self.dense = nn.Sequential(nn.Linear(c, c), nn.PReLU(c))

    def forward(self, x):
        w = self.dense(x.mean(dim=(2, 3)))
        return x * w[:, :, None, None]


class _SEDepthwise(nn.Module):
    """Depthwise k x k (stride s) -> squeeze-excite -> pointwise -> BN -> PReLU."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, divide: float):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(cin, cin, k, stride, k // 2, groups=cin, bias=False),
                                  _Squeeze(cin, divide), nn.Conv2d(cin, cout, 1, bias=False))
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)
        self.act = nn.PReLU(cout)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class _S2Block(nn.Module):
    """Optional average-pool by `pool`, depthwise k x k + BN, PReLU + pointwise, back up, BN."""

    def __init__(self, cin: int, cout: int, k: int, pool: int):
        super().__init__()
        self.pool = pool
        self.conv = nn.Sequential(nn.Conv2d(cin, cin, k, 1, k // 2, groups=cin, bias=False),
                                  nn.BatchNorm2d(cin, eps=1e-3))
        self.act_conv1x1 = nn.Sequential(nn.PReLU(cin), nn.Conv2d(cin, cout, 1, bias=False))
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x):
        if self.pool > 1:
            x = F.avg_pool2d(x, self.pool)
        y = self.act_conv1x1(self.conv(x))
        if self.pool > 1:
            y = _up(y, self.pool)
        return self.bn(y)


class _S2Module(nn.Module):
    """Grouped pointwise reduce -> channel shuffle -> two S2 blocks side by side -> (+x) -> BN PReLU."""

    def __init__(self, cin: int, cout: int, branches: tuple, add: bool = True):
        super().__init__()
        g = len(branches)
        n = cout // g
        self.groups, self.add = g, add
        self.c1 = _Conv(cin, n, 1, groups=g)
        for i, (k, pool) in enumerate(branches):
            setattr(self, f"d{i + 1}", _S2Block(n, n + (cout - g * n if i == 0 else 0), k, pool))
        self.BR = _BnAct(cout)

    def forward(self, x):
        y = self.c1(x)
        b, c, h, w = y.shape
        y = y.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(b, c, h, w)
        y = torch.cat([getattr(self, f"d{i + 1}")(y) for i in range(self.groups)], 1)
        return self.BR(x + y if self.add else y)


#: (kernel, pool) of the two branches of each S2 module: 2 at 1/4 resolution, 8 at 1/8.
_SINET_BRANCHES = (((3, 1), (5, 1)), ((3, 1), (3, 1)),
                   ((3, 1), (5, 1)), ((3, 1), (3, 1)), ((5, 1), (3, 2)), ((5, 2), (3, 4)),
                   ((3, 1), (3, 1)), ((5, 1), (5, 1)), ((3, 2), (3, 4)), ((3, 1), (5, 2)))


class _SINetEncoder(nn.Module):
    def __init__(self, classes: int = 2, p: int = 2, q: int = 8):
        super().__init__()
        d1, d2, d3 = 16, 48, 96
        self.level1 = _ConvBnAct(3, 12, 3, 2)
        self.level2_0 = _SEDepthwise(12, d1, 3, 2, divide=1)
        self.level2 = nn.ModuleList(_S2Module(d1 if i == 0 else d2, d2, _SINET_BRANCHES[i], add=i > 0)
                                    for i in range(p))
        self.BR2 = _BnAct(d2 + d1)
        self.level3_0 = _SEDepthwise(d2 + d1, d2, 3, 2, divide=2)
        self.level3 = nn.ModuleList(_S2Module(d2 if i == 0 else d3, d3, _SINET_BRANCHES[2 + i], add=i > 0)
                                    for i in range(q))
        self.BR3 = _BnAct(d3 + d2)
        self.classifier = _Conv(d3 + d2, classes, 1)


class SINet(nn.Module):
    """SINet (86.9 K weights): encoder at 1/8, an information-blocking decoder that lets the 1/4
    features through where the coarse prediction is unsure, two classes at full resolution."""

    multiple = 32

    def __init__(self, classes: int = 2):
        super().__init__()
        self.encoder = _SINetEncoder(classes)
        self.bn_3 = nn.BatchNorm2d(classes, eps=1e-3)
        self.level2_C = _ConvBnAct(48, classes, 1)
        self.bn_2 = nn.BatchNorm2d(classes, eps=1e-3)
        self.classifier = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
                                        nn.Conv2d(classes, classes, 3, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.encoder
        x2_0 = e.level2_0(e.level1(x))
        x2 = x2_0
        for layer in e.level2:
            x2 = layer(x2)
        x3_0 = e.level3_0(e.BR2(torch.cat([x2_0, x2], 1)))
        x3 = x3_0
        for layer in e.level3:
            x3 = layer(x3)
        coarse = self.bn_3(_up(e.classifier(e.BR3(torch.cat([x3_0, x3], 1))), 2))
        unsure = 1 - coarse.softmax(1).amax(1, keepdim=True)
        fine = self.bn_2(_up(self.level2_C(x2) * unsure + coarse, 2))
        return self.classifier(fine)

    @staticmethod
    def person_probability(logits: torch.Tensor) -> torch.Tensor:
        return logits.softmax(1)[:, 1:2]


# ----------------------------------------------------------------------------- ExtremeC3Net

class _C3Branch(nn.Module):
    """Depthwise-separable k x k with dilation d; for d > 1 first a (2d-1) x 1 and 1 x (2d-1)
    depthwise pair (BN, PReLU, BN) that fills the holes of the dilated kernel."""

    def __init__(self, cin: int, cout: int, k: int, d: int):
        super().__init__()
        pad = (k - 1) // 2 * d
        if d == 1:
            self.conv = nn.Sequential(nn.Conv2d(cin, cin, k, 1, pad, groups=cin, bias=False),
                                      nn.Conv2d(cin, cout, 1, bias=False))
        else:
            kk = 2 * d - 1
            self.conv = nn.Sequential(
                nn.Conv2d(cin, cin, (kk, 1), 1, (pad - 1, 0), groups=cin, bias=False), nn.BatchNorm2d(cin),
                nn.PReLU(cin),
                nn.Conv2d(cin, cin, (1, kk), 1, (0, pad - 1), groups=cin, bias=False), nn.BatchNorm2d(cin),
                nn.Conv2d(cin, cin, k, 1, pad, dilation=d, groups=cin, bias=False),
                nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):
        return self.conv(x)


class _C3Module(nn.Module):
    """Reduce (1x1, or 3x3 stride 2 when `down`) -> three C3 branches of dilations `ratio` ->
    concat (+x) -> BN PReLU."""

    def __init__(self, cin: int, cout: int, ratio=(2, 4, 8), add: bool = True, down: bool = False):
        super().__init__()
        n = cout // 3
        self.add, self.down = add and not down, down
        self.c1 = _Conv(cin, n, 3, 2) if down else _Conv(cin, n, 1)
        self.d1 = _C3Branch(n, n + cout - 3 * n, 3, ratio[0])
        self.d2 = _C3Branch(n, n, 3, ratio[1])
        self.d3 = _C3Branch(n, n, 3, ratio[2])
        if down:
            self.bn = nn.BatchNorm2d(cout, eps=1e-3)
            self.act = nn.PReLU(cout)
        else:
            self.bn = _BnAct(cout)

    def forward(self, x):
        y = self.c1(x)
        y = torch.cat([self.d1(y), self.d2(y), self.d3(y)], 1)
        if self.add:
            y = x + y
        return self.act(self.bn(y)) if self.down else self.bn(y)


class _C3Encoder(nn.Module):
    def __init__(self, p: int = 1, q: int = 5):
        super().__init__()
        self.level1 = _ConvBnAct(3, 24, 3, 2)
        self.b1 = _BnAct(27)
        self.level2_0 = _C3Module(27, 48, ratio=(1, 2, 3), down=True)
        self.level2 = nn.ModuleList(_C3Module(48, 48, ratio=(1, 3, 4)) for _ in range(p))
        self.b2 = _BnAct(99)
        self.level3_0 = _C3Module(99, 56, ratio=(1, 3, 5), add=False)
        self.level3 = nn.ModuleList(_C3Module(56, 56) for _ in range(q))
        self.b3 = _BnAct(112)


class ExtremeC3(nn.Module):
    """ExtremeC3Net (37.7 K weights): a coarse encoder at 1/4 plus a fine branch at 1/2; one
    person logit at full resolution."""

    multiple = 8

    def __init__(self):
        super().__init__()
        self.encoder = _C3Encoder()
        self.upsample = nn.Sequential(nn.Conv2d(112, 24, 1, bias=False), nn.BatchNorm2d(24),
                                      nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True))
        self.Fine = nn.Sequential(_Conv(3, 24, 3, 2), _C3Module(24, 24))
        self.classifier = nn.Sequential(_BnAct(24), nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
                                        nn.Conv2d(24, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.encoder
        x0 = e.b1(torch.cat([e.level1(x), F.avg_pool2d(x, 2)], 1))
        x1_0 = e.level2_0(x0)
        x1 = x1_0
        for layer in e.level2:
            x1 = layer(x1)
        x2_0 = e.level3_0(e.b2(torch.cat([x1, x1_0, F.avg_pool2d(x, 4)], 1)))
        x2 = x2_0
        for layer in e.level3:
            x2 = layer(x2)
        coarse = self.upsample(e.b3(torch.cat([x2_0, x2], 1)))
        return self.classifier(coarse + self.Fine(x))

    @staticmethod
    def person_probability(logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits)
