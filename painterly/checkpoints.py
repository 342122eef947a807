"""Reading and writing painterly's files: training checkpoints and model files.

Model files and checkpoints are things people download and share, so they are read with
`torch.load(weights_only=True)`: tensors, plain containers (dict, list, tuple), numbers and
strings only; a pickle that would run code is refused before anything of it runs, with one line
that names the file. Everything painterly writes is plain types (the random state included),
so the restricted reader loads all of it. Checkpoints written before this module stored NumPy's
random state as an array; those arrays (and only they) are allowed too.

Writes go to a temporary file in the same folder and are renamed: never a half-written file.
"""

from __future__ import annotations

import os
import pickle
import random
import warnings
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch

from .errors import InputError

PathLike = Union[str, os.PathLike]


def save(state: dict, path: PathLike) -> Path:
    """torch.save into memory, then the bytes to a temporary file in the same folder, then rename:
    a full disk or a read-only folder is an OSError with its errno (one line naming the file),
    never the C++ writer's "[enforce fail at inline_container.cc]", and never a half-written file."""
    import io

    from .images import atomic_write_bytes, write_error
    path = Path(path)
    buf = io.BytesIO()
    torch.save(state, buf)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(path, e) from None
    return atomic_write_bytes(path, buf.getbuffer())


def _numpy_globals() -> list:
    """What an older checkpoint's NumPy random state needs: arrays of integers, nothing callable."""
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    return [_reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def load(path: PathLike, what: str = "checkpoint") -> Any:
    """torch.load(weights_only=True) on the CPU; one-line InputError for a missing, damaged or unsafe file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} {p} does not exist")
    try:
        with torch.serialization.safe_globals(_numpy_globals()), warnings.catch_warnings():
            # torch's own remarks on a foreign pickle ("Detected pickle protocol 4 ...", with its
            # site-packages path) would come before the one line that says what is wrong
            warnings.filterwarnings("ignore", category=UserWarning, module=r"torch(\.|$)")
            return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        msg = str(e)
        if "global" in msg.lower():    # a reference to a Python function or class: code, refused unrun
            raise InputError(f"{what} {p} contains Python objects that would run code when loaded; painterly "
                             "loads only weights and plain data: refused (is it a painterly file?)") from None
        raise InputError(f"{what} {p} cannot be read (damaged or not a PyTorch file): is it a painterly file?"
                         ) from None
    except Exception as e:  # noqa: BLE001 - torch raises many types for damaged files
        raise InputError(f"{what} {p} cannot be read ({type(e).__name__}): is it a painterly file?") from None


def half_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A module's weights on the CPU, floating point ones in half precision (half the file, same images)."""
    return {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
            for k, v in module.state_dict().items()}


def float_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def save_model_file(path: PathLike, fmt: str, module: torch.nn.Module, meta: dict, version: int = 1,
                    **fields: Any) -> Path:
    """A painterly model file: {format, version, **fields, state_dict (half), meta}, all plain types."""
    return save({"format": fmt, "version": version, **fields, "state_dict": half_state(module),
                 "meta": plain(meta)}, path)


def load_model_file(path: PathLike, fmt: str, what: str, hint: str = "") -> dict:
    """A model file's dict, checked to be `fmt` (InputError naming the file otherwise); its
    `state_dict` back in float32."""
    doc = load(path, what)
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise InputError(f"{what} {path} is not a {fmt} file{hint}")
    if not isinstance(doc.get("state_dict"), dict):
        raise InputError(f"{what} {path} is damaged: it holds no weights")
    return {**doc, "state_dict": float_state(doc["state_dict"]), "meta": doc.get("meta") or {}}


def plain(x: Any) -> Any:
    """`x` as plain types (dict, list, str, int, float, bool, None) for files read with weights_only."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    if isinstance(x, torch.Tensor) and x.numel() == 1:
        return x.item()
    if isinstance(x, np.generic):
        return x.item()
    return str(x)


# ----------------------------------------------------------------------------- random state

def rng_state() -> dict:
    """Every random generator a step may use, as plain types and tensors (so that a resumed run
    continues identically and the checkpoint loads with weights_only)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    out = {"python": random.getstate(),
           "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos), int(has_gauss),
                     float(cached)],
           "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict) -> None:
    """Restore `rng_state()` (also the older form with NumPy's state as an array)."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    keys = keys.numpy() if isinstance(keys, torch.Tensor) else np.asarray(keys)
    np.random.set_state((kind, keys.astype(np.uint32), int(pos), int(has_gauss), float(cached)))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def resume_state(path: PathLike, resume: bool, kind: str) -> Optional[dict]:
    """The checkpoint at `path` to continue from when `resume` (InputError if there is none, it is
    damaged or another trainer's), else None."""
    if not resume:
        return None
    state = load(path, "checkpoint to resume")
    if not isinstance(state, dict) or not isinstance(state.get("step"), int) or "rng" not in state:
        raise InputError(f"checkpoint {path} is not a painterly training checkpoint")
    if state.get("kind") != kind:
        raise InputError(f"checkpoint {path} was written by '{state.get('kind')}', not {kind}")
    return state
