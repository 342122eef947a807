"""The Ray engine: a folder job on Ray Data workers, on this machine or a cluster.

The photos' paths (or URIs) become a dataset (`ray.data.from_items`, one block per task of
`batch_size` photos); `map_batches` runs a callable class, so each worker process receives the
request's painter ONCE (its styles decoded and the method prepared on the driver, shipped through
the object store with `ray.put`) and paints its photos with `base.paint_item`, the per-item
function of the local engine too: the pictures are byte-identical. Workers write their pictures
themselves (atomically); the driver only counts outcomes, so a progress bar covers the whole job.

A worker that dies is restarted by Ray Data and its task painted again (a picture that was
complete stays, one that was not was never renamed into place). Ctrl-C on the driver stops the
job. Without an address a local cluster is started for the job, reachable from 127.0.0.1 only,
and stopped after it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Optional

from .. import storage
from ..errors import InputError
from ..pipeline import Painter
from ..request import Request
from .base import FolderJob, Item, Outcome, error_fields, first_good, paint_item, raise_error, worker_name
from .options import EngineOptions

#: What each task returns per photo.
FIELDS = ("source", "output", "status", "message", "seconds", "worker", "kind", "field", "problem", "refs")


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise InputError("engine ray needs Ray: pip install 'painterly[ray]'") from None
    return ray


@contextlib.contextmanager
def _own_sigterm() -> Iterator[None]:
    """ray.init replaces the SIGTERM handler with sys.exit; painterly's (stop like Ctrl-C, keep what
    exists, exit code 130) is put back."""
    import signal
    import threading
    main = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGTERM) if main else None
    try:
        yield
    finally:
        if main and handler is not None:
            signal.signal(signal.SIGTERM, handler)


def start_local(num_cpus: Optional[int] = None, num_gpus: Optional[int] = None) -> Any:
    """Start a Ray cluster on this machine for this process, reachable from 127.0.0.1 only (no
    dashboard). Ray binds its servers to the node's address; outside Ray's multi-machine mode
    that address is the loopback one."""
    saved = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"     # read by the processes ray.init starts
    ray = _import_ray()
    from ray._private import ray_constants
    was, ray_constants.ENABLE_RAY_CLUSTER = ray_constants.ENABLE_RAY_CLUSTER, False
    try:     # ERROR while starting: not its notice that the cluster uses token authentication
        with _own_sigterm():
            return ray.init(address="local", num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False,
                            logging_level=logging.ERROR, log_to_driver=False)
    finally:
        logging.getLogger("ray").setLevel(logging.WARNING)
        ray_constants.ENABLE_RAY_CLUSTER = was
        if saved is None:
            os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
        else:
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = saved


@contextlib.contextmanager
def connected(options: EngineOptions) -> Iterator[Any]:
    """Ray, connected: to `options.address`, to the cluster this process is already connected to,
    or to a local one started here (and stopped when the block ends)."""
    ray = _import_ray()
    if ray.is_initialized():
        yield ray
        return
    if options.address:
        try:
            with _own_sigterm():
                ray.init(address=options.address, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as e:
            from ..options import OptionError
            raise OptionError("address", f"{options.address}: no Ray cluster answers there ({e})") from None
        try:
            yield ray
        finally:
            ray.shutdown()
        return
    start_local(num_cpus=max(os.cpu_count() or 1, options.workers or 1))
    try:
        yield ray
    finally:
        ray.shutdown()


def plan_workers(resources: dict, device: str, workers: Optional[int],
                 threads: Optional[int] = None) -> tuple[int, int, float, bool]:
    """(workers, torch threads per worker, CPUs each reserves, one GPU per worker?) for a cluster's
    resources: one worker per GPU when the cluster has GPUs and the request does not ask for the
    CPU, else one per CPU core; the CPUs are shared out among the workers as threads."""
    gpus = int(resources.get("GPU", 0))
    cpus = max(1, int(resources.get("CPU", 1)))
    use_gpu = gpus > 0 and (device == "auto" or device.startswith("cuda"))
    n = workers or (gpus if use_gpu else cpus)
    share = max(1, cpus // n)
    t = threads or (1 if use_gpu else share)
    return n, t, min(t, cpus / n), use_gpu


#: Largest file the request names (style image, mask, model) that travels with the painter.
MAX_SHIPPED_FILE = 256 * 2**20


def request_files(request: Request) -> dict[str, bytes]:
    """The local files a request names (style images, masks, file-valued options such as a model),
    with their bytes: they travel with the painter to workers on other machines."""
    out: dict[str, bytes] = {}

    def visit(v: Any) -> None:
        if isinstance(v, (tuple, list)):
            for x in v:
                visit(x)
        elif isinstance(v, (str, os.PathLike)) and not storage.is_uri(v) and os.path.isfile(v) \
                and os.path.getsize(v) <= MAX_SHIPPED_FILE:
            out[str(v)] = Path(v).read_bytes()
    visit(request.styles)
    for o in (request.transfer, request.options):
        for f in dataclasses.fields(o):
            visit(getattr(o, f.name))
    return out


def localised(request: Request, files: dict[str, bytes], where: str) -> Request:
    """The request with every shipped file that is missing on this machine written under `where`
    (same name, same bytes) and named there instead."""
    moved: dict[str, str] = {}
    for i, (path, data) in enumerate(sorted(files.items())):
        if not os.path.isfile(path):
            d = Path(where) / str(i)
            d.mkdir(parents=True, exist_ok=True)
            (d / Path(path).name).write_bytes(data)
            moved[path] = str(d / Path(path).name)
    if not moved:
        return request

    def swap(v: Any) -> Any:
        if isinstance(v, tuple):
            return tuple(swap(x) for x in v)
        if isinstance(v, (str, os.PathLike)) and str(v) in moved:
            return moved[str(v)]
        return v

    def swapped(o: Any) -> Any:
        changes = {f.name: swap(getattr(o, f.name)) for f in dataclasses.fields(o)}
        return dataclasses.replace(o, **{k: v for k, v in changes.items() if v is not getattr(o, k)})
    return dataclasses.replace(request, styles=swap(request.styles), transfer=swapped(request.transfer),
                               options=swapped(request.options))


class PaintBatch:
    """A Ray Data worker: receives the shipped painter once, then paints batches of photos."""

    def __init__(self, shipped: list, threads: int):
        import ray
        import torch
        torch.set_num_threads(threads)
        painter, files = ray.get(shipped[0])
        self._files = tempfile.TemporaryDirectory(prefix="painterly-request-")
        painter.request = localised(painter.request, files, self._files.name)
        self.painter: Painter = painter

    def __call__(self, batch: dict) -> dict:
        out: dict[str, list] = {k: [] for k in FIELDS}

        def add(**row: Any) -> None:
            for k in FIELDS:
                out[k].append(row.get(k, 0.0 if k == "seconds" else ""))
        for src, dst in zip(batch["source"], batch["output"]):
            item = Item(str(src), str(dst))
            try:
                o = paint_item(self.painter, item)
            except InputError as e:       # a problem of every photo: the driver stops the job
                add(source=item.source, output=item.output, status="fatal", **error_fields(e))
                break
            add(source=o.source, output=o.output, status=o.status, message=o.message, seconds=o.seconds,
                worker=o.worker)
        return out


def _quiet_data(ray: Any) -> None:
    """Ray Data reports through painterly's bar, not its own."""
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False


