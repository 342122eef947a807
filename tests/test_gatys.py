"""Gatys transfer: real behaviour on small images with the offline ImageNet VGG-19."""

import math

import pytest
import torch

from painterly import colour, images, run_stylize, stylize
from painterly.methods.gatys import stylize as gatys
from painterly.methods.gatys.options import DEFAULT_STYLE_LAYERS, parse_layers
from painterly.errors import InputError
from painterly.features import Encoder
from painterly.losses import gram_matrix

STYLE_LAYERS = DEFAULT_STYLE_LAYERS


def gram_distance(encoder, a, b):
    fa, fb = encoder(a), encoder(b)
    return sum(float(((gram_matrix(fa[n]) - gram_matrix(fb[n])) ** 2).mean()) for n in STYLE_LAYERS)


@pytest.fixture(scope="module")
def result(content, style):
    return gatys.run(content, [style], gatys.GatysOptions(steps=60))


def test_style_loss_falls_by_a_large_factor_and_content_stays_bounded(result):
    h = result.history
    assert len(h) == 60 and result.stopped is None
    assert h[-1]["style"] < h[0]["style"] / 50
    assert h[-1]["total"] < h[0]["total"] / 10
    # content loss starts at 0 (init = content) and rises, but stays below the style image's own
    assert h[-1]["content"] < 0.5 * h[-1]["style"] * 1e-4 * 100
    assert result.options["encoder"] == "vgg19-caffe-q8" and result.options["style_weight"] == 1e-4


def test_output_gram_is_far_closer_to_the_style_than_the_content_is(result, content, style):
    enc = Encoder("vgg19-caffe-q8", list(STYLE_LAYERS) + ["conv4_2"])
    s = images.resize_long_side(style, 96)
    d_out, d_content = gram_distance(enc, result.image, s), gram_distance(enc, content, s)
    assert d_out < 0.1 * d_content
    # ...while its content loss stays below that of the painting itself (bounded)
    f_photo = enc(content)["conv4_2"]
    c_out = float(((enc(result.image)["conv4_2"] - f_photo) ** 2).mean())
    c_painting = float(((enc(images.resize(style, tuple(content.shape[-2:])))["conv4_2"] - f_photo) ** 2).mean())
    assert c_out < 0.8 * c_painting


def test_content_weight_trades_style_for_content(result, content, style):
    heavy = gatys.run(content, [style], gatys.GatysOptions(steps=60, content_weight=30.0))
    assert heavy.history[-1]["content"] < 0.5 * result.history[-1]["content"]
    assert heavy.history[-1]["style"] > result.history[-1]["style"]
    assert result.image.shape == content.shape and 0 <= result.image.min() and result.image.max() <= 1


def test_adam_and_noise_init_also_lower_the_loss(content, style):
    r = gatys.run(content, [style], gatys.GatysOptions(steps=30, optimizer="adam",
                                                         init="noise", lr=0.05, seed=3))
    assert r.history[-1]["total"] < r.history[0]["total"] / 5


def test_same_seed_same_image(content, style):
    o = gatys.GatysOptions(steps=5, init="noise", seed=7)
    a, b = gatys.run(content, [style], o), gatys.run(content, [style], o)
    assert torch.equal(a.image, b.image)
    c = gatys.run(content, [style], gatys.GatysOptions(steps=5, init="noise", seed=8))
    assert not torch.equal(a.image, c.image)


def test_blend_weight_zero_ignores_a_style(content, style):
    o = gatys.GatysOptions(steps=8)
    other = torch.rand(1, 3, 64, 64)
    single = gatys.run(content, [style], o)
    blended = gatys.run(content, [style, other], o, style_blend=[1.0, 0.0])
    assert torch.allclose(single.image, blended.image, atol=1e-4)
    mixed = gatys.run(content, [style, other], o, style_blend=[1.0, 1.0])
    assert (mixed.image - single.image).abs().mean() > 1e-3


def test_multi_scale_runs_coarse_to_fine(content, style):
    r = gatys.run(content, [style], gatys.GatysOptions(steps=4, scales=2))
    sizes = [(h["height"], h["width"]) for h in r.history]
    assert sizes[0] == (36, 48) and sizes[-1] == (72, 96) and len(sizes) == 8
    assert r.image.shape[-2:] == (72, 96)


