"""The PCA-distilled VGG-19 encoder/decoder of Chiu & Gurari (CVPR 2022), in PyTorch.

Four encoder blocks end at relu1_1 … relu4_1 with 10 / 20 / 58 / 64 channels (VGG's 64 … 512
reduced by PCA knowledge distillation). Each block also returns a *skip*: its input minus the
input's 3×3 local mean (a high-pass of the detail the block's pooling drops). The decoder
mirrors the encoder one block at a time; it upsamples bilinearly and adds the skip back before
its last convolution (the first block concatenates the RGB skip instead). Photorealistic
transfer whitens and colours the features at the input of every decoder block (`engine`).

Weights: `painterly/data/photo/pcakd_vgg.pt` (converted from the authors' TensorFlow checkpoint by
`scripts/photo_convert_pcakd.py`; MIT, see `LICENSE-PCAKD.md` there). Tensors are (N, C, H, W);
the encoder takes RGB in [0, 1] (its first 1×1 convolution does the rest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

#: Channels at relu1_1 … relu4_1.
CHANNELS = (10, 20, 58, 64)
#: Convolutions per encoder block (block 0 starts with the 1×1 preprocessing conv) and decoder block.
_ENC_CONVS = (2, 2, 2, 4)
_DEC_CONVS = (1, 2, 2, 4)
#: Total stride of the deepest level: inputs are padded to a multiple of it.
STRIDE = 8
WEIGHTS_FILE = Path(__file__).resolve().parents[2] / "data" / "photo" / "pcakd_vgg.pt"


def _conv(x: torch.Tensor, conv: nn.Conv2d, relu: bool = True) -> torch.Tensor:
    if conv.kernel_size[0] > 1:
        x = F.pad(x, (1, 1, 1, 1), mode="reflect")
    x = conv(x)
    return F.relu(x) if relu else x


def high_pass(x: torch.Tensor) -> torch.Tensor:
    """x minus its 3×3 box mean (edge pixels repeated), channel by channel: the encoder's skip."""
    c = x.shape[1]
    box = torch.full((c, 1, 3, 3), 1.0 / 9, dtype=x.dtype, device=x.device)
    return x - F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), box, groups=c)


class Encoder(nn.Module):
    """RGB [0, 1] -> features and skips of the four blocks."""

    def __init__(self):
        super().__init__()
        ins = (3, *CHANNELS[:-1])
        self.blocks = nn.ModuleList()
        for b, (n, cin, cout) in enumerate(zip(_ENC_CONVS, ins, CHANNELS)):
            if b == 0:
                convs = [nn.Conv2d(3, 3, 1), nn.Conv2d(3, cout, 3)]
            else:   # same width until the last conv, which widens (the VGG block's first conv after a pool)
                convs = [nn.Conv2d(cin, cin, 3) for _ in range(n - 1)] + [nn.Conv2d(cin, cout, 3)]
            self.blocks.append(nn.ModuleList(convs))

    def block(self, b: int, x: torch.Tensor, skips: bool = True) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(block b's features, its skip, or None without `skips`) for input x."""
        skip = high_pass(x) if skips else None
        convs = self.blocks[b]
        if b == 0:
            return _conv(_conv(x, convs[0], relu=False), convs[1]), skip
        for conv in convs[:-1]:
            x = _conv(x, conv)
        x = F.max_pool2d(x, 2)
        return _conv(x, convs[-1]), skip

    def forward(self, x: torch.Tensor, levels: int = 4,
                skips: bool = True) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Features and skips of the first `levels` blocks (skips=False: only the features, as a
        reference photo needs)."""
        feats, skip_list = [], []
        x = x.contiguous(memory_format=torch.channels_last)
        for b in range(levels):
            x, s = self.block(b, x, skips)
            feats.append(x)
            skip_list.append(s)
        return feats, skip_list


class Decoder(nn.Module):
    """Block b maps level-b features (+ the encoder's skip of block b) to level b-1 (RGB for b = 0)."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.ModuleList([nn.Conv2d(CHANNELS[0] + 3, 3, 3)])])
        for b in range(1, 4):
            cin, cout = CHANNELS[b], CHANNELS[b - 1]
            self.blocks.append(nn.ModuleList([nn.Conv2d(cin, cout, 3)]
                                             + [nn.Conv2d(cout, cout, 3) for _ in range(_DEC_CONVS[b] - 1)]))

    def block(self, b: int, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        convs = self.blocks[b]
        if b == 0:
            return _conv(torch.cat([x, skip], 1), convs[0], relu=False)
        x = _conv(x, convs[0])
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        for conv in convs[1:-1]:
            x = _conv(x, conv)
        x = x + skip[..., : x.shape[-2], : x.shape[-1]]
        return _conv(x, convs[-1])

    def forward(self, feat: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        x = feat
        for b in reversed(range(len(skips))):
            x = self.block(b, x, skips[b])
        return x


class PCAKD(nn.Module):
    """Encoder and decoder together (the unit the weights file holds)."""

    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = Encoder(), Decoder()

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decode the image's own features: near-identity (the port's check)."""
        h, w = x.shape[-2:]
        xp = pad_to_stride(x)
        feats, skips = self.encoder(xp)
        return self.decoder(feats[-1], skips)[..., :h, :w]


def pad_to_stride(x: torch.Tensor, stride: int = STRIDE) -> torch.Tensor:
    """Reflect-pad bottom/right to a multiple of `stride` (the decoder's skips then line up exactly)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % stride, (-w) % stride
    if not ph and not pw:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def state_from_tf(enc: dict, dec: dict) -> dict[str, torch.Tensor]:
    """A PCAKD state dict from the authors' TensorFlow tensors (numpy arrays keyed by checkpoint name):
    Keras kernels (kh, kw, in, out) become PyTorch's (out, in, kh, kw)."""
    out: dict[str, torch.Tensor] = {}
    for part, tensors, counts in (("encoder", enc, _ENC_CONVS), ("decoder", dec, _DEC_CONVS)):
        for b, n in enumerate(counts):
            for k in range(n):
                base = f"btnecks/{b}/layer_with_weights-{k}/"
                kern = tensors[base + "kernel/.ATTRIBUTES/VARIABLE_VALUE"]
                bias = tensors[base + "bias/.ATTRIBUTES/VARIABLE_VALUE"]
                out[f"{part}.blocks.{b}.{k}.weight"] = torch.from_numpy(kern).permute(3, 2, 0, 1).contiguous()
                out[f"{part}.blocks.{b}.{k}.bias"] = torch.from_numpy(bias).clone()
    return out


_CACHE: dict[str, PCAKD] = {}


def load(device: str = "cpu", path: Optional[str] = None) -> PCAKD:
    """The shipped network (sha256-checked through `painterly.weights`), cached per device."""
    key = f"{device}|{path}"
    if key not in _CACHE:
        from ... import weights
        p = weights.resolve("pcakd-vgg", path)
        net = PCAKD()
        net.load_state_dict(torch.load(p, map_location="cpu", weights_only=True))
        # channels-last convolutions: the encoder runs about 2x faster on the CPU here (same values to 1e-4)
        _CACHE[key] = net.eval().requires_grad_(False).to(device).to(memory_format=torch.channels_last)
    return _CACHE[key]