def run(job: FolderJob, options: EngineOptions, report: Callable[[Outcome], None]) -> None:
    """Paint `job` on Ray; `report` each outcome as its task ends (in the order tasks end)."""
    with connected(options) as ray:
        _quiet_data(ray)
        n, threads, cpus, use_gpu = plan_workers(ray.cluster_resources(), job.request.transfer.device,
                                                 options.workers, options.threads)
        painter = Painter(job.request)
        if not use_gpu or painter.device.startswith("cuda"):    # prepared here on the workers' kind of device,
            import torch                                        # with their threads (the sums' order)
            saved = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                painter = first_good(painter, [i.source for i in job.items]) or painter
            finally:
                torch.set_num_threads(saved)
        shipped = ray.put((painter, request_files(job.request)))
        items = [{"source": i.source, "output": i.output} for i in job.items]
        ds = ray.data.from_items(items, override_num_blocks=max(1, math.ceil(len(items) / options.batch_size)))
        ds = ds.map_batches(PaintBatch, fn_constructor_args=([shipped], threads), batch_size=options.batch_size,
                            compute=ray.data.ActorPoolStrategy(size=min(n, len(items)),
                                                               max_tasks_in_flight_per_actor=2),
                            num_cpus=cpus, num_gpus=1 if use_gpu else 0, batch_format="numpy")
        rows = iter(ds.iter_rows())
        try:
            for row in rows:
                if row["status"] == "fatal":
                    raise_error(str(row["kind"]), str(row["field"]), str(row["problem"]), str(row["refs"]))
                report(Outcome(str(row["source"]), str(row["output"]), str(row["status"]), str(row["message"]),
                               float(row["seconds"]), str(row["worker"])))
        finally:
            close = getattr(rows, "close", None)
            if close:
                close()


