"""What every engine shares: the options that choose one, the plan of a folder job (which photo
goes to which picture, which pictures already exist), the one per-item function both engines run
(decode -> the request's method through a prepared `Painter` -> atomic write), and the tally
the front ends report (the same summary and exit code whichever engine ran)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Optional, Union

from .. import images, storage
from ..errors import InputError, NotEnoughMemory
from ..options import OptionError
from ..pipeline import Painter, TooLarge
from ..request import Request
from .options import EngineOptions

@dataclass(frozen=True)
class Item:
    """One photo of a folder job and the picture it becomes (paths or URIs)."""

    source: str
    output: str


@dataclass(frozen=True)
class Outcome:
    """How one photo went: `done` (written) or `skipped` (the message says why); which worker painted it."""

    source: str
    output: str
    status: str
    message: str = ""
    seconds: float = 0.0
    worker: str = ""


@dataclass(frozen=True)
class FolderJob:
    """A planned folder run: the request, the photos to paint, and the pictures kept from an earlier run."""

    request: Request
    folder: str
    output: str
    items: tuple[Item, ...]
    kept: tuple[str, ...] = ()
    created: bool = False

    @property
    def total(self) -> int:
        return len(self.items) + len(self.kept)


@dataclass
class FolderResult:
    """How a folder run went: images written, the ones skipped with the reason, the pictures that
    were already there (kept), and whether it was interrupted."""

    output: Union[str, os.PathLike]
    total: int
    skipped: list[tuple[Any, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    written: int = 0
    interrupted: bool = False
    engine: str = "local"
    seconds: float = 0.0

    @property
    def done(self) -> int:
        """Pictures this run wrote."""
        return self.written


def output_name(relative: str) -> str:
    """The picture of the photo `sub/name.jpg`: `sub/name.png`."""
    return str(PurePosixPath(relative).with_suffix(".png"))


def plan_folder(folder: Union[str, os.PathLike], output: Union[str, os.PathLike], request: Request,
                overwrite: bool = False) -> FolderJob:
    """Every photo under `folder` (sub-folders mirrored under `output`), checked before any work:
    the output is a folder, two photos never share a picture, the style images are readable; with
    `overwrite` False, photos whose picture exists are left out (a rerun resumes)."""
    folder, output = str(folder), str(output)
    sources = storage.list_images(folder, "content")
    if PurePosixPath(output).suffix.lower() in images.SAVE_FORMATS and not (
            not storage.is_uri(output) and os.path.isdir(output)):
        raise InputError(f"the input {folder} is a folder, so -o must be a folder too, not {output}")
    for s in request.styles:   # from the header: a missing, unreadable or tiny style image before any work
        images.check_min_size(images.image_size(s, "style image"), images.label(s, "style image"))
    by_output: dict[str, str] = {}
    for src in sources:
        rel = output_name(storage.relative(src, folder))
        if rel in by_output:
            raise InputError(f"{by_output[rel]} and {src} would both be painted into "
                             f"{storage.join(output, rel)}: rename one of them")
        by_output[rel] = src
    created = storage.prepare_folder(output)
    storage.remove_partials(output)          # a killed run's unfinished writes
    there = set() if overwrite else storage.files_under(output)
    items = tuple(Item(src, storage.join(output, rel)) for rel, src in by_output.items() if rel not in there)
    kept = tuple(storage.join(output, rel) for rel in by_output if rel in there)
    return FolderJob(request, folder, output, items, kept, created)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def paint_item(painter: Painter, item: Item) -> Outcome:
    """The per-item function of every engine: decode the photo (a local copy of a remote one),
    paint it with the prepared painter, write the picture atomically. A problem with this photo is
    an `Outcome` with status `skipped`; a problem shared by every photo (an option, the memory)
    raises."""
    t0 = time.perf_counter()
    try:
        with storage.local_copy(item.source, "content image") as local:
            res = painter(local)
        storage.save_image(res.image, item.output)
    except InputError as e:
        if item.source not in str(e):     # not about this photo: about every photo
            raise
        return Outcome(item.source, item.output, "skipped", str(e), time.perf_counter() - t0, worker_name())
    return Outcome(item.source, item.output, "done", "", time.perf_counter() - t0, worker_name())


# ----------------------------------------------------------------------------- errors across processes

_ERRORS = {c.__name__: c for c in (InputError, NotEnoughMemory)}


def error_fields(e: InputError) -> dict:
    """An error raised on a worker as plain values (the driver raises it again: `raise_error`)."""
    if isinstance(e, OptionError):
        return {"kind": "TooLarge" if isinstance(e, TooLarge) else "OptionError", "field": e.field,
                "problem": e.problem, "refs": " ".join(e.refs)}
    return {"kind": type(e).__name__ if type(e).__name__ in _ERRORS else "InputError", "field": "",
            "problem": e.message, "refs": " ".join(e.refs)}


def raise_error(kind: str, field_: str, problem: str, refs: str = "") -> None:
    """Raise on the driver the error `error_fields` described (`refs`: the fields it mentions, space-separated)."""
    names = refs.split()
    if kind == "TooLarge":
        raise TooLarge(field_, problem, names)
    if kind == "OptionError":
        raise OptionError(field_, problem, names)
    raise _ERRORS.get(kind, InputError)(problem, names)


# ----------------------------------------------------------------------------- the tally

#: An engine: run(job, options, report) paints job.items, calling report(outcome) for each.
Engine = Callable[[FolderJob, EngineOptions, Callable[[Outcome], None]], None]


def run_job(job: FolderJob, engine: Engine, options: EngineOptions,
            progress: Optional[Callable[[int, int], None]] = None,
            on_skip: Optional[Callable[[Any, str], None]] = None,
            on_outcome: Optional[Callable[[Outcome], None]] = None,
            source_type: Callable[[str], Any] = str) -> FolderResult:
    """Run `job` on `engine` and count: `progress(done, total)` after each photo (pictures kept
    from an earlier run count as done from the start), `on_skip(photo, why)` for a bad photo.
    Ctrl-C stops the engine and returns what was done (`interrupted`); only complete pictures stay."""
    result = FolderResult(job.output, job.total, kept=list(job.kept), engine=options.engine)
    seen = [len(job.kept)]
    t0 = time.perf_counter()

    def report(o: Outcome) -> None:
        if o.status == "skipped":
            result.skipped.append((source_type(o.source), o.message))
            if on_skip:
                on_skip(source_type(o.source), o.message)
        else:
            result.written += 1
        seen[0] += 1
        if on_outcome:
            on_outcome(o)
        if progress:
            progress(seen[0], job.total)

    try:
        if job.items:
            engine(job, options, report)
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        storage.remove_partials(job.output)
        if job.created:
            storage.remove_if_empty(job.output)
        result.seconds = time.perf_counter() - t0
    return result


def first_good(painter: Painter, sources: Sequence[str]) -> Optional[Painter]:
    """The painter prepared on the first photo that can be read (engines ship it prepared);
    None when none can, or when preparing raises a problem of a photo."""
    for src in sources[:3]:
        try:
            with storage.local_copy(src, "content image") as local:
                return painter.prepare(local)
        except InputError as e:
            if src not in str(e):
                raise
    return None
