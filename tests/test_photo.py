"""Photorealistic transfer (#23): checkpoint reader, the ported network, ZCA per region, smoothing,
label maps, tiles, the CLI. Small images throughout."""

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from painterly import images, methods, weights
from painterly.errors import InputError
from painterly import labels as lab
from painterly.methods.photo import metrics, network, smoothing, tfbundle
from painterly.methods.photo.engine import stylise
from painterly.methods.photo.options import PhotoOptions

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "painterly" / "data"
CKPTS = ROOT.parent / "shared" / "weights" / "pcakd" / "vgg"
needs_ckpt = pytest.mark.skipif(not (CKPTS / "sencoder.index").is_file(), reason="authors' checkpoint not here")


@pytest.fixture(scope="module")
def net():
    return network.load("cpu")


def _photo(name: str, side: int) -> torch.Tensor:
    return images.resize_long_side(images.load_image(DATA / name), side)


# ---- checkpoint reader and the converted weights ------------------------------------------------------

@needs_ckpt
def test_bundle_reader_gives_the_known_tensors_and_checks_crc(tmp_path):
    index = tfbundle.read_index(CKPTS / "sencoder.index")
    k = "btnecks/3/layer_with_weights-3/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    assert index[k].shape == (3, 3, 58, 64) and index[k].dtype == 1 and index[k].crc32c
    enc, dec = tfbundle.read_bundle(CKPTS / "sencoder"), tfbundle.read_bundle(CKPTS / "sdecoder")
    assert enc["conv_aux/3/.ATTRIBUTES/VARIABLE_VALUE"].shape == (512, 64)                         # the training-only eigenbases
    assert sum(v.size for n, v in enc.items() if not n.startswith("conv_aux")) == 141_614
    assert sum(v.size for v in dec.values()) == 141_622
    # the shipped file is exactly these tensors
    shipped = torch.load(DATA / "photo" / "pcakd_vgg.pt", weights_only=True)
    conv = network.state_from_tf(enc, dec)
    assert shipped.keys() == conv.keys() and all(torch.equal(shipped[n], conv[n]) for n in conv)
    # a flipped byte in the data shard is caught by the CRC-32C check
    for f in CKPTS.glob("sdecoder.*"):
        shutil.copy(f, tmp_path / f.name)
    data = tmp_path / "sdecoder.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[1000] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="CRC-32C"):
        tfbundle.read_bundle(tmp_path / "sdecoder")


def test_bundle_reader_refuses_a_file_that_is_no_index(tmp_path):
    p = tmp_path / "x.index"
    p.write_bytes(b"\0" * 100)
    with pytest.raises(InputError, match="not a TensorFlow checkpoint"):
        tfbundle.read_index(p)


def test_crc32c_known_value():
    assert tfbundle.crc32c(b"123456789") == 0xE3069283      # the CRC-32C check value


def test_shipped_weights_are_registered_with_their_sha256():
    s = weights.REGISTRY["pcakd-vgg"]
    p = weights.resolve("pcakd-vgg")
    assert hashlib.sha256(p.read_bytes()).hexdigest() == s.sha256 and "MIT" in s.licence
    assert (DATA / "photo" / "LICENSE-PCAKD.md").read_text().startswith("MIT License")


def test_encoder_decoder_reconstruct_a_photo(net):
    x = _photo("tubingen.jpg", 96)
    with torch.no_grad():
        y = net.reconstruct(x).clamp(0, 1)
    psnr = 10 * torch.log10(1 / ((y - x) ** 2).mean())
    assert psnr > 27, psnr              # ~31-33 dB at 400-700 px on the shared photos


# ---- the method ----------------------------------------------------------------------------------------

def test_photo_keeps_structure_and_moves_colours_to_the_reference(net):
    c, s = _photo("tubingen.jpg", 96), _photo("golden_gate.jpg", 96)
    out, info = stylise(c, s, PhotoOptions(), net=net)
    assert out.shape == c.shape and info["smooth"] == "guided"
    assert metrics.ssim_luminance(out, c) > 0.7
    assert metrics.colour_distance(out, s) < 0.5 * metrics.colour_distance(c, s)
    # strength 0 (alpha) gives the photo back, up to the network's reconstruction
    same, _ = stylise(c, s, PhotoOptions(alpha=0.0), net=net)
    assert metrics.colour_distance(same, c) < 0.2 * metrics.colour_distance(c, s)


