"""Print size on tiles (`painterly.tiling`): on images small enough to run whole, the tiled output
equals the whole one (tolerance 2e-3 of the [0, 1] range, i.e. half a grey level) for every
network family, because every instance norm and AdaIN/WCT statistic is the whole image's."""

import pytest
import torch
import torch.nn as nn

from painterly import images, methods, pipeline, tiling
from painterly.methods.arbitrary import stylize as arbitrary
from painterly.methods.arbitrary.tiled import arbitrary_tiled
from painterly.cli import main
from painterly.methods.cyclegan.networks import ResnetGenerator
from painterly.errors import InputError
from painterly.methods.feedforward.model import load_model

TOL = 2e-3


def _photo(h=150, w=110):
    return images.resize(images.load_image(images.Path(pipeline.__file__).parent / "data" / "tubingen.jpg"), (h, w))


@pytest.mark.parametrize("n,tile,halo", [(150, 96, 32), (17, 64, 16), (1000, 300, 64), (64, 64, 16)])
def test_cores_partition_and_weights_sum_to_one(n, tile, halo):
    sp = tiling.spans(n, tile, halo)
    assert sp[0].core_start == 0 and sp[-1].core_end == n
    assert all(a.core_end == b.core_start for a, b in zip(sp, sp[1:]))
    assert all(s.end - s.start <= max(tile, n if len(sp) == 1 else tile) for s in sp)
    assert all(s.start % tiling.ALIGN == 0 for s in sp)
    total = torch.zeros(n)
    for s in sp:
        total[s.start:s.end] += tiling.ramp(s, n, halo // 2)
    assert torch.allclose(total, torch.ones(n))


class CondIN(nn.Module):
    """Conditional instance norm as Magenta's networks write it: IN without affine, then γ/β."""

    def __init__(self, c):
        super().__init__()
        self.norm = nn.InstanceNorm2d(c, affine=False)
        self.gamma, self.beta = nn.Parameter(torch.rand(1, c, 1, 1) + 0.5), nn.Parameter(torch.randn(1, c, 1, 1))

    def forward(self, x):
        return self.norm(x) * self.gamma + self.beta


class StyleConditioned(nn.Module):
    """Magenta's shape: net(x, style_vector) with conditional instance norm (IN + γ/β from the vector)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.norm = nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.InstanceNorm2d(8)
        self.gamma, self.beta = nn.Linear(4, 8), nn.Linear(4, 8)
        self.conv2 = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, x, v):
        y = self.norm(self.conv1(x)) * self.gamma(v)[..., None, None] + self.beta(v)[..., None, None]
        return torch.sigmoid(self.conv2(nn.functional.interpolate(torch.relu(y), scale_factor=2.0)))


def _cond_net():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), CondIN(8), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1),
                         CondIN(8), nn.ReLU(), nn.Upsample(scale_factor=2), nn.Conv2d(8, 3, 3, padding=1),
                         nn.Sigmoid())


@pytest.mark.parametrize("family", ["feedforward", "cyclegan-resnet", "conditional-in", "style-conditioned"])
def test_tiled_equals_whole_for_instance_norm_networks(family):
    torch.manual_seed(1)
    # the shipped starry_night style (an untrained TransformerNet paints almost nothing), an
    # untrained CycleGAN ResNet generator, and a network with conditional instance norm
    net = {"feedforward": lambda: load_model("starry_night").net, "cyclegan-resnet": lambda: ResnetGenerator(2, 8),
           "conditional-in": _cond_net,
           "style-conditioned": lambda: tiling.Bound(StyleConditioned(), torch.randn(1, 4), multiple=4)}[family]().eval()
    tile, halo = (192, 64) if family == "feedforward" else (128, 32)   # halo > receptive field
    x = _photo()
    with torch.inference_mode():
        whole = net(x).clamp(0, 1)
    exact, info = tiling.run_tiled(net, x, tile=tile, halo=halo, stats="exact")
    assert info["tiles"] == 6 and info["norm_layers"] >= 1
    assert (exact - whole).abs().max() < TOL
    # reduced-size statistics from a pass at the image's own size are the whole image's too
    same, _ = tiling.run_tiled(net, x, tile=tile, halo=halo, stats="reduced", reduced=150)
    assert (same - whole).abs().max() < TOL
    # ... and without whole-image statistics the tiles disagree: the test can fail
    with torch.inference_mode():
        plain = tiling.blend_tiles(lambda t: net(t).clamp(0, 1), x, (150, 110), tile, halo)
    assert (plain - whole).abs().max() > 10 * TOL


@pytest.mark.parametrize("kind", ["adain", "wct"])
def test_tiled_arbitrary_equals_whole(kind, style):
    x = _photo(120, 100)
    s = images.resize_long_side(style, 120)
    opts = arbitrary.ArbitraryOptions(alpha=0.8)
    whole, _ = arbitrary.run(kind, x, [s], opts)
    u8 = (x * 255 + 0.5).to(torch.uint8)
    tiled, info = arbitrary_tiled(kind, u8, [s], opts, tile=128, halo=32)
    assert info["tiles"] == 4 and tiled.shape == whole.shape
    quantised, _ = arbitrary.run(kind, u8.float() / 255, [s], opts)
    assert (tiled - quantised).abs().max() < TOL
    assert (tiled - whole).abs().mean() < 5e-3           # uint8 content costs about half a grey level


def _plan(h, w, name, tile=None, force=False):
    m = methods.get(name)
    return pipeline.plan_tiles(h, w, "cpu", m, m.options(model="x") if m.needs_model else m.options(), tile, force)


def test_tiles_only_when_the_whole_image_would_not_fit(monkeypatch):
    monkeypatch.setattr(pipeline, "free_memory_bytes", lambda device: 4 * 2**30)
    assert _plan(400, 600, "model") is None
    tile = _plan(4000, 6000, "wct")                                 # 24 MP: tiles, within the budget
    bpp = methods.get("wct").memory(1000, 1000, None) / 1e6
    assert tile is not None and tile**2 * bpp <= pipeline.TILE_BUDGET
    assert _plan(400, 600, "adain", force=True) is not None
    assert _plan(400, 600, "adain", 300, force=True) == 300
    assert {m.name for m in methods.all_methods() if m.tiled} >= {"adain", "wct", "model", "cyclegan"}
    monkeypatch.setattr(pipeline, "free_memory_bytes", lambda device: 100 * 2**20)
    with pytest.raises(InputError, match="needs about .* GiB even on tiles"):
        _plan(4000, 6000, "model")
    assert _plan(4000, 6000, "gatys") is None        # never tiled: the whole-run check refuses it instead
    gatys = methods.get("gatys")
    with pytest.raises(InputError, match="needs about .* but only"):
        pipeline.check_fits(gatys, 4000, 6000, "cpu", gatys.options())


def test_pipeline_tiled_matches_whole(content_path):
    whole = pipeline.run_stylize(content_path, None, method="model", model="starry_night", size=200)
    calls = []
    tiled = pipeline.run_stylize(content_path, None, method="model", model="starry_night", size=200, tile=256,
                                 tile_stats="exact", tile_callback=lambda *a: calls.append(a))
    assert tiled.info["tiles"] == 4 and calls[-1] == (4, 4, "tiles")
    assert tiled.image.size == whole.image.size
    # PIL's and torch's bicubic upscaling of the photo differ slightly; the stylised images agree
    assert (tiled.tensor - whole.tensor).abs().mean() < 0.01


def test_cli_tile_errors(content_path, style_path, tmp_path, capsys):
    out = tmp_path / "o.png"
    assert main(["stylize", str(content_path), str(style_path), "--size", "64", "--tile", "-o", str(out)]) == 2
    assert "--tile works with the one-pass methods" in capsys.readouterr().err
    assert main(["stylize", str(content_path), style_path.as_posix(), "--method", "adain", "--size", "64", "--tile",
                 "--style-masks", str(content_path), "-o", str(out)]) == 2
    assert "--style-masks works on tiles with method magenta, not adain" in capsys.readouterr().err
    assert main(["stylize", str(content_path), "--model", "starry_night", "--size", "64", "--tile", "40",
                 "-o", str(out)]) == 2
    assert "--tile 40 is too small" in capsys.readouterr().err
    assert not out.exists()
    assert main(["stylize", str(content_path), "--model", "starry_night", "--size", "96", "--tile", "160",
                 "--quiet", "-o", str(out)]) == 0
    assert images.load_image(out).shape[-2:] == (72, 96)


def test_magenta_26_style_network_tiles_like_the_whole(content_path):
    """Magenta's 26-style network (conditional instance norm with γ/β rows) through --model, tiled."""
    pytest.importorskip("onnxruntime")
    x = (images.resize(images.load_image(content_path), (150, 200)) * 255).round() / 255   # uint8 exact
    whole = pipeline.run_stylize(x, None, method="model", model="starry_swirls", size=None)
    tiled = pipeline.run_stylize(x, None, method="model", model="starry_swirls", size=None, tile=256,
                                 tile_stats="exact")
    assert tiled.info["tiles"] == 4 and tiled.info["norm_layers"] > 10
    assert (tiled.tensor - whole.tensor).abs().max() < TOL


def test_magenta_arbitrary_tiles_like_the_whole(content_path, style_path):
    """Any painting (Ghiasi's transformer) on tiles: strength, blends and region masks as in a whole run."""
    pytest.importorskip("onnxruntime")
    x = (images.resize(images.load_image(content_path), (150, 200)) * 255).round() / 255   # uint8 exact
    matisse = content_path.parent / "woman_with_hat.jpg"
    for extra in ({}, {"strength": 0.6, "style_blend": [2, 1]}):
        styles = [style_path, matisse] if "style_blend" in extra else [style_path]
        whole = pipeline.run_stylize(x, styles, method="magenta", size=None, **extra)
        tiled = pipeline.run_stylize(x, styles, method="magenta", size=None, tile=256, tile_stats="exact", **extra)
        assert tiled.info["tiles"] == 4 and tiled.info["norm_layers"] == 13
        assert (tiled.tensor - whole.tensor).abs().max() < TOL
    # one painting per region: left half one, right half the other
    left = torch.zeros(1, 1, 150, 200)
    left[..., :100] = 1
    masks = [left, 1 - left]
    whole = pipeline.run_stylize(x, [style_path, matisse], method="magenta", size=None, style_masks=masks)
    tiled = pipeline.run_stylize(x, [style_path, matisse], method="magenta", size=None, style_masks=masks,
                                 tile=256, tile_stats="exact")
    assert (tiled.tensor - whole.tensor).abs().max() < TOL
    one = pipeline.run_stylize(x, [matisse], method="magenta", size=None, tile=256, tile_stats="exact")
    assert (tiled.tensor[..., 110:] - one.tensor[..., 110:]).abs().max() < TOL   # right: Matisse alone


def test_tiled_runs_make_glibc_return_large_freed_blocks():
    """The 24 MP AdaIN run peaked at 2.5 GB until large freed blocks went back to the system."""
    import sys
    from painterly import device
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc only")
    assert device.return_freed_memory() is True
