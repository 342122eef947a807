"""The server's settings and its one state object: the job queue, the jobs, the results, the workers.

Every router reads the same `WebState` (from `request.app.state.web`), so nothing a route needs
lives in a closure. Transfers run on their own pool of `concurrency` threads and uploads decode on
a second small pool: however many requests arrive, only that many threads ever hold image tensors
(each extra thread that touches them grows the heap with a malloc arena of its own).
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

from fastapi import Request

from . import memory
from .jobs import JobBook, JobQueue, OutputStore

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """Server limits; every one is a `painterly serve` option."""

    concurrency: int = 1                    # transfers running at once
    max_waiting: int = 16                   # more requests than this waiting -> 503
    max_upload_bytes: int = 20 * 2**20      # per uploaded file
    max_pixels: int = 40_000_000            # per uploaded image
    max_size: int = 1024                    # largest output long side (and style side)
    max_steps: int = 1000
    max_video_bytes: int = 50 * 2**20       # per uploaded video
    max_video_seconds: float = 10.0         # longest video painted (read from its header)
    output_ttl: float = 3600.0              # seconds a result stays downloadable
    output_dir: Optional[Path] = None       # default: a fresh /tmp/painterly-web-*, removed at shutdown
    device: str = "auto"


class WebState:
    """What the routes share: settings, queue, job book, result store and the two worker pools."""

    def __init__(self, settings: Settings):
        self.settings = s = settings
        owned = s.output_dir is None
        folder = Path(tempfile.mkdtemp(prefix="painterly-web-")) if owned else Path(s.output_dir)
        self.queue = JobQueue(s.concurrency, s.max_waiting)
        self.book = JobBook(s.output_ttl)
        self.store = OutputStore(folder, s.output_ttl, owned=owned)
        self._transfers = ThreadPoolExecutor(s.concurrency, thread_name_prefix="painterly-transfer",
                                             initializer=memory.limit_threads,
                                             initargs=(memory.threads_per_transfer(s.concurrency),))
        self._decoders = ThreadPoolExecutor(2, thread_name_prefix="painterly-decode")

    async def in_transfer_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a transfer on the transfer pool. The last one of a burst (nothing else running or
        waiting) then gives the freed heap back to the system: trimming between the jobs of a burst
        would only make each next job fault the same pages in again (5x slower rounds)."""
        def job() -> T:
            try:
                return fn(*args)
            finally:
                if self.queue.running <= 1 and self.queue.waiting == 0:
                    memory.release()
        return await asyncio.get_running_loop().run_in_executor(self._transfers, job)

    async def in_decode_thread(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """Decode or check uploads on the small decode pool (off the event loop)."""
        return await asyncio.get_running_loop().run_in_executor(self._decoders, functools.partial(fn, *args, **kw))

    def close(self) -> None:
        """At shutdown: stop what runs, stop the pools, remove the results."""
        for j in self.book.all():
            j.stop.set()
            if j.task and not j.task.done():
                j.task.cancel()
        self._transfers.shutdown(wait=False, cancel_futures=True)
        self._decoders.shutdown(wait=False, cancel_futures=True)
        self.store.close()


def get_state(request: Request) -> WebState:
    """FastAPI dependency: the app's one `WebState`."""
    return request.app.state.web
