"""The torch device: chosen once (CUDA when present, else CPU; an explicit choice is checked),
how much memory it has free, one error for running out of it, whatever the allocator says, and
glibc told to give large freed blocks back (`return_freed_memory`)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import torch

from .errors import NotEnoughMemory
from .options import OptionError


def pick_device(name: str | None = "auto") -> str:
    """'auto' -> 'cuda' if available else 'cpu'; 'cuda', 'cuda:N', 'mps', 'cpu' are validated."""
    if name in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise OptionError("device", f"{name}: no CUDA GPU is visible here; use cpu")
        try:
            idx = torch.device(name).index
        except RuntimeError:
            raise OptionError("device", f"'{name}' is not a device name (try cuda, cuda:0 or cpu)") from None
        if idx is not None and idx >= torch.cuda.device_count():
            raise OptionError("device", f"{name}: only {torch.cuda.device_count()} GPU(s) visible")
        return name
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise OptionError("device", "mps: Apple's Metal backend is not available here; use cpu")
        return name
    if name == "cpu":
        return name
    raise OptionError("device", f"'{name}' is not a device name: use auto, cpu, cuda, cuda:N or mps")


def free_memory_bytes(device: str) -> int | None:
    """Memory that tensors on `device` may still take, or None if unknown. On the CPU: the least
    of MemAvailable, the container's limit (cgroup) less its use, and the address-space limit
    (`ulimit -v`) less what this process has mapped."""
    if device.startswith("cuda"):
        return torch.cuda.mem_get_info(torch.device(device))[0]
    if device != "cpu":
        return None
    found = [v for v in (_meminfo_available(), _cgroup_free(), _address_space_free()) if v is not None]
    return min(found) if found else None


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text.isdigit() else None   # cgroup v2 writes "max" for no limit
    except OSError:
        return None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _cgroup_free() -> int | None:
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        lim = _read_int(limit)
        if lim is not None and lim < 2**60:
            return max(0, lim - (_read_int(usage) or 0))
    return None


def _address_space_free() -> int | None:
    try:
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return max(0, soft - int(line.split()[1]) * 1024)
    except OSError:
        pass
    return soft


#: Freed blocks at least this large go straight back to the operating system (see below).
MMAP_THRESHOLD = 4 * 2**20
_M_MMAP_THRESHOLD = -3     # glibc's mallopt parameter number


@functools.lru_cache(maxsize=1)
def return_freed_memory() -> bool:
    """Make glibc hand large freed blocks back to the system at once (a fixed mmap threshold).

    By default glibc raises its mmap threshold each time a large block is freed, so the
    activations of one tile after another end up on the heap, where freed memory stays in the
    process: a 24 MP AdaIN run on tiles peaked at 2.5 GB for a working set of ~1.2 GB. With the
    threshold fixed at 4 MiB a 6 MP run peaked at 1.10 GB instead of 1.88 GB, at the same speed.
    Called once per process by the tiled runs; False where the C library is not glibc."""
    import ctypes
    import ctypes.util
    import sys
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False


def gib(n: float) -> str:
    """Bytes for people: '3.2 GiB', '180 MiB'."""
    if n >= 2**40:
        return f"{n / 2**40:,.0f} TiB"
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{max(1, round(n / 2**20))} MiB"


def check_memory(need: int, device: str, what: str, lower: str) -> None:
    """Refuse a run before it starts when it needs more than `device` has free: one line with
    what needs the memory, how much, and the option to lower (a field name)."""
    free = free_memory_bytes(device)
    if free is not None and need > free:
        raise NotEnoughMemory(f"{what} needs about {gib(need)} but only {gib(free)} is free on {device}: "
                              f"lower {{{lower}}}", refs=(lower,))


#: How allocators say they failed: PyTorch's CPU allocator, CUDA, MPS, NumPy, C libraries.
_OOM_WORDS = ("out of memory", "can't allocate memory", "cannot allocate memory", "defaultcpuallocator",
              "failed to allocate", "not enough memory", "std::bad_alloc", "mps backend out of memory")


def is_out_of_memory(e: BaseException) -> bool:
    """Whether `e` is an allocator failure, whatever its wording or type."""
    if isinstance(e, MemoryError):
        return True
    oom_type = getattr(torch, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(e, oom_type):
        return True
    if isinstance(e, (RuntimeError, OSError, ValueError)):
        msg = str(e).lower()
        return any(w in msg for w in _OOM_WORDS) or getattr(e, "errno", None) == 12   # ENOMEM
    return False


def out_of_memory(e: BaseException, lower: str = "size") -> NotEnoughMemory:
    """The one-line error for an allocator failure: how much was asked for, when the message says."""
    import re
    m = re.search(r"tried to allocate (\d+) bytes", str(e), re.I)
    asked = f" (an allocation of {gib(int(m.group(1)))} failed)" if m else ""
    m = m or re.search(r"tried to allocate ([\d.]+ [KMGT]i?B)", str(e), re.I)
    if m and not asked:
        asked = f" (an allocation of {m.group(1)} failed)"
    return NotEnoughMemory(f"out of memory{asked}: lower {{{lower}}}", refs=(lower,))


@contextlib.contextmanager
def memory_guard(lower: str = "size") -> Iterator[None]:
    """Turn any allocator failure inside the block into NotEnoughMemory (an InputError) that says to
    lower the option `lower` (a field name)."""
    try:
        yield
    except NotEnoughMemory:
        raise
    except BaseException as e:
        if is_out_of_memory(e):
            raise out_of_memory(e, lower) from None
        raise
