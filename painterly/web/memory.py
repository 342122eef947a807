"""Keeping a long-running server's memory flat: bounded malloc arenas, freed heap handed back.

A server that paints one request after another, from several threads, grew from 0.54 to 1.8 GB
and stayed there: glibc gives each thread that allocates its own arena (up to 8 per core), and
memory freed inside an arena stays in the process. Capping the arenas and trimming the heap after
each transfer keeps the resident size near what one transfer needs. Elsewhere both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
from typing import Optional

_M_ARENA_MAX = -8          # mallopt parameter (glibc malloc.h)
_libc: Optional[ctypes.CDLL] = None


def _glibc() -> Optional[ctypes.CDLL]:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            lib.malloc_trim            # glibc only (musl has none)
            _libc = lib
        except (OSError, AttributeError):
            return None
    return _libc


def bound_heap(arenas: int = 2) -> bool:
    """At server start: at most `arenas` malloc arenas and large blocks freed to the system at once
    (`painterly.device.return_freed_memory`). False where the C library is not glibc."""
    from ..device import return_freed_memory
    lib = _glibc()
    if lib is None:
        return False
    return bool(lib.mallopt(_M_ARENA_MAX, arenas)) and return_freed_memory()


def threads_per_transfer(concurrency: int) -> int:
    """The cores split between the transfers running at once, so parallel jobs do not oversubscribe the CPU."""
    return max(1, (os.cpu_count() or 1) // max(1, concurrency))


def limit_threads(n: int) -> None:
    """Worker-thread initializer: torch's intra-op threads for transfers run from this thread
    (OpenMP's count is per calling thread, so nothing else in the process changes)."""
    import torch
    torch.set_num_threads(n)


def release() -> None:
    """After a transfer: collect its reference cycles and give the freed heap back (malloc_trim)."""
    gc.collect()
    lib = _glibc()
    if lib is not None:
        lib.malloc_trim(0)


def rss_bytes(pid: Optional[int] = None) -> Optional[int]:
    """Resident set size of a process (default: this one) from /proc; None where there is none."""
    try:
        with open(f"/proc/{pid or os.getpid()}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
