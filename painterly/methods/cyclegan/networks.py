"""CycleGAN networks: the source project's DnCNN-style generator and small discriminator, and
the standard ResNet-9 generator and 70×70 PatchGAN of Zhu et al. (2017).

Generators map RGB [0, 1] to RGB [0, 1] (internally [-1, 1] with a tanh, as in the reference
code) and accept any size. `ResnetGenerator` uses the reference code's layout (`model.N.*`) so
state dicts trained there load directly (`load_reference_generator`). `MagentaGenerator` is Ghiasi
et al.'s GPU-trained transformer (Magenta) with its style as the learnable part: it paints strokes
before any training, which 2 CPU cores cannot teach a generator from scratch.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...errors import InputError

GENERATORS = ("dncnn", "resnet", "magenta")
#: What a Magenta generator learns in a CycleGAN: its style vector, also every norm's gamma/beta, or everything.
MAGENTA_TRAIN = ("vector", "norms", "all")
DISCRIMINATORS = ("source", "patch")


class _ImageToImage(nn.Module):
    """[0, 1] in/out wrapper around a [-1, 1] network; pads to a multiple of `multiple`."""

    multiple = 1

    def body(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = self.multiple
        x = F.pad(x * 2 - 1, (0, (-w) % m, 0, (-h) % m), mode="reflect")
        return (self.body(x)[..., :h, :w] + 1) / 2


class DnCNNGenerator(_ImageToImage):
    """conv3×3 3→C + ReLU, D × (conv3×3 C→C + BatchNorm + ReLU), conv3×3 C→3 (the source's design),
    predicting the image directly, squashed by tanh."""

    def __init__(self, depth: int = 6, channels: int = 64):
        super().__init__()
        self.config = {"kind": "dncnn", "depth": depth, "channels": channels}
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth):
            layers += [nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
                       nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(channels, 3, 3, padding=1), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class ResnetBlock(nn.Module):
    def __init__(self, dim: int, affine: bool):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim, affine=affine), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim, affine=affine))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(_ImageToImage):
    """Zhu et al.'s generator: c7s1-64, d128, d256, `blocks` × R256, u128, u64, c7s1-3, tanh."""

    multiple = 4

    def __init__(self, blocks: int = 9, ngf: int = 64, affine: bool = True):
        super().__init__()
        self.config = {"kind": "resnet", "blocks": blocks, "ngf": ngf, "affine": affine}
        norm = lambda c: nn.InstanceNorm2d(c, affine=affine)  # noqa: E731
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), norm(ngf), nn.ReLU(True)]
        c = ngf
        for _ in range(2):
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), norm(2 * c), nn.ReLU(True)]
            c *= 2
        layers += [ResnetBlock(c, affine) for _ in range(blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1), norm(c // 2),
                       nn.ReLU(True)]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class MagentaGenerator(_ImageToImage):
    """Magenta's style transformer at one learnable style: a 100-number style vector (what Magenta's
    predictor outputs for a painting) plus an offset on every conditional norm's gamma/beta (zero
    until trained). `train` says which parameters a CycleGAN updates (`trainable()`)."""

    multiple = 4

    def __init__(self, train: str = "vector"):
        super().__init__()
        from ..magenta.networks import STYLE_DIM, StyleTransformer
        if train not in MAGENTA_TRAIN:
            raise InputError(f"unknown Magenta generator part '{train}': use {', '.join(MAGENTA_TRAIN)}")
        self.config = {"kind": "magenta", "train": train}
        self.net = StyleTransformer()
        self.style = nn.Parameter(torch.zeros(1, STYLE_DIM))
        self.norm_offset = nn.Parameter(torch.zeros(1, 2 * sum(self.net.channels)))

    def trainable(self) -> list[nn.Parameter]:
        """The parameters a CycleGAN run updates; the rest keep Magenta's GPU-trained values."""
        if self.config["train"] == "vector":
            return [self.style]
        if self.config["train"] == "norms":
            return [self.style, self.norm_offset]
        return list(self.parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = self.multiple
        x = F.pad(x, (0, (-w) % m, 0, (-h) % m), mode="reflect")
        params = self.net.style_params(self.style) + self.norm_offset
        return self.net(x, params=params.expand(x.shape[0], -1))[..., :h, :w]


def magenta_generator(train: str = "vector", style: torch.Tensor | None = None) -> MagentaGenerator:
    """A Magenta generator with Magenta's transformer weights (sha256-checked) at `style` (1, 100)."""
    from ..magenta import files
    g = MagentaGenerator(train)
    g.net.load_state_dict(files.state_dict("magenta-transformer"))
    if style is not None:
        with torch.no_grad():
            g.style.copy_(style.reshape(1, -1))
    return g


class SourceDiscriminator(nn.Module):
    """Five conv3×3 layers 3→16→64→256→256→1 with InstanceNorm + LeakyReLU(0.2) between them
    (strides 2, 2, 2, 1, 1); the score map is flattened per image."""

    def __init__(self):
        super().__init__()
        chans, strides = (3, 16, 64, 256, 256, 1), (2, 2, 2, 1, 1)
        layers: list[nn.Module] = []
        for i, s in enumerate(strides):
            layers.append(nn.Conv2d(chans[i], chans[i + 1], 3, stride=s, padding=1))
            if i < len(strides) - 1:
                if i > 0:
                    layers.append(nn.InstanceNorm2d(chans[i + 1]))
                layers.append(nn.LeakyReLU(0.2, inplace=True))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x * 2 - 1).flatten(1)


class PatchDiscriminator(nn.Module):
    """The 70×70 PatchGAN: C64-C128-C256-C512 (4×4 convs), then a 1-channel 4×4 conv."""

    def __init__(self, ndf: int = 64):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = ndf
        for stride in (2, 2, 1):
            layers += [nn.Conv2d(c, 2 * c, 4, stride, 1), nn.InstanceNorm2d(2 * c), nn.LeakyReLU(0.2, True)]
            c *= 2
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x * 2 - 1).flatten(1)


