"""Where a folder job reads its photos and writes its pictures: local paths, or any filesystem
pyarrow opens by URI (`s3://bucket/photos`, `gs://...`, `hdfs://...`, `file:///...`).

Both engines go through these functions, so a photo on S3 is painted exactly like a local one
(it is copied to a local temporary file first, and messages name its URI), and every picture is
written atomically: to a hidden temporary name beside the target, then moved over it (on S3 an
object only appears once its upload is complete). pyarrow is needed for URIs only; it comes
with `painterly[ray]`.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, Union

from . import images
from .errors import InputError

PathLike = Union[str, os.PathLike]

#: Largest remote file copied for decoding (bytes); the decoder checks the pixel count from the header.
MAX_REMOTE_BYTES = int(os.environ.get("PAINTERLY_MAX_REMOTE_BYTES", 2 * 2**30))
#: Temporary files of an unfinished write: `.NAME.<random>.part` beside NAME.
PARTIAL = re.compile(r"^\..+\.[^.]+\.part$")

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(where: Any) -> bool:
    """A `scheme://...` location (S3, GCS, HDFS, file://) rather than a local path."""
    return isinstance(where, str) and bool(_URI.match(where))


def join(root: PathLike, relative: str) -> str:
    """`root`/`relative` (a posix relative name) as a path or URI."""
    if is_uri(root):
        return str(root).rstrip("/") + "/" + relative
    return str(Path(root) / relative)


@functools.lru_cache(maxsize=16)
def _filesystem(prefix: str) -> Any:
    """pyarrow's filesystem for a URI's `scheme://authority` (cached: one S3 client per process)."""
    try:
        from pyarrow import fs
    except ImportError:
        raise InputError(f"{prefix} paths need pyarrow: pip install 'painterly[ray]'") from None
    try:
        return fs.FileSystem.from_uri(prefix + "/")[0]
    except Exception as e:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError ... for unknown schemes
        raise InputError(f"cannot open {prefix} ({e})") from None


def _open(uri: str) -> tuple[Any, str]:
    """(pyarrow filesystem, path inside it) of a URI."""
    from pyarrow import fs  # noqa: F401 - _filesystem reports a missing pyarrow in one line
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/]*)(.*)$", uri)
    prefix, rest = m.group(1), m.group(2)
    filesystem = _filesystem(prefix)
    if prefix.lower().startswith("file://"):
        return filesystem, rest or "/"
    return filesystem, (prefix.split("://", 1)[1] + rest).rstrip("/")


def list_images(folder: PathLike, what: str = "content") -> list[str]:
    """The image files under `folder` (recursive, sorted) as paths or URIs; InputError when there are none."""
    if not is_uri(folder):
        return [str(p) for p in images.list_images(folder, what)]
    from pyarrow import fs
    filesystem, base = _open(str(folder))
    info = filesystem.get_file_info(base)
    if info.type != fs.FileType.Directory:
        raise InputError(f"{what} folder {folder} does not exist or is not a folder")
    found = sorted(i.path[len(base):].lstrip("/") for i in filesystem.get_file_info(fs.FileSelector(base, recursive=True))
                   if i.type == fs.FileType.File and PurePosixPath(i.path).suffix.lower() in images.IMAGE_SUFFIXES
                   and not PurePosixPath(i.path).name.startswith("."))
    if not found:
        raise InputError(f"{what} folder {folder} holds no images ({', '.join(sorted(images.IMAGE_SUFFIXES))})")
    return [join(folder, r) for r in found]


def relative(source: str, root: PathLike) -> str:
    """`source` relative to `root`, as a posix name (`sub/photo.jpg`)."""
    if is_uri(root):
        return source[len(str(root).rstrip("/")) + 1:]
    return Path(source).relative_to(Path(root)).as_posix()


def files_under(root: PathLike) -> set[str]:
    """Relative posix names of the complete files under `root` (outputs already there); empty when it is missing."""
    if not is_uri(root):
        base = Path(root)
        if not base.is_dir():
            return set()
        return {p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file() and not PARTIAL.match(p.name)}
    from pyarrow import fs
    filesystem, base = _open(str(root))
    if filesystem.get_file_info(base).type != fs.FileType.Directory:
        return set()
    return {i.path[len(base):].lstrip("/") for i in filesystem.get_file_info(fs.FileSelector(base, recursive=True))
            if i.type == fs.FileType.File and not PARTIAL.match(PurePosixPath(i.path).name)}


