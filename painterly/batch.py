"""Runs over files: one image with its history and intermediate images, every image of a
folder, every frame of a video. Library functions (the CLI is one caller): no printing;
progress through callbacks; outputs written atomically; Ctrl-C keeps what exists.

Each takes one frozen `Request` (`painterly.request.make_request`; its `content` is replaced by
each photo or frame), or builds it from `run_stylize`'s keywords. A folder and a video are
painted by one `pipeline.Painter`, so the method is prepared once and identical photos give
identical pictures.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from . import images, storage
from .engines.base import FolderResult
from .engines.options import EngineOptions
from .errors import InputError
from .pipeline import Painter, StylizeResult, make_request, run
from .request import Request

PathLike = Union[str, os.PathLike]


def is_video(path: PathLike) -> bool:
    from .video import is_video
    return is_video(path)


def _request(request: Optional[Request], content: Any, styles: Sequence[Any], run_values: dict) -> Request:
    """The given request (with `content`), or one built from run_stylize's keywords."""
    if request is not None:
        if run_values:
            raise TypeError(f"give either a request or options, not both: {', '.join(sorted(run_values))}")
        return request.with_content(content) if content is not None else request
    return make_request(content, list(styles), **run_values)


def stylize_file(content: Optional[PathLike], styles: Sequence[PathLike] = (), output: PathLike = "",
                 history: Optional[PathLike] = None, save_every: int = 0, *, request: Optional[Request] = None,
                 callback: Optional[Callable[[int, dict], None]] = None, tile_callback: Optional[Callable] = None,
                 **options: Any) -> tuple[StylizeResult, Path]:
    """Stylise one image into `output`; with `history`, write per-step losses as JSON there; with
    `save_every` N, also OUT_stepN.ext every N steps (iterative methods). `request`, or
    `run_stylize`'s keywords in `options`."""
    req = _request(request, content, styles, options)
    out = images.check_output_path(output)
    inputs = _input_files(req)
    images.check_not_input(out, inputs)
    if history:
        check_history_path(history, out, inputs)

    def save_intermediate(step: int, img) -> None:
        images.save_image(img, out.with_name(f"{out.stem}_step{step:05d}{out.suffix}"))

    res = run(req, callback, save_intermediate if save_every else None, save_every, tile_callback)
    images.save_image(res.image, out)
    if history:
        write_history(history, res, req.content, req.styles, out)
    return res, out


def _input_files(req: Request) -> list[Any]:
    """Every file a request reads: the photo, the styles, the masks."""
    t = req.transfer
    return [req.content, *req.styles, *([t.mask] if t.mask is not None else []), *(t.style_masks or [])]


def check_history_path(history: PathLike, output: Path, inputs: Sequence[Any] = ()) -> Path:
    """The history file checked before the run (a folder, a missing or read-only folder, the
    output image or an input): OptionError naming the field `history`."""
    from .options import OptionError
    p = Path(history)
    if p.is_dir():
        raise OptionError("history", f"{p} is a folder: give a file name (e.g. {p / 'history.json'})")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OptionError("history", f"{p}: its folder {parent} does not exist: create it first")
    if not os.access(parent, os.W_OK):
        raise OptionError("history", f"{p}: its folder {parent} is not writable")
    if p.resolve() == output.resolve():
        raise OptionError("history", f"{p} is the output image too: give the history its own name (.json)")
    try:
        images.check_not_input(p, inputs)
    except InputError:
        raise OptionError("history", f"{p} is one of the inputs: choose another name") from None
    return p


def write_history(path: PathLike, res: StylizeResult, content: Any, styles: Sequence[Any], output: Any) -> Path:
    """The run's per-step losses and facts as JSON."""
    doc = {"content": str(content), "styles": [str(s) for s in styles], "output": str(output),
           "stopped": res.stopped, **res.info, "history": res.history}
    return images.atomic_write_text(path, json.dumps(doc, indent=1, default=str))


def stylize_folder(folder: PathLike, styles: Sequence[PathLike] = (), output: PathLike = "",
                   progress: Optional[Callable[[int, int], None]] = None,
                   on_skip: Optional[Callable[[Path, str], None]] = None, *, request: Optional[Request] = None,
                   engine: Union[str, EngineOptions] = "local", on_outcome: Optional[Callable] = None,
                   **options: Any) -> FolderResult:
    """Every image under `folder` into the folder `output` (OUT/name.png; sub-folders mirrored);
    both may be local paths or URIs (s3://..., `painterly.storage`). Unreadable photos are skipped
    (reported through `on_skip`); `progress(done, total)` after each. What every photo shares
    (style images, model, options, the output folder) fails once, first: an error that does not
    name the photo stops the run. Pictures already in `output` are kept (a rerun resumes) unless
    the engine options say `overwrite`. An output folder this run created and left empty is removed
    again. Ctrl-C stops the run with `interrupted` set; only complete pictures stay.

    `engine`: "local" (this process), "ray", or an `EngineOptions` (address, workers, batch_size,
    overwrite); `on_outcome(engines.base.Outcome)` after each photo. `request` (its content is
    each photo), or `run_stylize`'s keywords in `options`."""
    from .engines import base
    eng = EngineOptions(engine=engine) if isinstance(engine, str) else engine
    eng.validate()
    req = _request(request, None, styles, options)
    if not storage.is_uri(output):
        images.check_not_input(output, [folder, *req.styles])   # writing into the folder being read
    Painter(req)                                  # the method's checks, before anything is written
    job = base.plan_folder(folder, output, req, eng.overwrite)
    if eng.engine == "ray":
        from .engines import ray as chosen
    else:
        from .engines import local as chosen
    return base.run_job(job, chosen.run, eng, progress, on_skip, on_outcome,
                        source_type=lambda s: s if storage.is_uri(s) else Path(s))


def stylize_video(src: PathLike, dst: PathLike, styles: Sequence[PathLike] = (), progress: Optional[Callable] = None,
                  engine: Union[str, EngineOptions] = "local", **kw: Any):
    """A video (or a folder of frames) into a video or a folder of frames: `painterly.video_paint.stylize_video`.
    `engine` "ray" (or `EngineOptions(engine="ray", segment=..., overlap=...)`): segments of frames painted by
    Ray workers, each seeded by the frames before it, joined in order with the audio."""
    from .video_paint import stylize_video as paint
    eng = (EngineOptions(engine=engine) if isinstance(engine, str) else engine).validate()
    if eng.engine == "ray":
        from .engines.ray import video_painter
        kw["paint"] = video_painter(eng)
    return paint(src, dst, styles, progress, **kw)
