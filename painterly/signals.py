"""Stopping a run from outside: Ctrl-C (SIGINT) and SIGTERM (what servers and batch schedulers
send) both end up as a KeyboardInterrupt, which every long loop already turns into "keep what
exists"; and a critical section (a checkpoint being written) that neither can cut short.

The command line stops on the first signal (`stop_once`): the ones after it, while what exists
is being saved, do not cut the saving short (a second Ctrl-C 50 ms after the first still ends
in one line and exit code 130); a third stops at once."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled wherever Ctrl-C is."""


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class _Stop:
    """Handler of a process that stops on the first Ctrl-C or SIGTERM: the first raises
    KeyboardInterrupt (`Terminated` for SIGTERM), the second is ignored (the first is being
    handled: files are being saved), a third ends the process at once with code 130."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum, frame):
        self.count += 1
        if self.count == 1:
            if signum == signal.SIGTERM:
                raise Terminated(f"signal {signum}")
            raise KeyboardInterrupt
        if self.count >= 3:
            with contextlib.suppress(OSError):
                sys.stderr.write("painterly: interrupted three times: stopped at once\n")
                sys.stderr.flush()
            os._exit(130)

    def done(self) -> None:
        """From now on (the process is exiting) a signal changes nothing."""
        self.count = max(self.count, 1)


def exit_at_once_on_signal() -> None:
    """Start-up (PyTorch still loading, nothing written yet): Ctrl-C or SIGTERM ends the process at
    once, with one line and exit code 130. (A KeyboardInterrupt raised inside the import of torch
    can be swallowed by its C code: the run then went on as if nothing happened, or failed with a
    traceback on a half-imported NumPy.) Main thread only."""
    if not _main_thread():
        return

    def _exit(signum, frame):
        with contextlib.suppress(OSError):
            os.write(2, b"painterly: interrupted\n")
        os._exit(130)
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, _exit)


@contextlib.contextmanager
def stop_once(restore: bool = True) -> Iterator[_Stop | None]:
    """While the block runs, the first SIGINT or SIGTERM raises KeyboardInterrupt (`Terminated`)
    and the next ones cannot interrupt the handling of it (see `_Stop`); nested uses share the
    outer handler. `restore=False` (a process's entry point, about to exit): signals are ignored
    afterwards, so one during the exit changes nothing. Main thread only; else a no-op."""
    current = signal.getsignal(signal.SIGINT) if _main_thread() else None
    if not _main_thread() or isinstance(current, _Stop):
        yield current if isinstance(current, _Stop) else None
        return
    stop = _Stop()
    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        stop.done()
        for s, handler in old.items():
            # at exit CPython resets Python-level handlers to the default (die by the signal) but
            # leaves "ignore" alone: a late Ctrl-C must not turn exit code 130 into a kill
            signal.signal(s, handler if restore else signal.SIG_IGN)


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """While the block runs, SIGTERM raises `Terminated`, so that whatever saves on Ctrl-C also
    saves when the job is stopped. Main thread only (signal handlers live there); else a no-op,
    as it is under `stop_once`, which handles SIGTERM already."""
    if not _main_thread() or isinstance(signal.getsignal(signal.SIGTERM), _Stop):
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
