"""Stopping a run from outside: Ctrl-C (SIGINT) and SIGTERM (what servers and batch schedulers
send) both end up as a KeyboardInterrupt, which every long loop already turns into "keep what
exists"; and a critical section (a checkpoint being written) that neither can cut short."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled wherever Ctrl-C is."""


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """While the block runs, SIGTERM raises `Terminated`, so that whatever saves on Ctrl-C also
    saves when the job is stopped. Main thread only (signal handlers live there); else a no-op."""
    if not _main_thread():
        yield
        return

    def _raise(signum, frame):
        raise Terminated(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """Hold back Ctrl-C and SIGTERM while the block runs; they take effect right after it.
    POSIX main thread only; elsewhere a no-op."""
    if not hasattr(signal, "pthread_sigmask") or not _main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
