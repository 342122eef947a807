"""VGG encoders with named layers (conv1_1 ... relu5_4), normalisation inside, truncated to need.

An `Encoder` is built for the layers a method asks for: it keeps only the modules up to the
deepest one, returns {layer name: activation}, and optionally swaps max- for average-pooling
(Gatys et al.). Callers always pass RGB in [0, 1]; each weight file's input convention
(torchvision mean/std, or Caffe BGR 0-255 minus mean) is applied here and nowhere else.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from functools import lru_cache
from typing import Optional
from collections.abc import Iterable

import torch
import torch.nn as nn

from . import weights
from .errors import InputError

_BLOCKS = {"vgg19": (2, 2, 4, 4, 4), "vgg16": (2, 2, 3, 3, 3), "vgg16_bn": (2, 2, 3, 3, 3)}
_CHANNELS = (64, 128, 256, 512, 512)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def architecture(arch: str) -> list[tuple[str, str, int, int, int]]:
    """The layers of a torchvision VGG `features` stack as (name, kind, tv_index, in_ch, out_ch)."""
    bn = arch.endswith("_bn")
    out, idx, cin = [], 0, 3
    for b, (n, cout) in enumerate(zip(_BLOCKS[arch], _CHANNELS), start=1):
        for c in range(1, n + 1):
            out.append((f"conv{b}_{c}", "conv", idx, cin, cout)); idx += 1
            if bn:
                out.append((f"bn{b}_{c}", "bn", idx, cout, cout)); idx += 1
            out.append((f"relu{b}_{c}", "relu", idx, cout, cout)); idx += 1
            cin = cout
        out.append((f"pool{b}", "pool", idx, cout, cout)); idx += 1
    return out


def layer_names(encoder: str) -> list[str]:
    """All layer names an encoder (registry name) can return, shallow to deep."""
    s = weights.spec(encoder)
    names = [n for n, *_ in architecture(s.arch)]
    if s.last_layer:
        names = names[: names.index(s.last_layer) + 1]
    return names


def check_layers(encoder: str, layers: Iterable[str], option: str = "layers") -> list[str]:
    """Validate layer names for `encoder`; InputError names the bad one and lists valid ones."""
    valid = layer_names(encoder)
    out = []
    for name in layers:
        if name not in valid:
            shown = " ".join(n for n in valid if not n.startswith("pool"))
            raise InputError(f"unknown layer '{name}' for {option} with encoder '{encoder}'; valid: {shown}")
        out.append(name)
    if not out:
        raise InputError(f"{option} needs at least one layer name")
    return out


class Normalize(nn.Module):
    """RGB [0, 1] -> the input convention of the weight file."""

    def __init__(self, convention: str):
        super().__init__()
        self.caffe = convention == "caffe"
        if self.caffe:
            mean = torch.tensor(_CAFFE_MEAN_BGR).view(1, 3, 1, 1)
            std = torch.ones(1, 3, 1, 1)
        else:
            mean = torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
            std = torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.caffe:
            x = x.flip(1) * 255.0
        return (x - self.mean) / self.std


@lru_cache(maxsize=4)
def _state(name: str, path: Optional[str]) -> dict[str, torch.Tensor]:
    return weights.load_state(name, path)


class Encoder(nn.Module):
    """A frozen VGG truncated after the deepest requested layer; forward returns {name: tensor}."""

    def __init__(self, name: str = weights.AUTO, layers: Iterable[str] = ("relu5_1",),
                 pooling: str = "max", weights_path: Optional[str | os.PathLike] = None,
                 checkpoint: bool = False):
        super().__init__()
        self.checkpoint = checkpoint
        if name == weights.AUTO:
            name = weights.auto_encoder()
        if pooling not in ("max", "avg"):
            raise InputError(f"unknown pooling '{pooling}': use 'max' or 'avg'")
        self.name, self.pooling = name, pooling
        s = weights.spec(name)
        if s.kind != "encoder":
            raise InputError(f"'{name}' is not an encoder: choose one of {', '.join(weights.encoders())} (or 'auto')")
        self.layers = list(dict.fromkeys(check_layers(name, layers)))
        arch = architecture(s.arch)
        order = [n for n, *_ in arch]
        deepest = max(order.index(n) for n in self.layers)
        state = _state(name, str(weights_path) if weights_path else None)

        modules: OrderedDict[str, nn.Module] = OrderedDict()
        for i, (lname, kind, tv_idx, cin, cout) in enumerate(arch[: deepest + 1]):
            # Modules share the cached weight tensors (assign=True) rather than copying them.
            m: nn.Module
            if kind == "conv":
                m = nn.Conv2d(cin, cout, 3, padding=1, device="meta")
                m.load_state_dict({p: state[f"{tv_idx}.{p}"] for p in ("weight", "bias")}, assign=True)
            elif kind == "bn":
                m = nn.BatchNorm2d(cout, device="meta")
                m.load_state_dict({p: state[f"{tv_idx}.{p}"] for p in ("weight", "bias", "running_mean",
                                                                       "running_var")}, strict=False, assign=True)
                m.num_batches_tracked = torch.zeros((), dtype=torch.long)
            elif kind == "relu":
                # In place saves memory unless the caller wants the pre-activation it would overwrite.
                m = nn.ReLU(inplace=arch[i - 1][0] not in self.layers)
            else:
                m = nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2)
            modules[lname] = m
        self.normalize = Normalize(s.input_convention)
        self.body = nn.Sequential(modules)
        self.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> Encoder:
        """The encoder is fixed: it always stays in eval mode (batch-norm statistics frozen)."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.normalize(x)
        if self.checkpoint and torch.is_grad_enabled() and x.requires_grad:
            return self._forward_checkpointed(x)
        wanted, out = set(self.layers), {}
        for lname, m in self.body.named_children():
            x = m(x)
            if lname in wanted:
                out[lname] = x
                if len(out) == len(wanted):
                    break
        return out

    def _blocks(self) -> list[list[tuple[str, nn.Module]]]:
        """The layers split after each pooling layer: the units recomputed under checkpointing."""
        blocks: list[list[tuple[str, nn.Module]]] = [[]]
        for lname, m in self.body.named_children():
            blocks[-1].append((lname, m))
            if lname.startswith("pool"):
                blocks.append([])
        return [b for b in blocks if b]

    def _forward_checkpointed(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Same result as forward, but each block's activations are recomputed during backward
        instead of kept: about half the memory at ~1/3 more time per step."""
        from torch.utils.checkpoint import checkpoint
        wanted, out = set(self.layers), dict[str, torch.Tensor]()
        for block in self._blocks():
            names = [n for n, _ in block if n in wanted]

            def run(inp: torch.Tensor, block=block, names=names) -> tuple[torch.Tensor, ...]:
                got = {}
                for lname, m in block:
                    inp = m(inp)
                    if lname in names:
                        got[lname] = inp
                return (inp, *[got[n] for n in names])

            x, *feats = checkpoint(run, x, use_reentrant=False)
            out.update(zip(names, feats))
            if len(out) == len(wanted):
                break
        return out
