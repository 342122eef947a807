"""Export a trained one-pass network (a feed-forward style, a CycleGAN generator) to ONNX, any
image size, and check it with onnxruntime. Which methods have such a network, and how to load it,
is declared by each method's `network` entry in the registry."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Union

import numpy as np
import torch

from . import images, methods
from .errors import InputError
from .options import OptionError


def load_network(model: Union[str, os.PathLike]) -> torch.nn.Module:
    """The network of a model file or shipped name, from the first method whose loader takes it."""
    why = []
    for m in methods.all_methods():
        if m.network is None:
            continue
        try:
            return m.network(str(model)).eval()
        except InputError as e:
            why.append(f"{m.name}: {e}")
    raise InputError(f"{model} is no model painterly can export ({'; '.join(why)})")


#: The oldest opset the network exports to: its reflection padding takes sizes known at run time.
MIN_OPSET = 11


def opset_range() -> tuple[int, int]:
    """(oldest, newest) ONNX opset `export_onnx` accepts with this PyTorch."""
    try:
        from torch.onnx._constants import ONNX_MAX_OPSET as hi
    except ImportError:   # private module moved: the newest opset known to work here
        hi = 20
    return MIN_OPSET, int(hi)


def export_onnx(model: Union[str, os.PathLike], path: Union[str, os.PathLike], opset: int = 17,
                check: bool = True) -> dict:
    """Write `model` as ONNX with dynamic batch/height/width (input `image`, RGB [0, 1], NCHW) and,
    when `check`, compare onnxruntime's output with PyTorch's on a random image."""
    path = Path(path)
    lo, hi = opset_range()
    if not (isinstance(opset, int) and lo <= opset <= hi):
        raise OptionError("opset", f"{opset} is not supported: use {lo} to {hi} (the network pads by sizes "
                         f"known only at run time, which needs opset {MIN_OPSET}; default 17)")
    images.check_output_path(path, {".onnx"})
    net = load_network(model)
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".onnx", dir=path.parent)
    except OSError as e:
        raise images.write_error(path, e) from None
    os.close(fd)
    try:
        try:
            import onnxruntime  # noqa: F401 - checked before the slow export
        except ImportError:
            if check:
                raise OptionError("check", "needs onnxruntime: pip install 'painterly[onnx]' (or export without "
                                           "the check)") from None
        with warnings.catch_warnings():   # the exporter's notes on instance norm and constant folding
            warnings.simplefilter("ignore", UserWarning)
            torch.onnx.export(net, (x,), tmp, input_names=["image"], output_names=["stylized"],
                              opset_version=opset, dynamo=False,
                              dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                            "stylized": {0: "batch", 2: "height", 3: "width"}})
        out = {"path": path, "bytes": os.path.getsize(tmp), "opset": opset}
        if check:
            out["max_abs_diff"] = compare(net, tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise images.write_error(path, e) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def compare(net: torch.nn.Module, onnx_path: Union[str, os.PathLike], size: tuple[int, int] = (150, 222)) -> float:
    """Largest absolute difference between PyTorch and onnxruntime on a random image of `size`
    (deliberately not the export size, to exercise the dynamic axes)."""
    import onnxruntime as ort
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        want = net(x).numpy()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": x.numpy()})[0]
    return float(np.abs(got - want).max())
