"""Server-side resource control: a bounded job queue and an expiring store of results.

Both the web page and the HTTP API run every transfer through one `JobQueue`, so parallel
requests wait for a free slot instead of exhausting memory, and a full queue is refused.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from PIL import Image

from .. import images


class QueueFull(RuntimeError):
    """More jobs are waiting than the server accepts."""


class JobQueue:
    """At most `concurrency` jobs run at once; at most `max_waiting` more wait for a slot."""

    def __init__(self, concurrency: int = 1, max_waiting: int = 16):
        self.concurrency, self.max_waiting = concurrency, max_waiting
        self._slots = threading.Semaphore(concurrency)
        self._lock = threading.Lock()
        self.waiting = 0
        self.running = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the duration of a job; raises QueueFull if too many are waiting."""
        with self._lock:
            if self.waiting >= self.max_waiting:
                raise QueueFull(f"the server is busy ({self.waiting} jobs waiting): try again shortly")
            self.waiting += 1
        try:
            self._slots.acquire()
        finally:
            with self._lock:
                self.waiting -= 1
        with self._lock:
            self.running += 1
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
            self._slots.release()


_NAME = re.compile(r"^[0-9a-f]{32}\.png$")


class OutputStore:
    """Results saved under random names in one folder and deleted `ttl` seconds after writing."""

    def __init__(self, folder: Path, ttl: float = 3600.0):
        self.folder, self.ttl = Path(folder), ttl
        self.folder.mkdir(parents=True, exist_ok=True)

    def put(self, img: Image.Image) -> str:
        """Save an image; returns its name (never derived from user input)."""
        self.sweep()
        name = secrets.token_hex(16) + ".png"
        images.save_image(img, self.folder / name)
        return name

    def path(self, name: str) -> Optional[Path]:
        """The file for `name` if it is a well-formed, unexpired result name, else None."""
        self.sweep()
        if not _NAME.match(name):
            return None
        p = self.folder / name
        return p if p.is_file() else None

    def sweep(self) -> int:
        """Delete results older than the time-to-live; returns how many were removed."""
        now, n = time.time(), 0
        for p in self.folder.glob("*.png"):
            try:
                if now - p.stat().st_mtime > self.ttl:
                    p.unlink()
                    n += 1
            except FileNotFoundError:
                pass
        return n