def test_divergence_guard_keeps_the_best_image(content, style):
    r = gatys.run(content, [style], gatys.GatysOptions(steps=20, style_weight=1e36))
    assert r.stopped and "diverged" in r.stopped
    assert torch.isfinite(r.image).all()


def test_ctrl_c_returns_the_best_image_so_far(content, style):
    def interrupt(step, losses):
        if step == 4:
            raise KeyboardInterrupt
    r = gatys.run(content, [style], gatys.GatysOptions(steps=50), callback=interrupt)
    assert r.stopped == "interrupted" and len(r.history) == 4
    assert r.image.shape == content.shape


@pytest.mark.parametrize("opts,msg", [
    (dict(style_weight=-1.0), "style_weight must be at least 0"),
    (dict(content_weight=math.nan), "content_weight must be a finite number"),
    (dict(style_layers={"conv1_1": -2.0}), "style_layers: weight of conv1_1 must be >= 0"),
    (dict(style_layers={"relu9_9": 1.0}), "style_layers: unknown layer 'relu9_9'"),
    (dict(init="zeros"), "init must be one of content, noise, style"),
    (dict(steps=0), "steps must be at least 1"),
])
def test_bad_options_are_named(content, style, opts, msg):
    """Library errors name the options field (the CLI and the web translate it to their spelling)."""
    with pytest.raises(InputError, match=msg):
        gatys.run(content, [style], gatys.GatysOptions(**opts))


def test_parse_layers_accepts_weights():
    assert parse_layers("conv1_1,conv2_1:0.5") == {"conv1_1": 1.0, "conv2_1": 0.5}
    assert parse_layers(["relu4_2"]) == {"relu4_2": 1.0}
    with pytest.raises(InputError, match="NAME:WEIGHT"):
        parse_layers("conv1_1:lots")


def test_preserve_colors_keeps_the_photos_chroma(content_path, style_path):
    plain = run_stylize(content_path, style_path, size=64, steps=15)
    kept = run_stylize(content_path, style_path, size=64, steps=15, preserve_colors="luminance")
    photo = images.resize_long_side(images.load_image(content_path), 64)
    chroma = lambda t: colour.rgb_to_yiq(t)[:, 1:]
    err_kept = (chroma(kept.tensor) - chroma(photo)).abs().mean()
    err_plain = (chroma(plain.tensor) - chroma(photo)).abs().mean()
    assert err_kept < 0.01 < err_plain
    matched = run_stylize(content_path, style_path, size=64, steps=15, preserve_colors="match")
    # colour matching pulls the output's mean colour towards the photo's
    d = lambda t: (t.mean((2, 3)) - photo.mean((2, 3))).abs().sum()
    assert d(matched.tensor) < d(plain.tensor)


def test_mask_leaves_the_unmasked_region_untouched(tmp_path, content_path, style_path):
    photo = images.resize_long_side(images.load_image(content_path, long_side=64), 64)   # decoded as the run does
    h, w = photo.shape[-2:]
    m = torch.zeros(1, 3, h, w)
    m[..., : w // 2] = 1                                   # stylise the left half only
    images.save_image(m, tmp_path / "mask.png")
    r = run_stylize(content_path, style_path, size=64, steps=15, mask=tmp_path / "mask.png")
    right = (r.tensor - photo)[..., w // 2 + 2:].abs().max()
    left = (r.tensor - photo)[..., : w // 2 - 2].abs().mean()
    assert right < 2e-3 and left > 0.05


def test_stylize_api_returns_a_pil_image(content_path, style_path):
    img = stylize(content_path, style_path, size=48, steps=3)
    assert img.size == (48, 36) and img.mode == "RGB"
    with pytest.raises(InputError, match="unknown option"):
        stylize(content_path, style_path, size=48, stepz=3)


def test_absurd_size_fails_before_running(content_path, style_path):
    with pytest.raises(InputError, match=r"^size is too large: .* needs about .* but only .* is free on cpu; lower it"):
        run_stylize(content_path, style_path, size=200_000, steps=1)
