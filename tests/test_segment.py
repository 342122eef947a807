"""Automatic region masks (painterly.segment): real properties on small shipped photos."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from painterly import images, pipeline, segment, weights
from painterly.cli import main
from painterly.errors import InputError
from painterly.segment import ncnn, refine

pytest.importorskip("cv2.ximgproc")

DATA = Path(__file__).parent / "data" / "masks"
PORTRAIT, LANDSCAPE = DATA / "portrait.jpg", DATA / "landscape.jpg"


def _truth(name: str) -> torch.Tensor:
    return torch.from_numpy(np.asarray(Image.open(DATA / f"{name}_truth.png").convert("L")) > 127)


def _iou(m: torch.Tensor, truth: torch.Tensor) -> float:
    a = m[0, 0] > 0.5
    return float((a & truth).sum()) / float((a | truth).sum())


def test_person_and_sky_iou_on_shipped_photos():
    person = segment.mask(PORTRAIT, "person")
    sky = segment.mask(LANDSCAPE, "auto:sky")
    assert person.shape == (1, 1, 160, 127) and sky.shape == (1, 1, 120, 160)
    assert _iou(person, _truth("portrait")) > 0.9
    assert _iou(sky, _truth("landscape")) > 0.9
    # the complements are exact complements (the same photo tensor: the network runs once)
    photo = images.load_image(LANDSCAPE)
    assert torch.equal(segment.region_mask(photo, "not-sky"), 1 - segment.region_mask(photo, "sky"))


def test_only_the_masked_region_changes():
    """--mask auto:sky: the sky is repainted, the ground keeps the photo's pixels."""
    res = pipeline.run_stylize(LANDSCAPE, None, method="model", model="starry_night", size=None, mask="auto:sky")
    photo = np.asarray(Image.open(LANDSCAPE).convert("RGB")).astype(int)
    out = np.asarray(res.image).astype(int)
    m = segment.mask(LANDSCAPE, "sky")[0, 0].numpy()
    assert np.abs(out - photo)[m < 1e-3].max() <= 1            # the rest: the photo (uint8 rounding)
    assert np.abs(out - photo)[m > 0.99].mean() > 20           # the sky: painted
    assert (m < 1e-3).mean() > 0.2 and (m > 0.99).mean() > 0.4


def test_tiles_keep_the_unmasked_photo():
    """auto:not-sky on tiles: the ground is painted, the sky keeps the photo, as without tiles."""
    big = images.resize(images.load_image(LANDSCAPE), (150, 200))
    m = segment.region_mask(big, "sky")[0, 0]
    tiled = pipeline.run_stylize(big, None, method="model", model="starry_night", size=None, mask="auto:not-sky",
                                 tile=256)
    assert tiled.info.get("tiles", 4) > 1
    diff = (tiled.tensor - big).abs().mean(1)[0]
    assert diff[m > 0.999].max() < 2 / 255 and diff[m < 1e-3].mean() > 0.05


def test_two_styles_split_by_the_sky(style_path):
    """--style-masks auto:sky auto:not-sky with two paintings: each painting rules its region."""
    sky = segment.mask(LANDSCAPE, "sky")[0, 0]
    one = pipeline.run_stylize(LANDSCAPE, [style_path], method="magenta", size=None)
    other = pipeline.run_stylize(LANDSCAPE, [PORTRAIT], method="magenta", size=None)
    two = pipeline.run_stylize(LANDSCAPE, [style_path, PORTRAIT], method="magenta", size=None,
                               style_masks=["auto:sky", "auto:not-sky"])
    near = lambda a, b, where: float((a.tensor - b.tensor).abs().mean(1)[0][where].mean())  # noqa: E731
    assert near(two, one, sky > 0.99) < near(two, other, sky > 0.99)
    assert near(two, other, sky < 0.01) < near(two, one, sky < 0.01)


