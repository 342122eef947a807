"""Image decoding, mode conversion, validation errors and atomic saving."""

import os
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from painterly import images
from painterly.errors import InputError


def _png_header_only(path, w, h):
    """A PNG whose header claims w x h pixels but carries almost no data (a decompression bomb)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))
                     + chunk(b"IEND", b""))


@pytest.mark.parametrize("make,expect", [
    (lambda p: None, "not found"),
    (lambda p: p.write_bytes(b""), "empty (0 bytes)"),
    (lambda p: p.write_text("hello, I am not a picture"), "not an image format"),
    (lambda p: _png_header_only(p, 100_000, 100_000), "too large"),
])
def test_bad_files_give_one_line_naming_the_file(tmp_path, make, expect):
    p = tmp_path / "input.png"
    make(p)
    with pytest.raises(InputError) as e:
        images.open_image(p, "content image")
    msg = str(e.value)
    assert expect in msg and "input.png" in msg and "content image" in msg and "\n" not in msg


def test_truncated_jpeg_is_reported_as_corrupt(tmp_path, content_path):
    p = tmp_path / "cut.jpg"
    p.write_bytes(content_path.read_bytes()[:3000])
    with pytest.raises(InputError, match="corrupt or truncated"):
        images.open_image(p)


def test_folder_is_not_an_image(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        images.open_image(tmp_path)


def test_greyscale_palette_cmyk_become_rgb(tmp_path):
    grey = Image.fromarray(np.full((20, 30), 77, np.uint8), "L")
    for mode in ("L", "P", "CMYK"):
        p = tmp_path / f"x_{mode}.{'jpg' if mode == 'CMYK' else 'png'}"
        grey.convert(mode).save(p)
        im = images.open_image(p)
        assert im.mode == "RGB" and im.size == (30, 20)
    t = images.load_image(tmp_path / "x_L.png")
    assert t.shape == (1, 3, 20, 30) and torch.allclose(t, torch.full_like(t, 77 / 255), atol=1e-6)


def test_rgba_is_composited_on_white(tmp_path):
    a = np.zeros((10, 10, 4), np.uint8)
    a[..., 0] = 255            # red, but fully transparent on the left half
    a[:, 5:, 3] = 255
    p = tmp_path / "rgba.png"
    Image.fromarray(a, "RGBA").save(p)
    t = images.load_image(p)[0]
    assert torch.allclose(t[:, :, :5], torch.ones(3, 10, 5))              # white where transparent
    assert torch.allclose(t[:, :, 5:], torch.tensor([1.0, 0, 0]).view(3, 1, 1).expand(3, 10, 5))


def test_16_bit_png_is_rescaled_not_clipped(tmp_path):
    a = np.full((8, 8), 32768, np.uint16)
    p = tmp_path / "deep.png"
    Image.fromarray(a).save(p)
    assert Image.open(p).mode.startswith("I")
    t = images.load_image(p)
    assert abs(float(t.mean()) - 0.5) < 0.01   # naive conversion would clip to 1.0


def test_exif_orientation_is_applied(tmp_path):
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, :20] = 255                              # left half white
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = 6                             # "rotate 90 CW to display"
    p = tmp_path / "rot.jpg"
    im.save(p, exif=exif)
    t = images.load_image(p)
    assert t.shape[-2:] == (40, 20)              # upright: portrait
    assert t[0, :, :15].mean() > 0.9 and t[0, :, 25:].mean() < 0.1   # white half is now on top


def test_too_small_image_is_rejected():
    with pytest.raises(InputError, match="too small .*at least 16 px"):
        images.check_min_size(torch.zeros(1, 3, 10, 40), "style image")


def test_save_is_atomic_when_encoding_fails(tmp_path, monkeypatch):
    out = tmp_path / "out.png"
    out.write_bytes(b"old result")
    def broken_save(self, fp, format=None, **kw):
        fp.write(b"half an image")
        raise OSError("disk full")
    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(InputError, match=r"cannot write .*out\.png \(disk full\)"):   # one line, not a traceback
        images.save_image(torch.rand(1, 3, 8, 8), out)
    assert out.read_bytes() == b"old result"            # never half-written
    assert os.listdir(tmp_path) == ["out.png"]          # no temp file left behind


def test_save_round_trip_and_output_checks(tmp_path):
    t = torch.rand(1, 3, 12, 16)
    p = images.save_image(t, tmp_path / "o.png")
    mask = os.umask(0o022)
    os.umask(mask)
    assert (p.stat().st_mode & 0o777) == 0o666 & ~mask     # not mkstemp's private 0600
    assert torch.allclose(images.load_image(p), t, atol=1 / 255)
    with pytest.raises(InputError, match="unsupported extension"):
        images.check_output_path(tmp_path / "o.gif2")
    with pytest.raises(InputError, match="does not exist"):
        images.check_output_path(tmp_path / "missing" / "o.png")


def test_load_image_accepts_pil_arrays_and_tensors():
    arr = np.zeros((5, 6, 3), np.uint8)
    assert images.load_image(arr).shape == (1, 3, 5, 6)
    assert images.load_image(Image.fromarray(arr)).shape == (1, 3, 5, 6)
    assert images.load_image(torch.rand(3, 5, 6)).shape == (1, 3, 5, 6)
    with pytest.raises(InputError, match="shape"):
        images.load_image(torch.rand(4, 5, 6))
