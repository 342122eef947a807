"""Server-side resource control: a bounded job queue, the jobs it runs, and an expiring result store.

The web page and the HTTP API run every transfer through one `JobQueue`, so parallel requests wait
for a free slot instead of exhausting memory, and a full queue is refused. A waiting job is a future
on the event loop, not a blocked thread: however many wait, the server's threads stay free for
/api/health, downloads and upload decoding.
"""

from __future__ import annotations

import asyncio
import io
import re
import secrets
import shutil
import threading
import time
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator, Optional

from PIL import Image

from .. import images


class QueueFull(RuntimeError):
    """More jobs are waiting than the server accepts."""


class JobQueue:
    """At most `concurrency` jobs run at once; at most `max_waiting` more wait for a slot.

    Waiters are futures of whichever event loop they came from (woken thread-safely), so the
    queue works across loops and never parks a thread.
    """

    def __init__(self, concurrency: int = 1, max_waiting: int = 16):
        self.concurrency, self.max_waiting = concurrency, max_waiting
        self._lock = threading.Lock()
        self._waiters: deque[asyncio.Future] = deque()
        self.running = 0

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def position(self, fut: Optional[asyncio.Future]) -> int:
        """1-based place of a waiting ticket in the queue (0: not waiting)."""
        with self._lock:
            try:
                return self._waiters.index(fut) + 1 if fut is not None else 0
            except ValueError:
                return 0

    def enter(self) -> Optional[asyncio.Future]:
        """Take a slot now (returns None) or a place in the queue (returns a future to await).
        Raises QueueFull when the queue is full. Call from the event loop."""
        with self._lock:
            if self.running < self.concurrency and not self._waiters:
                self.running += 1
                return None
            if len(self._waiters) >= self.max_waiting:
                raise QueueFull(f"the server is busy ({len(self._waiters)} jobs waiting): try again shortly")
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            return fut

    async def wait(self, ticket: Optional[asyncio.Future]) -> None:
        """Wait until `ticket` (from `enter`) owns a slot. If cancelled, gives its place or slot back."""
        if ticket is None:
            return
        try:
            await asyncio.shield(ticket)
        except asyncio.CancelledError:
            with self._lock:
                if ticket in self._waiters:
                    self._waiters.remove(ticket)
            # Still pending: `_grant` (if on its way) sees it cancelled and passes the slot on.
            # Already granted: the slot is ours, so give it back.
            if not ticket.cancel():
                self.release()
            raise

    def release(self) -> None:
        """Free a slot: hand it to the first waiter still waiting, else count it free."""
        with self._lock:
            while self._waiters:
                fut = self._waiters.popleft()
                if not fut.done():
                    fut.get_loop().call_soon_threadsafe(_grant, fut, self)
                    return
            self.running -= 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for the duration of a job; raises QueueFull if too many are waiting."""
        await self.wait(self.enter())
        try:
            yield
        finally:
            self.release()


def _grant(fut: asyncio.Future, q: JobQueue) -> None:
    if fut.done():          # its owner was cancelled meanwhile: the slot goes to the next one
        q.release()
    else:
        fut.set_result(None)


@dataclass
class Job:
    """One transfer as the page follows it: state, progress, the latest preview, the outcome."""

    id: str
    steps: int = 0                              # 0: one pass (no step count)
    state: str = "waiting"                      # waiting -> running -> done | failed | cancelled
    ticket: Optional[asyncio.Future] = None
    step: int = 0
    started: Optional[float] = None
    finished: Optional[float] = None
    preview: Optional[bytes] = None             # JPEG of the latest intermediate image
    preview_step: int = 0
    result: Optional[dict] = None
    error: Optional[str] = None
    stop: threading.Event = field(default_factory=threading.Event)
    task: Optional[asyncio.Task] = None
    created: float = field(default_factory=time.time)
    _last_preview: float = 0.0

    def on_step(self, step: int, _losses: dict) -> None:
        """Progress callback (worker thread). A Stop turns into Ctrl-C: the method keeps its best image."""
        self.step = step
        if self.stop.is_set():
            raise KeyboardInterrupt

    def on_image(self, step: int, tensor, every: float = 0.4) -> None:
        """Intermediate-image callback (worker thread): keep a JPEG at most every `every` seconds."""
        now = time.perf_counter()
        if now - self._last_preview < every and step < self.steps:
            return
        self._last_preview = now
        buf = io.BytesIO()
        images.tensor_to_pil(tensor.detach().cpu()).save(buf, "JPEG", quality=85)
        self.preview, self.preview_step = buf.getvalue(), step

    def finish(self) -> None:
        """The job is over: keep its outcome, let go of its task and its preview (memory)."""
        self.finished = time.perf_counter()
        self.task = None
        self.preview = None

    def status(self, queue: JobQueue) -> dict:
        """What the page polls: state, place in the queue, step, ETA, preview and the result."""
        elapsed = (self.finished or time.perf_counter()) - self.started if self.started else 0.0
        eta = None
        if self.state == "running" and self.steps and self.step:
            eta = elapsed / self.step * max(0, self.steps - self.step)
        return {"id": self.id, "state": self.state, "position": queue.position(self.ticket),
                "step": self.step, "steps": self.steps, "elapsed": round(elapsed, 2),
                "eta": None if eta is None else round(eta, 1),
                "preview": f"/api/jobs/{self.id}/preview?step={self.preview_step}" if self.preview else None,
                "result": self.result, "error": self.error}


class JobBook:
    """The jobs the page can follow, by id; finished ones are forgotten after `ttl` seconds."""

    def __init__(self, ttl: float = 3600.0, limit: int = 256):
        self.ttl, self.limit = ttl, limit
        self._jobs: dict[str, Job] = {}

    def new(self, steps: int) -> Job:
        self.sweep()
        job = Job(id=secrets.token_hex(12), steps=steps)
        self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> Optional[Job]:
        return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        return list(self._jobs.values())

    def sweep(self) -> None:
        now = time.time()
        done = [j for j in self._jobs.values() if j.state not in ("waiting", "running")]
        for j in done:
            if now - j.created > self.ttl or len(self._jobs) > self.limit:
                self._jobs.pop(j.id, None)


_NAME = re.compile(r"^[0-9a-f]{32}\.(png|mp4)$")


class OutputStore:
    """Results saved under random names in one folder and deleted `ttl` seconds after writing."""

    def __init__(self, folder: Path, ttl: float = 3600.0, owned: bool = False):
        self.folder, self.ttl, self.owned = Path(folder), ttl, owned
        self.folder.mkdir(parents=True, exist_ok=True)

    def put(self, img: Image.Image) -> str:
        """Save an image; returns its name (never derived from user input)."""
        self.sweep()
        name = secrets.token_hex(16) + ".png"
        images.save_image(img, self.folder / name)
        return name

    def new_path(self, suffix: str) -> Path:
        """A fresh random file name in the folder (a video being written, an upload being checked)."""
        return self.folder / (secrets.token_hex(16) + suffix)

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
        for p in [*self.folder.glob("*.png"), *self.folder.glob("*.mp4")]:
            try:
                if now - p.stat().st_mtime > self.ttl:
                    p.unlink()
                    n += 1
            except FileNotFoundError:
                pass
        return n

    def close(self) -> None:
        """At shutdown: remove the folder if the server made it, else only the results it wrote."""
        if self.owned:
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        for p in self.folder.iterdir():
            if _NAME.match(p.name) or ".upload" in p.name:
                p.unlink(missing_ok=True)
