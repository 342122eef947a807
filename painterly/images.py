"""Image I/O: decode any common photo into a float RGB tensor, validate it, save atomically.

Everything that touches pixels on disk lives here, so every method and front end gets the same
handling of EXIF rotation, odd modes (greyscale, RGBA, palette, CMYK, 16-bit) and bad files.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Union
from collections.abc import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError

ImageLike = Union[str, os.PathLike, Image.Image, torch.Tensor, np.ndarray]

#: Smallest side we accept: VGG pools 4 times before conv5_1, so 16 px is the hard floor.
MIN_SIDE = 16
#: Largest decoded image we accept by default (pixels); guards against decompression bombs.
#: `PAINTERLY_MAX_PIXELS` overrides it (read by `max_pixels` at each decode).
MAX_PIXELS = 150_000_000
#: Output formats we can write, by file suffix.
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
                ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}


def max_pixels() -> int:
    """The pixel limit: `PAINTERLY_MAX_PIXELS` when set (a whole number >= 1, e.g. 150000000 or
    1.5e8), else `MAX_PIXELS`; any other value is one InputError naming the variable."""
    raw = os.environ.get("PAINTERLY_MAX_PIXELS", "").strip()
    if not raw:
        return MAX_PIXELS
    try:
        v = float(raw)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v >= 1 and v == int(v)):
        raise InputError(f"PAINTERLY_MAX_PIXELS must be a whole number of pixels, at least 1 (e.g. 150000000), "
                         f"got '{raw}'")
    return int(v)


def _check_file(p: Path, label: str) -> None:
    if not p.exists():
        raise InputError(f"{label} not found: check the path")
    if p.is_dir():
        raise InputError(f"{label} is a folder, not an image file")
    if p.stat().st_size == 0:
        raise InputError(f"{label} is empty (0 bytes): re-export or re-download it")


def open_image(path: str | os.PathLike, what: str = "image", long_side: int | None = None) -> Image.Image:
    """Open and decode an image file as 8-bit RGB, upright per its EXIF orientation.

    `what` names the role of the file ("content image", "style image") in error messages. With
    `long_side`, a much larger file is decoded at reduced size (JPEG's DCT scaling, else Pillow's
    `reduce`), never below twice `long_side`, so that a 100-megapixel photo for a small output
    costs megabytes instead of gigabytes; callers still resize to the exact size.
    """
    p = Path(path)
    label = f"{what} '{p}'"
    _check_file(p, label)
    return _decode(p, label, long_side=long_side)


def image_size(src: "ImageLike", what: str = "image") -> tuple[int, int]:
    """(width, height) as `load_image` would return it (EXIF rotation applied), reading only the
    header of a file: lets a run estimate its memory before decoding anything."""
    if isinstance(src, torch.Tensor):
        return int(src.shape[-1]), int(src.shape[-2])
    if isinstance(src, np.ndarray):
        return int(src.shape[1]), int(src.shape[0])
    if isinstance(src, Image.Image):
        return src.size
    w, h, _, _ = _probe(Path(src), what)
    return w, h


def _probe(p: Path, what: str) -> tuple[int, int, str, str]:
    """(width, height, format, mode) of an image file from its header, EXIF rotation applied."""
    label = f"{what} '{p}'"
    _check_file(p, label)
    with _opened(p, label) as im:
        w, h = im.size
        if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):   # rotated by 90 degrees
            w, h = h, w
        return w, h, im.format or "", im.mode


def decode_memory(src: "ImageLike", long_side: int | None = None, what: str = "image") -> int:
    """Peak bytes of `load_image(src, what, long_side)`, from the file's header alone."""
    if not isinstance(src, (str, os.PathLike)):
        w, h = image_size(src)
        return w * h * 12            # one float copy of an image already in memory
    w, h, fmt, mode = _probe(Path(src), what)
    rw, rh = reduced_size(w, h, long_side)
    if fmt == "JPEG":                # DCT scaling decodes at 1/2, 1/4 or 1/8 of the size
        scale = min(8, 1 << (_reduce_factor(w, h, long_side).bit_length() - 1))
        full = w * h * 3 // scale ** 2
    else:                            # decoded at full size, then reduced
        full = w * h * (4 if mode in ("1", "L", "P", "RGB", "RGBA", "LA", "PA", "CMYK", "YCbCr") else 12)
    return full + rw * rh * DECODE_BYTES_PER_PIXEL