def test_unknown_region_names_it_and_lists_the_known(capsys, tmp_path):
    with pytest.raises(InputError, match=r"'auto:tree' is not an automatic region.*auto:person.*auto:not-sky"):
        pipeline.run_stylize(PORTRAIT, None, method="model", model="starry_night", mask="auto:tree")
    with pytest.raises(InputError, match="auto:clouds"):
        pipeline.run_stylize(PORTRAIT, None, method="model", model="starry_night",
                             style_masks=["auto:sky", "auto:clouds"])
    assert main(["stylize", str(PORTRAIT), "--model", "starry_night", "--mask", "auto:tree",
                 "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--mask 'auto:tree'" in err[0] and "auto:sky" in err[0]


def test_no_person_stops_or_goes_on_with_an_empty_mask(capsys, tmp_path):
    with pytest.raises(segment.RegionNotFound, match="found no person"):
        segment.mask(LANDSCAPE, "person")
    assert segment.mask(LANDSCAPE, "person", missing="empty").max() == 0
    assert segment.mask(LANDSCAPE, "background", missing="empty").min() == 1
    res = pipeline.run_stylize(LANDSCAPE, None, method="model", model="starry_night", size=None, mask="auto:person",
                               missing_region="empty")
    assert np.abs(np.asarray(res.image).astype(int) - np.asarray(Image.open(LANDSCAPE)).astype(int)).max() <= 1
    assert main(["stylize", str(LANDSCAPE), "--model", "starry_night", "--mask", "auto:person",
                 "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "found no person" in err[0] and "--missing-region empty" in err[0]
    assert not (tmp_path / "o.png").exists()


def test_mask_command_writes_a_mask_that_can_be_passed_back(tmp_path, capsys):
    out = tmp_path / "sky.png"
    assert main(["mask", str(LANDSCAPE), "--what", "sky", "-o", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sky.png"]       # atomic: no temp file left
    written = images.load_mask(out, (120, 160))
    assert (written - segment.mask(LANDSCAPE, "sky")).abs().max() <= 1 / 255 + 1e-6
    a = pipeline.run_stylize(LANDSCAPE, None, method="model", model="starry_night", size=None, mask=str(out))
    b = pipeline.run_stylize(LANDSCAPE, None, method="model", model="starry_night", size=None, mask="auto:sky")
    assert np.abs(np.asarray(a.image).astype(int) - np.asarray(b.image).astype(int)).max() <= 2
    with pytest.raises(SystemExit) as e:
        main(["mask", str(LANDSCAPE), "--what", "tree", "-o", str(out)])
    assert e.value.code == 2


def test_tampered_weights_are_refused(tmp_path, monkeypatch):
    bad = tmp_path / "SINet.pth"
    shutil.copy(weights.resolve("sinet-portrait"), bad)
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match="sha256"):
        segment.person_network("sinet-portrait", str(bad))
    monkeypatch.setenv("PAINTERLY_WEIGHTS", str(tmp_path))       # found first, and still refused
    with pytest.raises(InputError, match="sha256"):
        weights.resolve("sinet-portrait")


def test_ncnn_reader_refuses_what_it_does_not_know(tmp_path):
    p = tmp_path / "x.param"
    p.write_text("7767517\n2 2\nInput in 0 1 data\nSoftmax sm 1 1 data out 0=1\n")
    with pytest.raises(InputError, match="Softmax"):
        ncnn.read_param(p)
    layers = ncnn.read_param(weights.resolve("sky-u2netp-param"))
    short = tmp_path / "short.bin"
    short.write_bytes(weights.resolve("sky-u2netp-bin").read_bytes()[:-8])
    with pytest.raises(InputError):
        ncnn.read_bin(short, layers)


def test_sky_network_matches_the_ncnn_package():
    nc = pytest.importorskip("ncnn")
    x = torch.randn(1, 3, 384, 384) * 0.5
    with torch.inference_mode():
        ours = segment.sky_network()(x)
    net = nc.Net()
    net.load_param(str(weights.resolve("sky-u2netp-param")))
    net.load_model(str(weights.resolve("sky-u2netp-bin")))
    ex = net.create_extractor()
    arr = x[0].numpy().copy()                       # ncnn.Mat does not own it: keep it alive
    ex.input("input.1", nc.Mat(arr))
    _, out = ex.extract("1959")
    assert np.abs(np.array(out) - ours[0].numpy()).max() < 1e-4


def test_refinement_in_bands_equals_the_whole_image(monkeypatch):
    prob, photo = torch.rand(1, 1, 20, 30), torch.rand(1, 3, 300, 420)
    monkeypatch.setattr(refine, "BAND", 10**6)
    whole = refine.refine(prob, photo, radius=4, feather=3)
    monkeypatch.setattr(refine, "BAND", 37)
    assert torch.equal(refine.refine(prob, photo, radius=4, feather=3), whole)
    u8 = (photo * 255).round().to(torch.uint8)
    assert (refine.refine(prob, u8, radius=4) - refine.refine(prob, u8.float() / 255, radius=4)).abs().max() < 1e-5


def test_edges_follow_the_photo():
    """The refined mask's border is a sharp step exactly at the photo's edge, where plain
    upsampling of the low-resolution probability is a ramp."""
    truth = torch.zeros(1, 1, 256, 256)
    truth[..., :101, :] = 1                           # the photo's edge: between rows 100 and 101
    photo = truth.expand(1, 3, -1, -1) * 0.8 + 0.1
    prob = torch.nn.functional.avg_pool2d(truth, 4)   # what a 64 px network could see
    plain = refine.upsample(prob, (256, 256))[0, 0, :, 128]
    soft = refine.refine(prob, photo, low_side=64, eps=segment.EPS)[0, 0, :, 128]
    step, plain_step = soft[:-1] - soft[1:], plain[:-1] - plain[1:]
    assert int(step.argmax()) == 100 and step.max() > 3 * plain_step.max()
    assert ((soft > 0.5) == (truth[0, 0, :, 128] > 0.5)).all()