def _sky_ground(h: int, w: int, sky, ground, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    img = torch.empty(1, 3, h, w)
    img[..., : h // 2, :] = torch.tensor(sky).view(1, 3, 1, 1)
    img[..., h // 2:, :] = torch.tensor(ground).view(1, 3, 1, 1)
    return (img + 0.06 * torch.rand(1, 3, h, w, generator=g)).clamp(0, 1)


def _label_png(path: Path, h: int, w: int, top=(0, 0, 255), bottom=(0, 255, 0)) -> Path:
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 2], a[h // 2:] = top, bottom
    Image.fromarray(a).save(path)
    return path


def test_labels_give_the_sky_the_reference_sky_colour(net, tmp_path):
    content = _sky_ground(64, 64, (0.55, 0.7, 0.95), (0.3, 0.6, 0.25), 0)      # blue sky, green field
    ref = _sky_ground(64, 80, (0.95, 0.55, 0.2), (0.35, 0.25, 0.45), 1)        # orange sky, purple ground
    o = PhotoOptions(content_labels=str(_label_png(tmp_path / "c.png", 64, 64)),
                     style_labels=str(_label_png(tmp_path / "s.png", 64, 80)), smooth="none")
    out, info = stylise(content, ref, o, net=net)
    assert info["labels"] == 2
    sky = out[..., 4:28, 4:-4].mean(dim=(2, 3))[0]
    ref_sky, ref_ground = ref[..., :32, :].mean(dim=(2, 3))[0], ref[..., 32:, :].mean(dim=(2, 3))[0]
    assert (sky - ref_sky).norm() < 0.15 and (sky - ref_sky).norm() < 0.5 * (sky - ref_ground).norm()
    ground = out[..., 36:60, 4:-4].mean(dim=(2, 3))[0]
    assert (ground - ref_ground).norm() < 0.5 * (ground - ref_sky).norm()


def test_label_maps_of_the_wrong_size_or_with_a_missing_colour_are_input_errors(net, tmp_path):
    c, s = _photo("tubingen.jpg", 64), _photo("golden_gate.jpg", 64)
    h, w = c.shape[-2:]
    good_s = _label_png(tmp_path / "s.png", *s.shape[-2:])
    square = _label_png(tmp_path / "square.png", 50, 50)
    with pytest.raises(InputError, match="square.png.*proportions"):
        stylise(c, s, PhotoOptions(content_labels=str(square), style_labels=str(good_s)), net=net)
    odd = _label_png(tmp_path / "odd.png", h, w, bottom=(255, 255, 0))
    with pytest.raises(InputError, match=r"#ffff00.*odd\.png.*s\.png"):
        stylise(c, s, PhotoOptions(content_labels=str(odd), style_labels=str(good_s)), net=net)
    with pytest.raises(InputError, match="style_labels"):
        PhotoOptions(content_labels=str(odd)).validate()


def test_quantise_merges_antialiased_and_noisy_colours():
    a = np.zeros((40, 40, 3), np.uint8)
    a[:, 20:] = (255, 0, 0)
    a[:, 19] = (128, 0, 0)                      # an anti-aliased seam
    a[::7, ::5] = (2, 1, 0)                     # JPEG-like near-black noise
    ids, palette = lab.quantise(a)
    assert sorted(palette) == [(0, 0, 0), (255, 0, 0)] and ids.shape == (40, 40)


def test_guided_filter_opencv_and_torch_agree():
    pytest.importorskip("cv2")
    g = torch.Generator().manual_seed(0)
    guide = torch.rand(1, 3, 48, 56, generator=g)
    src = (0.6 * guide + 0.3 * torch.rand(1, 3, 48, 56, generator=g)).clamp(0, 1)
    a = smoothing.guided_filter(guide, src, 4, 0.02 ** 2, "cv2")
    b = smoothing.guided_filter(guide, src, 4, 0.02 ** 2, "torch")
    assert (a - b)[..., 8:-8, 8:-8].abs().max() < 1e-4
    same = smoothing.guided_filter(guide, guide, 4, 0.02 ** 2)        # the guide filters to itself
    assert (same - guide).abs().mean() < 0.02


def test_matting_smoothing_option_runs(net):
    c, s = _photo("tubingen.jpg", 48), _photo("golden_gate.jpg", 48)
    out, info = stylise(c, s, PhotoOptions(smooth="matting"), net=net)
    assert info["smooth"] == "matting" and metrics.ssim_luminance(out, c) > 0.6


def test_tiled_run_matches_the_whole_image(net):
    from painterly.methods.photo.tiled import stylise_tiled
    c, s = _photo("tubingen.jpg", 160), _photo("golden_gate.jpg", 96)
    o = PhotoOptions(style_size=96)
    whole, _ = stylise(c, s, o, net=net)
    c8 = (c * 255 + 0.5).to(torch.uint8)
    tiled, info = stylise_tiled(c8, s, o, tile=160, halo=48)     # 3 x 2 tiles (a short halo: a loose bound)
    assert info["tiles"] == 6 and info["stats"] == "exact"
    assert (tiled - whole).abs().mean() < 0.01


# ---- registry, pipeline, CLI ----------------------------------------------------------------------------

def test_photo_is_registered_with_its_supports():
    m = methods.get("photo")
    assert m.needs_style and m.tiled is not None and m.strength_field == "alpha"
    assert {"mask", "strength", "preserve_colors"} <= m.supports


def test_cli_photo_and_a_bad_label_map(tmp_path, capsys):
    from painterly.cli import main
    out = tmp_path / "out.png"
    rc = main(["stylize", str(DATA / "tubingen.jpg"), str(DATA / "golden_gate.jpg"), "--method", "photo",
               "--size", "64", "-o", str(out), "--quiet"])
    assert rc == 0 and Image.open(out).size[0] == 64
    bad = _label_png(tmp_path / "bad.png", 10, 40)
    rc = main(["stylize", str(DATA / "tubingen.jpg"), str(DATA / "golden_gate.jpg"), "--method", "photo",
               "--size", "64", "-o", str(tmp_path / "o2.png"), "--content-labels", str(bad),
               "--style-labels", str(bad), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "bad.png" in err[0]


def test_gatys_takes_the_photorealism_regulariser_and_label_maps(tmp_path):
    from painterly.pipeline import run_stylize
    c, s = _photo("tubingen.jpg", 48), _photo("golden_gate.jpg", 48)
    r = run_stylize(c, s, method="gatys", size=48, steps=3, device="cpu", photorealism=1000.0,
                    content_labels=str(_label_png(tmp_path / "c.png", *c.shape[-2:])),
                    style_labels=str(_label_png(tmp_path / "s.png", *s.shape[-2:])))
    assert r.history and "photorealism" in r.history[-1] and r.history[-1]["photorealism"] >= 0
    with pytest.raises(InputError, match="style_labels"):
        run_stylize(c, s, method="gatys", size=48, steps=1, content_labels=str(tmp_path / "c.png"))


@pytest.mark.parametrize("kind", ["adain", "wct"])
def test_adain_and_wct_take_label_maps_too(kind, tmp_path):
    from painterly.pipeline import run_stylize
    content = _sky_ground(64, 64, (0.55, 0.7, 0.95), (0.3, 0.6, 0.25), 0)
    ref = _sky_ground(64, 64, (0.95, 0.55, 0.2), (0.35, 0.25, 0.45), 1)
    r = run_stylize(content, ref, method=kind, size=64, device="cpu",
                    content_labels=str(_label_png(tmp_path / "c.png", 64, 64)),
                    style_labels=str(_label_png(tmp_path / "s.png", 64, 64)))
    out = r.tensor
    ref_sky, ref_ground = ref[..., :32, :].mean(dim=(2, 3))[0], ref[..., 32:, :].mean(dim=(2, 3))[0]
    sky, ground = out[..., 4:28, 4:-4].mean(dim=(2, 3))[0], out[..., 36:60, 4:-4].mean(dim=(2, 3))[0]
    assert (sky - ref_sky).norm() < 0.5 * (sky - ref_ground).norm()
    assert (ground - ref_ground).norm() < 0.5 * (ground - ref_sky).norm()