# ----------------------------------------------------------------------------- videos

def plan_segments(first: int, total: int, length: int, overlap: int) -> list[dict]:
    """Frames `first`..`total - 1` as segments of `length` frames, each with up to `overlap` frames
    before it that seed its temporal state."""
    return [{"first": a, "last": min(a + length, total) - 1, "overlap": min(overlap, a)}
            for a in range(first, total, length)]


class PaintSegments(PaintBatch):
    """A Ray Data worker for a video: the shipped painter once, then one segment per call
    (`video_paint.paint_segment`), returned as uint8 frames."""

    def __init__(self, shipped: list, threads: int, src: str, temporal: bool, consistency: float, start: float):
        super().__init__(shipped, threads)
        self.src, self.temporal, self.consistency, self.start = src, temporal, consistency, start

    def __call__(self, batch: dict) -> dict:  # type: ignore[override]
        import numpy as np

        from ..video_paint import paint_segment
        out: dict[str, list] = {"first": [], "frames": [], "worker": [], "kind": [], "field": [], "problem": []}
        for first, last, overlap in zip(batch["first"], batch["last"], batch["overlap"]):
            err = {"kind": "", "field": "", "problem": ""}
            frames = np.zeros((0, 1, 1, 3), np.uint8)
            try:
                if not os.path.exists(self.src):
                    raise InputError(f"video {self.src} is not on the machine of worker {worker_name()}: put it "
                                     "where every node reads it at the same path (a shared filesystem)")
                seg = paint_segment(self.painter.request, self.src, int(first), int(last), int(overlap),
                                    temporal=self.temporal, consistency=self.consistency, start=self.start,
                                    painter=self.painter)
                if seg:
                    frames = np.stack(seg)
            except InputError as e:
                err = error_fields(e)
            out["first"].append(int(first))
            out["frames"].append(frames)
            out["worker"].append(worker_name())
            for k, v in err.items():
                out[k].append(v)
        return out


def video_painter(options: EngineOptions) -> Callable:
    """A `paint` for `video_paint.stylize_video`: the frames from `first` on, in segments of
    `options.segment` frames painted by Ray workers (each seeded by `options.overlap` frames before
    it), yielded in order for the caller to write (with the audio)."""

    def paint(request: Request, frames: Any, first: int, video: Any, state: Any, painter: Painter) -> Iterator:
        import numpy as np
        segments = plan_segments(first, frames.expected, options.segment, options.overlap if video.temporal else 0)
        with connected(options) as ray:
            _quiet_data(ray)
            n, threads, cpus, use_gpu = plan_workers(ray.cluster_resources(), request.transfer.device,
                                                     options.workers, options.threads)
            shipped = ray.put((Painter(request), request_files(request)))
            ctx = ray.data.DataContext.get_current()
            ordered, ctx.execution_options.preserve_order = ctx.execution_options.preserve_order, True
            try:
                ds = ray.data.from_items(segments, override_num_blocks=len(segments))
                ds = ds.map_batches(PaintSegments, batch_size=1, batch_format="numpy",
                                    fn_constructor_args=([shipped], threads, str(frames.src), bool(video.temporal),
                                                         float(video.consistency), float(frames.start)),
                                    compute=ray.data.ActorPoolStrategy(size=min(n, len(segments)),
                                                                       max_tasks_in_flight_per_actor=2),
                                    num_cpus=cpus, num_gpus=1 if use_gpu else 0)
                rows = iter(ds.iter_rows())
                try:
                    for row in rows:
                        if row["kind"]:
                            raise_error(str(row["kind"]), str(row["field"]), str(row["problem"]))
                        for j, img in enumerate(np.asarray(row["frames"])):
                            yield int(row["first"]) + j, np.ascontiguousarray(img), state
                finally:
                    close = getattr(rows, "close", None)
                    if close:
                        close()
            finally:
                ctx.execution_options.preserve_order = ordered
    return paint