def reduced_size(w: int, h: int, long_side: int | None) -> tuple[int, int]:
    """The size an image of (w, h) is decoded at for an output long side `long_side`: halved
    while it stays at least twice `long_side` (what `open_image` does), else (w, h)."""
    f = _reduce_factor(w, h, long_side)
    return -(-w // f), -(-h // f)


def _reduce_factor(w: int, h: int, long_side: int | None) -> int:
    if not long_side or long_side <= 0:
        return 1
    return max(1, max(w, h) // (2 * long_side))


def decode_bytes(data: bytes, what: str = "image", max_pixels: int | None = None) -> Image.Image:
    """Decode an uploaded image (bytes) with the same checks as a file; `what` names it in errors."""
    if not data:
        raise InputError(f"{what} is empty (0 bytes)")
    return _decode(io.BytesIO(data), what, max_pixels)


@contextlib.contextmanager
def _opened(src, label: str, limit: int | None = None) -> Iterator[Image.Image]:
    """Image.open with every way a file can be bad turned into one InputError naming it: not an
    image, corrupt or truncated, larger than the pixel limit (checked from the header, before
    any decoding)."""
    ceiling = max_pixels()
    limit = limit or ceiling
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = ceiling
            with Image.open(src) as im:
                w, h = im.size
                if w * h > limit:
                    raise InputError(
                        f"{label} is too large ({w}x{h} = {_mp(w * h)} MP; limit "
                        f"{_mp(limit)} MP): downscale it first or raise PAINTERLY_MAX_PIXELS")
                yield im
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"{label} is too large (over {_mp(ceiling)} MP; possible "
                         "decompression bomb): downscale it first or raise PAINTERLY_MAX_PIXELS") from None
    except UnidentifiedImageError:
        raise InputError(f"{label} is not an image format painterly can read "
                         "(use PNG, JPEG, WebP, BMP, TIFF or GIF)") from None
    except (OSError, SyntaxError, ValueError) as e:
        if isinstance(e, InputError):
            raise
        raise InputError(f"{label} is corrupt or truncated ({e}): re-export or re-download it") from None


def _mp(pixels: int) -> str:
    """Megapixels for a message: whole ones from 10 MP, else two significant digits (never '-0')."""
    return f"{pixels / 1e6:.0f}" if pixels >= 10e6 else f"{pixels / 1e6:.2g}"


def _decode(src, label: str, limit: int | None = None, long_side: int | None = None) -> Image.Image:
    with _opened(src, label, limit) as im:
        w, h = im.size
        factor = _reduce_factor(w, h, long_side)
        if factor > 1 and im.format == "JPEG":
            # DCT scaling by 1/2, 1/4 or 1/8: never smaller than the size asked for.
            im.draft("RGB", (-(-w // factor), -(-h // factor)))
        im.load()
        factor = _reduce_factor(*im.size, long_side)
        if factor > 1:
            if im.mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            try:
                im = im.reduce(factor)
            except ValueError:   # a mode reduce() does not handle (e.g. 16-bit): full size
                pass
        im = ImageOps.exif_transpose(im)
        return to_rgb(im)


def to_rgb(im: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB: alpha is composited on white, 16-bit is rescaled."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        if im.mode == "F":
            hi = max(float(a.max()), 1.0) if a.max() > 1.0 else 1.0
        a = np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(a, "L").convert("RGB")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, im).convert("RGB")
    if im.mode == "CMYK":
        # Pillow's CMYK->RGB ignores ICC profiles; good enough for a style or content input.
        return im.convert("RGB")
    return im.convert("RGB")


#: Peak bytes per decoded pixel of `load_image`: the 8-bit RGB image (3), its array (3) and the
#: float tensor (12).
DECODE_BYTES_PER_PIXEL = 18


def pil_to_tensor(im: Image.Image) -> torch.Tensor:
    """PIL RGB image -> float32 tensor (1, 3, H, W) in [0, 1] (one float copy, no more)."""
    a = torch.from_numpy(np.array(to_rgb(im), dtype=np.uint8))
    t = a.permute(2, 0, 1).unsqueeze(0).to(torch.float32, memory_format=torch.contiguous_format)
    return t.div_(255.0)


def tensor_to_pil(t: torch.Tensor) -> Image.Image:
    """Float tensor (1, 3, H, W) or (3, H, W) in [0, 1] -> PIL RGB image (values clamped).
    Converted in bands of rows, so a print-size image needs no extra float copies of itself."""
    if t.dim() == 4:
        if t.shape[0] != 1:
            raise ValueError("tensor_to_pil takes a single image, got a batch of %d" % t.shape[0])
        t = t[0]
    t = t.detach()
    h, w = t.shape[-2:]
    a = np.empty((h, w, 3), dtype=np.uint8)
    band = max(1, 2**20 // max(1, w))
    for r in range(0, h, band):
        a[r:r + band] = (t[:, r:r + band].float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0
                         + 0.5).astype(np.uint8)
    return Image.fromarray(a, "RGB")


def load_uint8(src: ImageLike, what: str = "image", size: tuple[int, int] | None = None,
               long_side: int | None = None) -> torch.Tensor:
    """Like `load_image` resized to `size` = (h, w), but as a uint8 (1, 3, H, W) tensor made by
    PIL (bicubic): a 24 MP image costs 72 MB, not several float copies of 288 MB. `long_side`
    (without `size`): decode a much larger file at reduced size, as `load_image` does."""
    if isinstance(src, torch.Tensor) and src.dtype == torch.uint8:
        if size is None or tuple(src.shape[-2:]) == tuple(size):
            return src
        src = Image.fromarray(src.reshape(3, *src.shape[-2:]).permute(1, 2, 0).numpy())
    if isinstance(src, (torch.Tensor, np.ndarray)):
        t = load_image(src, what)
        if size is not None:
            t = resize(t, size)
        return (t * 255.0 + 0.5).to(torch.uint8)
    if size is not None:
        long_side = max(size)
    im = to_rgb(src) if isinstance(src, Image.Image) else open_image(src, what, long_side)
    if size is not None and (im.height, im.width) != tuple(size):
        im = im.resize((size[1], size[0]), Image.BICUBIC, reducing_gap=3.0)
    return torch.from_numpy(np.array(im)).permute(2, 0, 1).unsqueeze(0)



def load_image(src: ImageLike, what: str = "image", long_side: int | None = None) -> torch.Tensor:
    """Anything image-like (path, PIL image, HxWx3 uint8 array, tensor) -> (1, 3, H, W) float in [0, 1].

    `long_side`: the size the caller will resize to; a much larger file is decoded at reduced size
    (see `open_image`). The result is not resized to exactly `long_side`."""
    if isinstance(src, torch.Tensor):
        t = src.detach().float()
        if t.dim() == 3:
            t = t.unsqueeze(0)
        if t.dim() != 4 or t.shape[1] != 3:
            raise InputError(f"{what} tensor must have shape (3, H, W) or (1, 3, H, W), got {tuple(src.shape)}")
        return t.clamp(0, 1)
    if isinstance(src, np.ndarray):
        a = src
        if a.dtype != np.uint8:
            a = np.clip(a * 255.0 if a.max() <= 1.0 else a, 0, 255).astype(np.uint8)
        return pil_to_tensor(Image.fromarray(a))
    if isinstance(src, Image.Image):
        return pil_to_tensor(src)
    return pil_to_tensor(open_image(src, what, long_side))


def fit_size(h: int, w: int, long_side: int | None) -> tuple[int, int]:
    """(h, w) scaled so that the longer side equals `long_side` (None keeps the size)."""
    if not long_side:
        return h, w
    s = long_side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def resize(t: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize (N, 3, H, W) to `size` = (h, w) with antialiasing when shrinking."""
    if tuple(t.shape[-2:]) == tuple(size):
        return t
    return F.interpolate(t, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)


def resize_long_side(t: torch.Tensor, long_side: int | None) -> torch.Tensor:
    """Resize so the longer side is `long_side` pixels, keeping the aspect ratio."""
    return resize(t, fit_size(t.shape[-2], t.shape[-1], long_side))


def label(src: "ImageLike", what: str) -> str:
    """How messages name an input: "content image 'photo.jpg'" for a file, else `what`."""
    return f"{what} '{src}'" if isinstance(src, (str, os.PathLike)) else what


def check_min_size(t: torch.Tensor | tuple[int, int], what: str, min_side: int = MIN_SIDE) -> None:
    """Raise InputError if the image (a tensor, or its (width, height)) is smaller than the
    encoder can handle; `what` names it (see `label`)."""
    w, h = (t.shape[-1], t.shape[-2]) if isinstance(t, torch.Tensor) else t
    if min(h, w) < min_side:
        raise InputError(f"{what} is too small ({w}x{h}): needs at least {min_side} px on each side "
                         "(use a larger image or a larger {size})", refs=("size",))


def check_output_path(path: str | os.PathLike, suffixes: Iterable[str] | None = None) -> Path:
    """Validate an output path before any work is done: known suffix (image formats unless
    `suffixes` says otherwise), existing writable folder."""
    p = Path(path)
    allowed = set(SAVE_FORMATS if suffixes is None else suffixes)
    if p.suffix.lower() not in allowed:
        raise InputError(f"output '{p}' has an unsupported extension '{p.suffix}': use one of "
                         + ", ".join(sorted(allowed)))
    if p.is_dir():
        ext = p.suffix if p.suffix.lower() in allowed else sorted(allowed)[0]
        raise InputError(f"output '{p}' is a folder: give a file name (e.g. {p / ('out' + ext)})")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output folder '{parent}' does not exist: create it first")
    if not os.access(parent, os.W_OK):
        raise InputError(f"output folder '{parent}' is not writable")
    return p


def prepare_output_folder(path: str | os.PathLike, what: str = "-o") -> Path:
    """Create (if needed) a folder that a run writes several files into, and check that it can:
    an existing file there, a read-only place or a bad name is one InputError, before any work."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{what} {p} is an existing file, not a folder: choose a folder name")
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".painterly-write-test.", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"{what} {p}: cannot write there ({e.strerror or e}): choose another folder") from None
    return p


def write_error(p: Path, e: OSError) -> InputError:
    """The one-line error for an output that could not be written (read-only place, full disk...)."""
    if e.errno == 28:   # ENOSPC
        return InputError(f"cannot write {p}: the disk is full")
    return InputError(f"cannot write {p} ({e.strerror or e}): check that its folder is writable")


def _file_mode() -> int:
    """Permissions a normally created file gets here (0o666 minus the umask); mkstemp uses 0o600."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_write(p: Path, write, binary: bool) -> Path:
    """Write via `write(file)` into a temp file beside `p`, then rename it over `p`. Ctrl-C and
    SIGTERM are held back until the file is complete or removed: one arriving between the temp
    file's creation and its clean-up left a `.part` behind (seen with --save-every 1)."""
    from .signals import uninterrupted
    with uninterrupted():
        return _write_then_rename(p, write, binary)


def _write_then_rename(p: Path, write, binary: bool) -> Path:
    parent = p.parent if str(p.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=parent)
    except OSError as e:
        raise write_error(p, e) from None
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, p)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise write_error(p, e) from None
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p


def save_image(img: Image.Image | torch.Tensor, path: str | os.PathLike, **pil_options) -> Path:
    """Write an image atomically: encode to a temp file beside the target, then rename over it."""
    p = check_output_path(path)
    if isinstance(img, torch.Tensor):
        img = tensor_to_pil(img)
    fmt = SAVE_FORMATS[p.suffix.lower()]
    if fmt == "JPEG":
        pil_options.setdefault("quality", 95)
    return _atomic_write(p, lambda f: img.save(f, format=fmt, **pil_options), binary=True)


def atomic_write_bytes(path: str | os.PathLike, data: bytes | memoryview) -> Path:
    """Write bytes (a serialised model or checkpoint) atomically; a full disk is one InputError."""
    return _atomic_write(Path(path), lambda f: f.write(data), binary=True)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a text file (JSON history, reports) atomically."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output folder '{parent}' does not exist: create it first")
    return _atomic_write(p, lambda f: f.write(text), binary=False)


def load_mask(src: ImageLike, size: tuple[int, int], what: str = "mask") -> torch.Tensor:
    """A mask image -> (1, 1, h, w) float in [0, 1] at `size`; white = stylise, black = keep.
    A file's aspect ratio is checked from its header, and it is decoded at about the size used
    (`open_image`'s reduction), so a huge mask costs what the output needs."""
    if isinstance(src, torch.Tensor) and src.dim() in (3, 4) and src.shape[-3] == 1:
        src = src.expand(*src.shape[:-3], 3, *src.shape[-2:])     # a one-channel mask tensor
    mw, mh = image_size(src, what)
    if abs(mw / mh - size[1] / size[0]) > 0.02 * size[1] / size[0]:
        name = f"{what} {src}" if isinstance(src, (str, os.PathLike)) else what
        raise InputError(f"{name} is {mw}x{mh} but the photo's shape is {size[1]}x{size[0]}: a mask needs the "
                         "photo's aspect ratio (draw it on the photo)")
    t = load_image(src, what, max(size))
    grey = t.mean(dim=1, keepdim=True)
    return F.interpolate(grey, size=size, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)


def check_not_input(output: str | os.PathLike, inputs: Iterable[Any], what: str = "output") -> None:
    """Refuse an output that is one of the run's input files or folders (it would overwrite the
    photo, or write into the folder being read): one InputError naming both."""
    out = Path(output)
    for src in inputs:
        if not isinstance(src, (str, os.PathLike)) or not out.exists():
            continue
        with contextlib.suppress(OSError):
            if os.path.samefile(out, src):
                raise InputError(f"{what} '{out}' is the input '{src}': painterly never overwrites its input; "
                                 "choose another name")


def remove_empty_tree(path: str | os.PathLike) -> None:
    """Remove `path` and the folders under it if none of them holds a file (a run that wrote nothing)."""
    p = Path(path)
    if not p.is_dir():
        return
    dirs = sorted((d for d in p.rglob("*") if d.is_dir()), key=lambda d: len(d.parts), reverse=True)
    if any(not f.is_dir() for f in p.rglob("*")):
        return
    with contextlib.suppress(OSError):
        for d in [*dirs, p]:
            d.rmdir()


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def is_image_file(src: Any) -> bool:
    """An image in memory, or a path with an image suffix (not, say, a method's own .pt file)."""
    return not isinstance(src, (str, os.PathLike)) or Path(src).suffix.lower() in IMAGE_SUFFIXES


def list_images(folder: Union[str, os.PathLike], what: str = "image") -> list[Path]:
    """Image files under `folder` (recursive, sorted); InputError naming the `what` folder when there are none."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{what} folder {root} does not exist or is not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise InputError(f"{what} folder {root} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files