def prepare_folder(root: PathLike) -> bool:
    """Create the output folder (if needed) and check that it can be written; True when this call created it."""
    if not is_uri(root):
        created = not Path(root).exists()
        images.prepare_output_folder(root)
        return created
    from pyarrow import fs
    filesystem, base = _open(str(root))
    info = filesystem.get_file_info(base)
    if info.type == fs.FileType.File:
        raise InputError(f"-o {root} is an existing file, not a folder: choose a folder name")
    try:
        filesystem.create_dir(base, recursive=True)
    except OSError as e:
        raise InputError(f"-o {root}: cannot write there ({e}): choose another folder") from None
    return info.type == fs.FileType.NotFound


def remove_if_empty(root: PathLike) -> None:
    """Remove an output folder this run created and left empty (local folders; object stores have none)."""
    if not is_uri(root):
        p = Path(root)
        if p.is_dir() and not any(p.iterdir()):
            p.rmdir()


def remove_partials(root: PathLike) -> int:
    """Delete the temporary files of writes that never finished (a worker killed mid-write); how many."""
    n = 0
    if not is_uri(root):
        base = Path(root)
        for p in (base.rglob(".*.part") if base.is_dir() else ()):
            if PARTIAL.match(p.name):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
                    n += 1
        return n
    from pyarrow import fs
    filesystem, base = _open(str(root))
    if filesystem.get_file_info(base).type != fs.FileType.Directory:
        return 0
    for i in filesystem.get_file_info(fs.FileSelector(base, recursive=True)):
        if i.type == fs.FileType.File and PARTIAL.match(PurePosixPath(i.path).name):
            with contextlib.suppress(FileNotFoundError, OSError):
                filesystem.delete_file(i.path)
                n += 1
    return n


def _retell(e: InputError, tmp: str, uri: str) -> InputError:
    """The same error naming the URI instead of the local copy."""
    msg = str(e).replace(tmp, uri)
    try:
        return type(e)(msg)
    except TypeError:          # an error class built from parts (OptionError): it names no file
        return e


@contextlib.contextmanager
def local_copy(source: str, what: str = "content image") -> Iterator[str]:
    """A local path for `source`: itself, or a temporary copy of a remote file (removed afterwards);
    errors raised inside name `source`, not the copy."""
    if not is_uri(source):
        yield source
        return
    from pyarrow import fs
    filesystem, path = _open(source)
    info = filesystem.get_file_info(path)
    label = f"{what} '{source}'"
    if info.type != fs.FileType.File:
        raise InputError(f"{label} not found: check the path")
    if info.size > MAX_REMOTE_BYTES:
        raise InputError(f"{label} is too large ({info.size / 2**20:.0f} MiB; limit {MAX_REMOTE_BYTES / 2**20:.0f} MiB): "
                         "downscale it first or raise PAINTERLY_MAX_REMOTE_BYTES")
    with tempfile.TemporaryDirectory(prefix="painterly-in-") as d:
        tmp = os.path.join(d, PurePosixPath(path).name)
        try:
            with filesystem.open_input_stream(path) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except OSError as e:
            raise InputError(f"{label} cannot be read ({e})") from None
        try:
            yield tmp
        except InputError as e:
            raise _retell(e, tmp, source) from None


def save_image(img: Any, target: str) -> str:
    """Write a picture atomically to a path or URI (its suffix picks the format)."""
    if not is_uri(target):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        return str(images.save_image(img, target))
    fmt = images.SAVE_FORMATS.get(PurePosixPath(target).suffix.lower())
    if fmt is None:
        raise InputError(f"output '{target}' has an unsupported extension: use one of "
                         + ", ".join(sorted(images.SAVE_FORMATS)))
    if not hasattr(img, "save"):
        img = images.tensor_to_pil(img)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    filesystem, path = _open(target)
    parent, name = path.rsplit("/", 1) if "/" in path else ("", path)
    tmp = f"{parent}/.{name}.{uuid.uuid4().hex[:8]}.part"
    try:
        filesystem.create_dir(parent, recursive=True)
        with filesystem.open_output_stream(tmp) as out:
            out.write(buf.getvalue())
        filesystem.move(tmp, path)
    except OSError as e:
        with contextlib.suppress(Exception):
            filesystem.delete_file(tmp)
        raise InputError(f"cannot write {target} ({e})") from None
    except BaseException:
        with contextlib.suppress(Exception):
            filesystem.delete_file(tmp)
        raise
    return target
