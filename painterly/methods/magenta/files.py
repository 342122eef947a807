"""Magenta's weights: from the upstream ONNX files (sha256-checked) to painterly's networks.

The ONNX graphs hold int8 weights with one scale per output channel (the TF-Lite release) or
float32 tables (the 26-style network). We dequantise them once, w = (q - zero) * scale, keyed by the
layer names of the original TensorFlow graphs, and cache the resulting float32 state dict as a
`.pt` file under the user's cache folder (key: the upstream file's sha256), so later runs need
neither the `onnx` package nor the parse. Activations stay float32: we do not reproduce the int8
activation rounding of the TF-Lite graph (that rounding is an artefact of the mobile release, not
of the trained network; our outputs are smoother and agree with it to the stated tolerance).
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

import torch

from ... import weights
from ...errors import InputError
from .networks import MultiStyleNetwork, StylePredictor, StyleTransformer

CACHE_FORMAT = "painterly-magenta-dequantised-v1"


def cache_dir() -> Path:
    """$PAINTERLY_CACHE, else $XDG_CACHE_HOME/painterly, else ~/.cache/painterly."""
    env = os.environ.get("PAINTERLY_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "painterly"


# ---------------------------------------------------------------- ONNX -> {layer: tensor}

def _onnx_constants(path: Path) -> tuple[list, dict]:
    """The graph's nodes and every constant it holds, with DequantizeLinear of constants evaluated."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:  # pragma: no cover - onnx is a dependency
        raise InputError("reading Magenta's weights the first time needs the 'onnx' package: "
                         "pip install onnx") from None
    import numpy as np
    g = onnx.load(str(path)).graph
    const = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for n in g.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in const:
            q = const[n.input[0]].astype(np.float64)
            scale = const[n.input[1]].astype(np.float64)
            zero = const[n.input[2]].astype(np.float64) if len(n.input) > 2 else np.zeros_like(scale)
            axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
            if scale.ndim == 1 and scale.size > 1:
                shape = [1] * q.ndim
                shape[axis] = -1
                scale, zero = scale.reshape(shape), zero.reshape(shape)
            const[n.output[0]] = ((q - zero) * scale).astype(np.float32)
    return list(g.node), const


