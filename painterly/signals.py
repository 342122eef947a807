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
    """Hold back Ctrl-C and SIGTERM while the block runs (a checkpoint being written): they are
    noted, and handled as usual right after it. Main thread only; elsewhere a no-op. (Handlers,
    not a signal mask: the kernel may hand a signal to any of torch's threads.)"""
    if not _main_thread():
        yield
        return
    pending: list[int] = []

    def note(signum, frame):
        pending.append(signum)

    old = {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if pending:
            handler = old[pending[0]]
            if callable(handler):
                handler(pending[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(pending[0])