def build_generator(kind: str = "dncnn", depth: int = 6, channels: int = 64, blocks: int = 9) -> _ImageToImage:
    if kind == "dncnn":
        return DnCNNGenerator(depth, channels)
    if kind == "resnet":
        return ResnetGenerator(blocks, channels)
    if kind == "magenta":
        return magenta_generator()
    raise InputError(f"unknown generator '{kind}': use {' or '.join(GENERATORS)}")


def generator_from_config(config: dict) -> _ImageToImage:
    cfg = dict(config)
    kind = cfg.pop("kind")
    if kind == "magenta":
        return MagentaGenerator(**cfg)      # its weights follow in the file's state dict
    return DnCNNGenerator(**cfg) if kind == "dncnn" else ResnetGenerator(**cfg)


def build_discriminator(kind: str = "source") -> nn.Module:
    if kind == "source":
        return SourceDiscriminator()
    if kind == "patch":
        return PatchDiscriminator()
    raise InputError(f"unknown discriminator '{kind}': use {' or '.join(DISCRIMINATORS)}")


def load_reference_generator(state: dict[str, torch.Tensor]) -> ResnetGenerator:
    """A ResnetGenerator from a state dict of the reference CycleGAN code (or forks that name the
    residual branch `block` instead of `conv_block`); norm affinity and block count are read off."""
    state = {k.replace(".block.", ".conv_block."): v for k, v in state.items()}
    if "model.1.weight" not in state:
        raise InputError("not a CycleGAN ResNet generator state dict (no model.1.weight)")
    ngf = state["model.1.weight"].shape[0]
    blocks = len({k.split(".")[1] for k in state if ".conv_block." in k})
    affine = "model.2.weight" in state
    g = ResnetGenerator(blocks, ngf, affine)
    g.load_state_dict(state)
    return g