def _tf_convs(path: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{TF layer name: (weight OIHW, bias)} for every Conv of a converted TF-Lite graph."""
    nodes, const = _onnx_constants(path)
    out = {}
    for n in nodes:
        if n.op_type != "Conv" or n.input[1] not in const:
            continue
        name = n.input[1]
        for suffix in ("/depthwise_weights_dequant", "/weights_dequant"):
            name = name.removesuffix(suffix)
        bias = torch.from_numpy(const[n.input[2]].copy()) if len(n.input) > 2 else None
        out[name] = (torch.from_numpy(const[n.input[1]].copy()), bias)
    return out


def read_predictor(path: Path) -> dict[str, torch.Tensor]:
    """arbitrary_predict.onnx -> StylePredictor state dict."""
    convs = _tf_convs(path)
    sd: dict[str, torch.Tensor] = {}

    def put(prefix: str, tf: str, linear: bool = False) -> None:
        w, b = convs.pop(tf)
        sd[prefix + ".weight"] = w.flatten(1) if linear else w
        sd[prefix + ".bias"] = b

    put("stem", "MobilenetV2/Conv")
    put("head", "MobilenetV2/Conv_1")
    put("bottleneck", "mobilenet_conv/Conv", linear=True)
    for i in range(17):
        tf = "MobilenetV2/expanded_conv" + (f"_{i}" if i else "")
        for part in ("expand", "depthwise", "project"):
            if f"{tf}/{part}" in convs:
                put(f"blocks.{i}.{part}", f"{tf}/{part}")
    if convs:
        raise InputError(f"{path}: unexpected layers {sorted(convs)[:3]}")
    return sd


def read_transformer(path: Path) -> dict[str, torch.Tensor]:
    """arbitrary_transform.onnx -> StyleTransformer state dict."""
    convs = _tf_convs(path)
    sd: dict[str, torch.Tensor] = {}
    for i, k in enumerate((0, 2, 4)):
        w, b = convs[f"transformer/contract/conv{i + 1}"]
        sd[f"contract.{k}.conv.weight"], sd[f"contract.{k}.conv.bias"] = w, b
    norms = []
    for r in range(1, 6):
        for c, ab in ((1, "a"), (2, "b")):
            tf = f"transformer/residual/residual{r}/conv{c}"
            w, b = convs[tf]
            if b is not None and b.abs().max() > 0:
                raise InputError(f"{path}: residual conv {tf} has a non-zero bias")
            sd[f"res.{r - 1}.{ab}.conv.conv.weight"] = w
            norms.append(tf)
    for e in range(1, 4):
        tf = f"transformer/expand/conv{e}/conv"
        w, b = convs[tf]
        sd[f"expand.{e - 1}.conv.conv.weight"], sd[f"expand.{e - 1}.conv.conv.bias"] = w, b
        norms.append(tf)
    for key, node in (("to_gamma", "Conv_1"), ("to_beta", "Conv")):
        ws, bs = zip(*(convs[f"style_params/{tf}/StyleNorm/{node}"] for tf in norms))
        sd[f"{key}.weight"] = torch.cat([w.flatten(1) for w in ws])
        sd[f"{key}.bias"] = torch.cat(bs)
    return sd


def read_multistyle(path: Path) -> dict[str, torch.Tensor]:
    """multistyle26.onnx (exported from PyTorch, float tables) -> MultiStyleNetwork state dict."""
    _, const = _onnx_constants(path)
    t = {k: torch.from_numpy(v.copy()) for k, v in const.items() if hasattr(v, "dtype") and v.dtype.kind == "f"}
    sd: dict[str, torch.Tensor] = {}
    layers = []
    for i in range(3):
        sd[f"contract.{i}.conv.conv.weight"] = t[f"contract.{i}.w"]
        layers.append(f"contract.{i}")
    for r in range(6):
        for j, ab in ((0, "a"), (1, "b")):
            sd[f"res.{r}.{ab}.conv.conv.weight"] = t[f"res.{r}.{j}.w"]
            layers.append(f"res.{r}.{j}")
    for i in range(3):
        sd[f"expand.{i}.conv.conv.weight"] = t[f"expand.{i}.w"]
        layers.append(f"expand.{i}")
    sd["gamma"] = torch.cat([t[f"{n}.norm.gamma"] for n in layers], dim=1)
    sd["beta"] = torch.cat([t[f"{n}.norm.beta"] for n in layers], dim=1)
    return sd


READERS = {"magenta-predictor": (read_predictor, StylePredictor),
           "magenta-transformer": (read_transformer, StyleTransformer),
           "magenta-26styles": (read_multistyle, MultiStyleNetwork)}


# ---------------------------------------------------------------- cached, checked loading

def _atomic_save(obj: dict, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def state_dict(name: str) -> dict[str, torch.Tensor]:
    """The float32 state dict of Magenta network `name`, from the sha256-checked upstream file,
    dequantised on first use and cached (a read-only cache folder only costs the parse)."""
    upstream = weights.resolve(name)          # checks sha256; one-line error if missing or altered
    s = weights.spec(name)
    cached = cache_dir() / "magenta" / f"{name}-{s.sha256[:16]}.pt"
    if cached.is_file():
        try:
            doc = torch.load(cached, map_location="cpu", weights_only=True)
            if isinstance(doc, dict) and doc.get("format") == CACHE_FORMAT and doc.get("sha256") == s.sha256:
                return doc["state_dict"]
        except Exception:  # a damaged cache is rebuilt, never trusted
            pass
    reader, _ = READERS[name]
    try:
        sd = reader(upstream)
    except (KeyError, ValueError) as e:
        raise InputError(f"weights file '{upstream}' for '{name}' could not be read ({e})") from None
    try:
        _atomic_save({"format": CACHE_FORMAT, "sha256": s.sha256, "source": str(upstream), "state_dict": sd}, cached)
    except OSError:
        pass
    return sd


@lru_cache(maxsize=4)
def load(name: str) -> torch.nn.Module:
    """Magenta network `name` ('magenta-predictor', 'magenta-transformer', 'magenta-26styles'), eval mode,
    gradients off; shared by every caller in the process (copy it before changing its parameters)."""
    _, cls = READERS[name]
    net = cls()
    net.load_state_dict(state_dict(name))
    # channels-last convolutions: 15-30 % faster on the CPU here (bench: docs/bench/magenta-cpu.json)
    return net.eval().requires_grad_(False).to(memory_format=torch.channels_last)
