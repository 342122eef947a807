"""AdaIN and WCT: feature statistics, strength, covariance, region masks, decoder training."""

import numpy as np
import pytest
import torch
from PIL import Image

from painterly import images, run_stylize
from painterly.methods.arbitrary.options import ArbitraryOptions
from painterly.methods.arbitrary.transforms import adain, mean_std, transfer, wct
from painterly.methods.arbitrary.pairs import load_decoder
from painterly.methods.arbitrary.stylize import run
from painterly.methods.arbitrary.pairs import encoder
from painterly.methods.arbitrary.stylize import default_decoders
from painterly.methods.arbitrary.train import DecoderTrainOptions, train_decoder
from painterly.cli import main
from painterly.errors import InputError


def _feats(t, level="relu3_1"):
    return encoder("vgg19-normalised", (level,))(t)[level]


def test_adain_gives_content_features_the_style_statistics(content, style):
    fc, fs = _feats(content), _feats(images.resize_long_side(style, 96))
    t = adain(fc, fs)
    (mt, st), (ms, ss) = mean_std(t), mean_std(fs)
    torch.testing.assert_close(mt, ms, atol=1e-4, rtol=1e-4)
    # channels where the content is all zero (dead ReLUs) cannot take a spread: they stay flat
    torch.testing.assert_close(st, ss, atol=1e-2 * float(ss.max()), rtol=1e-3)


def test_decoded_adain_output_moves_to_style_statistics(content, style):
    s = images.resize_long_side(style, 96)
    out, info = run("adain", content, [s], ArbitraryOptions())
    fc, fs, fo = _feats(content), _feats(s), _feats(out)
    (mc, sc), (ms, ss), (mo, so) = mean_std(fc), mean_std(fs), mean_std(fo)
    # the decoder is not exact, but the output's statistics are far closer to the style's
    assert (mo - ms).abs().mean() < 0.75 * (mc - ms).abs().mean()
    assert (so - ss).abs().mean() < 0.75 * (sc - ss).abs().mean()
    assert info["levels"] == [{"level": "relu3_1", "encoder": "vgg19-normalised"}]


def test_alpha_zero_is_the_decoders_reconstruction(content, style):
    out, _ = run("adain", content, [style], ArbitraryOptions(alpha=0.0))
    d = load_decoder(default_decoders("adain")[0])
    from painterly.methods.arbitrary.stylize import pad_multiple
    h, w = content.shape[-2:]
    m = pad_multiple([d.level])
    padded = torch.nn.functional.pad(content, (0, (-w) % m, 0, (-h) % m), mode="reflect")
    with torch.inference_mode():          # the photo is run padded to the encoders' multiple, then cropped
        rec = d.decoder(_feats(padded)).clamp(0, 1)[..., :h, :w]
    torch.testing.assert_close(out, rec, atol=1e-5, rtol=0)
    half, _ = run("adain", content, [style], ArbitraryOptions(alpha=0.5))
    full, _ = run("adain", content, [style], ArbitraryOptions(alpha=1.0))
    d_half, d_full = (half - rec).abs().mean(), (full - rec).abs().mean()
    assert 0 < d_half < d_full


def test_wct_output_covariance_matches_style(content, style):
    fc, fs = _feats(content).double(), _feats(images.resize_long_side(style, 96)).double()
    t = wct(fc, fs)

    def cov(f):
        f = f[0].reshape(f.shape[1], -1)
        f = f - f.mean(1, keepdim=True)
        return f @ f.T / (f.shape[1] - 1)

    cs, ct = cov(fs), cov(t)
    assert torch.linalg.norm(ct - cs) / torch.linalg.norm(cs) < 1e-2
    assert torch.linalg.norm(cov(fc) - cs) / torch.linalg.norm(cs) > 0.2


