"""Choose the torch device once: CUDA when present, else CPU; an explicit choice is checked."""

from __future__ import annotations

import torch

from .errors import InputError


def pick_device(name: str | None = "auto") -> str:
    """'auto' -> 'cuda' if available else 'cpu'; 'cuda', 'cuda:N', 'mps', 'cpu' are validated."""
    if name in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"--device {name}: no CUDA GPU is visible here; use --device cpu")
        try:
            idx = torch.device(name).index
        except RuntimeError:
            raise InputError(f"--device '{name}' is not a device name (try cuda, cuda:0 or cpu)") from None
        if idx is not None and idx >= torch.cuda.device_count():
            raise InputError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) visible")
        return name
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise InputError("--device mps: Apple's Metal backend is not available here; use --device cpu")
        return name
    if name == "cpu":
        return name
    raise InputError(f"--device '{name}' is not a device name: use auto, cpu, cuda, cuda:N or mps")


def free_memory_bytes(device: str) -> int | None:
    """Memory free for tensors on `device` (MemAvailable for the CPU), or None if unknown."""
    if device.startswith("cuda"):
        return torch.cuda.mem_get_info(torch.device(device))[0]
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None
