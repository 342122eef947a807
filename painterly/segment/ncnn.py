"""A reader for the few ncnn layers the sky network uses, turned into a PyTorch module.

ncnn stores a network as a text graph (`.param`: one layer a line, `type name n_in n_out
inputs... outputs... key=value...`) and a flat weight file (`.bin`, read layer by layer in
graph order). Reading them is parsing numbers: nothing in either file is executed. Only the
layers and keys below are understood; anything else is refused, so a different file cannot be
half-read silently.

Weights: each convolution's kernel starts with a 4-byte tag (0x01306B47: float16, padded to
4 bytes; 0: float32), its bias is raw float32. Kernels are kept as float32 here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import InputError

MAGIC = 7767517
_FP16_TAG = 0x01306B47

#: layer type -> the parameter keys we understand (anything else: refused)
_KNOWN = {"Input": set(), "Split": set(), "Concat": {0}, "Sigmoid": set(),
          "BinaryOp": {0}, "Pooling": {0, 1, 2, 3, 5}, "Interp": {0, 3, 4, 6},
          "Convolution": {0, 1, 2, 3, 4, 5, 6, 9}}


@dataclass
class Layer:
    kind: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, float] = field(default_factory=dict)


def read_param(path: str | os.PathLike) -> list[Layer]:
    """The layers of an ncnn `.param` text file, in order."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="ascii").split("\n")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"network file '{p}' could not be read ({e})") from None
    try:
        if int(lines[0]) != MAGIC:
            raise ValueError("not an ncnn param file")
        n_layers, _ = (int(v) for v in lines[1].split())
        layers = []
        for line in lines[2:2 + n_layers]:
            f = line.split()
            kind, name, n_in, n_out = f[0], f[1], int(f[2]), int(f[3])
            ins, outs = f[4:4 + n_in], f[4 + n_in:4 + n_in + n_out]
            params = {}
            for kv in f[4 + n_in + n_out:]:
                k, v = kv.split("=")
                params[int(k)] = float(v) if "." in v or "e" in v else int(v)
            if kind not in _KNOWN or not set(params) <= _KNOWN[kind]:
                raise ValueError(f"layer {name} ({kind} {sorted(params)}) is not supported")
            layers.append(Layer(kind, name, ins, outs, params))
        if len(layers) != n_layers:
            raise ValueError(f"{len(layers)} layers, the header says {n_layers}")
    except (ValueError, IndexError) as e:
        raise InputError(f"network file '{p}' is not a usable ncnn graph: {e}") from None
    return layers


def read_bin(path: str | os.PathLike, layers: list[Layer]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Convolution name -> (weight (out, in, k, k), bias (out,)) from the `.bin` file."""
    p = Path(path)
    data = p.read_bytes()
    pos, out = 0, {}
    try:
        for ly in layers:
            if ly.kind != "Convolution":
                continue
            cout, k, size = ly.params[0], ly.params[1], ly.params[6]
            tag = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
            if tag == _FP16_TAG:
                w = np.frombuffer(data, "<f2", size, pos).astype(np.float32)
                pos += (size * 2 + 3) // 4 * 4
            elif tag == 0:
                w = np.frombuffer(data, "<f4", size, pos).copy()
                pos += size * 4
            else:
                raise ValueError(f"weights of {ly.name} are stored in a form not supported (tag {tag:#x})")
            b = np.zeros(cout, np.float32)
            if ly.params.get(5, 0):
                b = np.frombuffer(data, "<f4", cout, pos).copy()
                pos += cout * 4
            cin = size // (cout * k * k)
            if cin * cout * k * k != size:
                raise ValueError(f"{ly.name}: {size} weights do not make {cout} kernels of {k}x{k}")
            out[ly.name] = (torch.from_numpy(w).view(cout, cin, k, k), torch.from_numpy(b))
    except ValueError as e:
        raise InputError(f"weights file '{p}' does not match its graph: {e}") from None
    if pos != len(data):
        raise InputError(f"weights file '{p}' does not match its graph ({len(data) - pos} bytes left over)")
    return out


class Graph(nn.Module):
    """The ncnn graph as a PyTorch module. `base` is the input side the graph's fixed resize
    sizes were made for: another input size (sides multiples of 32) scales them."""

    def __init__(self, layers: list[Layer], weights: dict[str, tuple[torch.Tensor, torch.Tensor]],
                 output: str, base: int):
        super().__init__()
        self.layers, self.output, self.base = layers, output, base
        self.convs = nn.ModuleDict()
        for ly in layers:
            if ly.kind == "Convolution":
                w, b = weights[ly.name]
                d = ly.params.get(2, 1)
                conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], ly.params.get(3, 1), ly.params.get(4, 0), d)
                conv.weight.data.copy_(w)
                conv.bias.data.copy_(b)
                self.convs[ly.name] = conv
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blobs: dict[str, torch.Tensor] = {}
        sy, sx = x.shape[-2] / self.base, x.shape[-1] / self.base
        for ly in self.layers:
            a = [blobs[i] for i in ly.inputs]
            k = ly.kind
            if k == "Input":
                y = x
            elif k == "Split":
                for o in ly.outputs:
                    blobs[o] = a[0]
                continue
            elif k == "Convolution":
                y = self.convs[ly.name](a[0])
                act = ly.params.get(9, 0)
                y = F.relu_(y) if act == 1 else torch.sigmoid(y) if act == 4 else y
            elif k == "Pooling":
                y = F.max_pool2d(a[0], ly.params[1], ly.params.get(2, 1), ceil_mode=ly.params.get(5, 0) == 0)
            elif k == "Interp":
                size = (round(ly.params[3] * sy), round(ly.params[4] * sx))
                y = a[0] if tuple(a[0].shape[-2:]) == size else F.interpolate(
                    a[0], size=size, mode="bilinear", align_corners=bool(ly.params.get(6, 0)))
            elif k == "Concat":
                y = torch.cat(a, 1)
            elif k == "BinaryOp":
                y = a[0] + a[1]
            elif k == "Sigmoid":
                y = torch.sigmoid(a[0])
            blobs[ly.outputs[0]] = y
            if ly.outputs[0] == self.output:
                return y
        return blobs[self.output]