def test_masks_confine_each_style_to_its_region(content):
    h, w = content.shape[-2:]
    red = torch.zeros(1, 3, 64, 64)
    red[:, 0] = 0.9
    blue = torch.zeros(1, 3, 64, 64)
    blue[:, 2] = 0.9
    left = torch.zeros(1, 1, h, w)
    left[..., : w // 2] = 1
    for kind in ("adain", "wct"):
        out, _ = run(kind, content, [red, blue], ArbitraryOptions(decoders=["relu1_1"] if kind == "wct" else None),
                     style_masks=[left, 1 - left])
        lhalf, rhalf = out[..., : w // 2 - 8], out[..., w // 2 + 8:]
        assert lhalf[:, 0].mean() > lhalf[:, 2].mean() + 0.2, kind   # red on the left
        assert rhalf[:, 2].mean() > rhalf[:, 0].mean() + 0.2, kind   # blue on the right


def test_feature_masks_take_region_statistics(content, style):
    fc = _feats(content)
    fa, fb = _feats(images.resize_long_side(style, 64)), _feats(content.flip(-1) * 0.3)
    m = torch.zeros(1, 1, *content.shape[-2:])
    m[..., : content.shape[-1] // 2] = 1
    t = transfer("adain", fc, [fa, fb], masks=[m, 1 - m])
    half = fc.shape[-1] // 2
    ml, _ = mean_std(t[..., 2:-2, 2: half - 2])
    mr, _ = mean_std(t[..., 2:-2, half + 2: -2])
    assert (ml - mean_std(fa)[0]).abs().mean() < (ml - mean_std(fb)[0]).abs().mean()
    assert (mr - mean_std(fb)[0]).abs().mean() < (mr - mean_std(fa)[0]).abs().mean()


def test_pipeline_methods_share_options(content_path, style_path, tmp_path):
    plain = run_stylize(content_path, style_path, method="adain", size=96)
    kept = run_stylize(content_path, style_path, method="wct", size=96, preserve_colors="luminance")
    assert plain.image.size == (96, 72) and kept.info["method"] == "wct"
    with pytest.raises(InputError, match="between 0 and 1"):
        run_stylize(content_path, style_path, method="adain", size=96, alpha=2)
    with pytest.raises(InputError, match="one mask per style"):
        run_stylize(content_path, style_path, method="adain", size=96, style_masks=[content_path, content_path])
    with pytest.raises(InputError, match="unknown option"):
        run_stylize(content_path, style_path, method="adain", size=96, steps=3)


def test_cli_adain_and_wct(tmp_path, content_path, style_path):
    for method in ("adain", "wct"):
        out = tmp_path / f"{method}.png"
        assert main(["stylize", str(content_path), str(style_path), "--method", method, "--size", "96",
                     "--alpha", "0.8", "-o", str(out), "--quiet"]) == 0
        y = np.asarray(Image.open(out), dtype=float)
        x = np.asarray(Image.open(content_path).convert("RGB").resize((96, 72)), dtype=float)
        assert np.abs(y - x).mean() > 5
    assert main(["stylize", str(content_path), "--method", "adain", "-o", str(tmp_path / "x.png")]) == 2


@pytest.mark.parametrize("objective", ["reconstruct", "adain"])
def test_decoder_training_lowers_its_loss(tmp_path, objective):
    d = tmp_path / "photos"
    d.mkdir()
    root = images.__file__.rsplit("/", 1)[0] + "/data/"
    for i, name in enumerate(["tubingen.jpg", "starry_night.jpg"]):
        Image.open(root + name).convert("RGB").resize((80, 64)).save(d / f"{i}.png")
    opts = DecoderTrainOptions(level="relu2_1", objective=objective, size=32, batch_size=2, steps=30, lr=3e-3,
                               checkpoint_every=0)
    res = train_decoder(d, tmp_path / "dec.pt", d if objective == "adain" else None, opts, device="cpu")
    losses = [h["loss"] for h in res.history]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    dec = load_decoder(tmp_path / "dec.pt")
    assert dec.level == "relu2_1" and dec.meta["objective"] == objective
    out, _ = run("wct", torch.rand(1, 3, 40, 40), [torch.rand(1, 3, 40, 40)],
                 ArbitraryOptions(decoders=[str(tmp_path / "dec.pt")]))
    assert out.shape == (1, 3, 40, 40)


def test_too_large_for_memory_is_refused_before_work(content_path, style_path):
    with pytest.raises(InputError, match="needs about .* GiB"):
        run_stylize(content_path, style_path, method="wct", size=60_000)


@pytest.mark.parametrize("kind", ["adain", "wct"])
def test_odd_sizes_keep_the_photos_size_with_and_without_masks(content, style, kind):
    """Sizes that are no multiple of the encoders' poolings (here 61×45) come back whole, and a mask
    of the photo's size applies (it used to fail: the decoders returned 56×40)."""
    photo = images.resize(content, (45, 61))
    half = torch.zeros(1, 1, 45, 61)
    half[..., :30] = 1
    out, _ = run(kind, photo, [style], ArbitraryOptions())
    assert out.shape == photo.shape
    res = run_stylize(photo, style, method=kind, size=None, mask=half)
    assert res.tensor.shape == photo.shape
    # outside the mask the photo is kept exactly (up to 8-bit rounding)
    assert float((res.tensor[..., 34:] - photo[..., 34:]).abs().max()) < 1 / 255 + 1e-6
