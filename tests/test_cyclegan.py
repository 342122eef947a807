"""CycleGAN: every network learns, the cycle loss falls, resume is exact, translate takes any
size, the reference code's checkpoints load, presets and the CLI."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from painterly import images, run_stylize, training
from painterly.cli import main
from painterly.methods.cyclegan.train import PRESETS, CycleGANOptions, ImagePool, train_cyclegan
from painterly.methods.cyclegan.networks import PatchDiscriminator, ResnetGenerator, SourceDiscriminator
from painterly.methods.cyclegan.model import load_generator
from painterly.methods.cyclegan.networks import DnCNNGenerator, load_reference_generator
from painterly.errors import InputError

TINY = dict(size=32, batch_size=2, channels=8, depth=2, sample_every=1, checkpoint_every=100)


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    """Domain A: smooth photos; domain B: the painting's crops, differently sized."""
    root = Path(images.__file__).parent / "data"
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    photo, paint = Image.open(root / "tubingen.jpg").convert("RGB"), Image.open(root / "starry_night.jpg").convert("RGB")
    for i in range(4):
        photo.crop((i * 60, 0, i * 60 + 300, 220)).resize((64, 48)).save(a / f"{i}.png")
        paint.crop((i * 50, 20, i * 50 + 200, 220)).resize((56, 56)).save(b / f"{i}.jpg")
    return a, b


@torch.no_grad()
def test_networks_shapes_and_any_size():
    x = torch.rand(2, 3, 37, 53)
    for g in (DnCNNGenerator(2, 8), ResnetGenerator(2, 8)):
        y = g.eval()(x)
        assert y.shape == x.shape and 0 <= float(y.min()) and float(y.max()) <= 1
    assert SourceDiscriminator()(torch.rand(2, 3, 64, 64)).shape[0] == 2
    assert PatchDiscriminator()(torch.rand(2, 3, 70, 70)).shape == (2, 36)   # 70 px -> a 6×6 patch map


def test_one_step_changes_all_four_networks(tmp_path, domains):
    # one step; compare with the initial weights the same seed gives
    opts = CycleGANOptions(epochs=1, epoch_size=2, **TINY)
    res = train_cyclegan(*domains, tmp_path / "r1", opts, device="cpu")
    ck = training.load_checkpoint(tmp_path / "r1" / "checkpoint.pt")
    assert res.step == 1
    from painterly.methods.cyclegan.networks import build_discriminator, build_generator
    training.seed_everything(0)
    init = {"G_A2B": build_generator("dncnn", 2, 8), "G_B2A": build_generator("dncnn", 2, 8),
            "D_A": build_discriminator("source"), "D_B": build_discriminator("source")}
    for name, net in init.items():
        changed = [k for k, v in net.state_dict().items() if v.is_floating_point()
                   and not torch.equal(v, ck["nets"][name][k])]
        assert changed, f"{name} did not change"


def test_cycle_loss_falls_and_files_are_written(tmp_path, domains):
    res = train_cyclegan(*domains, tmp_path / "run", CycleGANOptions(epochs=40, epoch_size=4, lr=2e-3,
                                                                    **{**TINY, "sample_every": 20}), device="cpu")
    cyc = [h["cycle"] for h in res.history]
    assert res.step == 80 and np.mean(cyc[-10:]) < 0.6 * np.mean(cyc[:10])
    run = tmp_path / "run"
    for f in ("G_A2B.pt", "G_B2A.pt", "checkpoint.pt", "losses.json", "losses.png", "samples/epoch_020.png",
              "samples/epoch_040.png"):
        assert (run / f).exists(), f
    grid = Image.open(run / "samples" / "epoch_040.png")
    assert grid.width > 3 * 32 and grid.height > 8 * 32      # 3 columns, 4 A rows + 4 B rows


def test_resume_restores_identical_state(tmp_path, domains):
    opts = dict(epoch_size=4, schedule="exponential", decay_every=1, gamma=0.5, pool_size=2, **TINY)
    straight = train_cyclegan(*domains, tmp_path / "a", CycleGANOptions(epochs=4, **opts), device="cpu")
    train_cyclegan(*domains, tmp_path / "b", CycleGANOptions(epochs=2, **opts), device="cpu")
    ck = training.load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert ck["step"] == 4 and len(ck["extras"]["A"]["images"]) == 2 and ck["schedulers"]["G"]["last_epoch"] == 2
    resumed = train_cyclegan(*domains, tmp_path / "b", CycleGANOptions(epochs=4, **opts), device="cpu", resume=True)
    keys = ("G", "cycle", "D_A", "D_B", "lr")
    assert [h[k] for h in straight.history for k in keys] == \
        pytest.approx([h[k] for h in resumed.history for k in keys], rel=1e-5)
    assert resumed.history[-1]["lr"] == pytest.approx(1e-3 * 0.5 ** 4)   # stepped after each of 4 epochs
    with pytest.raises(InputError, match="already holds a run"):
        train_cyclegan(*domains, tmp_path / "b", CycleGANOptions(epochs=4, **opts), device="cpu")


def test_image_pool_mixes_history():
    import random
    random.seed(0)
    pool = ImagePool(2)
    first = pool.query(torch.zeros(2, 3, 4, 4))
    assert torch.equal(first, torch.zeros(2, 3, 4, 4))
    mixed = pool.query(torch.ones(8, 3, 4, 4))
    olds = int((mixed.flatten(1).mean(1) == 0).sum())
    assert 0 < olds <= 2


def test_translate_any_size_both_directions(tmp_path, domains):
    train_cyclegan(*domains, tmp_path / "run", CycleGANOptions(epochs=1, epoch_size=2, **TINY), device="cpu")
    for size, d in ((37, "a2b"), (101, "b2a")):
        r = run_stylize(domains[0] / "0.png", method="cyclegan", model=str(tmp_path / "run"), direction=d,
                        size=size)
        assert max(r.image.size) == size
    out = tmp_path / "t.png"
    assert main(["translate", str(domains[0] / "1.png"), "--model", str(tmp_path / "run"), "-o", str(out),
                 "--quiet"]) == 0
    assert Image.open(out).size == (64, 48)
    assert main(["translate", str(domains[0] / "1.png"), "--model", str(tmp_path / "nope"), "-o", str(out)]) == 2


@pytest.mark.skipif(importlib.util.find_spec("vintagify") is None, reason="vintagify (reference checkpoint) absent")
def test_reference_cyclegan_checkpoint_loads_and_translates(tmp_path, content_path):
    ref = Path(importlib.util.find_spec("vintagify").origin).parent / "resources" / "G_A2B_epoch33.pth"
    g = load_reference_generator(torch.load(ref, map_location="cpu", weights_only=True))
    assert g.config == {"kind": "resnet", "blocks": 9, "ngf": 64, "affine": True}
    out = tmp_path / "v.png"
    assert main(["translate", str(content_path), "--model", str(ref), "-o", str(out), "--size", "96"]) == 0
    y = np.asarray(Image.open(out), dtype=float)
    x = np.asarray(Image.open(content_path).convert("RGB").resize((96, 72)), dtype=float)
    assert 2 < np.abs(y - x).mean() < 60     # a real, recognisable translation (not noise, not a copy)


def test_presets_are_the_source_settings():
    assert PRESETS["small-batch"]["batch_size"] == 2 and PRESETS["large-batch"]["batch_size"] == 16
    assert PRESETS["large-batch-decay"] == {"batch_size": 16, "lr": 2e-3, "schedule": "exponential",
                                            "gamma": 0.99, "decay_every": 2}


def test_cli_train_cyclegan_preset_scaled(tmp_path, domains):
    run = tmp_path / "cli"
    code = main(["train-cyclegan", "--domain-a", str(domains[0]), "--domain-b", str(domains[1]), "-o", str(run),
                 "--preset", "large-batch-decay", "--epoch-scale", "0.01", "--size", "32", "--channels", "8",
                 "--depth", "1", "--batch-size", "2", "--device", "cpu", "--quiet"])
    assert code == 0
    g, meta = load_generator(run, "b2a")
    assert meta["options"]["lr"] == 2e-3 and meta["options"]["schedule"] == "exponential"
    assert meta["epoch"] == 2.0


# ----------------------------------------------------------------------------- metrics and the shipped model

VANGOGH = Path(__file__).parent / "data" / "vangogh"   # 5 held-out paintings of the shipped model's split


@pytest.fixture(scope="module")
def metric_setup():
    from painterly.methods.cyclegan.metrics import metric_encoder
    paintings = [images.load_image(p) for p in sorted(VANGOGH.glob("*.jpg"))]   # 128 px, whole paintings
    return metric_encoder(), paintings


def test_metrics_identity_is_one_and_paintings_are_closer(metric_setup, content):
    from painterly.methods.cyclegan.metrics import evaluate, mean_grams, reference, style_distance
    enc, paintings = metric_setup
    ref = reference(enc, [content], paintings)
    res = evaluate(enc, torch.nn.Identity(), ref)
    assert res["relative_style_distance"] == pytest.approx(1.0) and res["content_distance"] == pytest.approx(0.0)
    # the distance is zero exactly at the target statistics and positive elsewhere
    own = mean_grams(enc, paintings[:1])
    assert style_distance(enc, paintings[:1], own) == pytest.approx(0.0, abs=1e-9)
    assert style_distance(enc, [content], own) > 0.1


def test_shipped_vangogh_is_magenta_and_closer_to_van_gogh_than_the_previous_model(metric_setup, content_path):
    from painterly.methods.cyclegan.metrics import evaluate, reference
    from painterly.methods.cyclegan.model import shipped, translate
    path = shipped()["vangogh"]
    doc = torch.load(path, weights_only=True, map_location="cpu")   # plain tensors and types only
    meta = doc["meta"]
    assert doc["config"]["kind"] == "magenta" and path.stat().st_size < 5 * 2**20
    assert "Apache-2.0" in meta["weights_licence"] and "public domain" in meta["data_licence"]
    g, _ = load_generator("vangogh")
    old, _ = load_generator("vangogh_resnet")             # the previous model stays available
    photo = images.resize_long_side(images.load_image(content_path), 150)[..., :, :147]   # odd sizes
    assert translate(g, photo).shape == photo.shape
    enc, paintings = metric_setup
    ref = reference(enc, [photo], paintings)
    new, before = evaluate(enc, g, ref), evaluate(enc, old, ref)
    # tubingen is in neither training set; the 5 paintings are held out. The new model moves its Gram
    # statistics much further toward van Gogh's than the previous one, with the content still there.
    assert new["relative_style_distance"] < 0.75 * before["relative_style_distance"], (new, before)
    assert new["content_distance"] < 0.9, new


def test_magenta_generator_trains_only_its_style_and_resumes_exactly(tmp_path, domains):
    from painterly.methods.cyclegan.networks import magenta_generator
    opts = dict(generator="magenta", train_params="vector", epoch_size=2, pool_size=0, **TINY)
    straight = train_cyclegan(*domains, tmp_path / "a", CycleGANOptions(epochs=2, **opts), device="cpu")
    train_cyclegan(*domains, tmp_path / "b", CycleGANOptions(epochs=1, **opts), device="cpu")
    resumed = train_cyclegan(*domains, tmp_path / "b", CycleGANOptions(epochs=2, **opts), device="cpu", resume=True)
    assert [h["G"] for h in straight.history] == pytest.approx([h["G"] for h in resumed.history], rel=1e-5)
    g, meta = load_generator(tmp_path / "a")
    start = magenta_generator("vector")
    state = g.state_dict()
    # Magenta's GPU-trained weights are untouched (up to the file's half precision); the style moved
    for k, v in start.state_dict().items():
        if k.startswith("net."):
            assert torch.allclose(state[k], v, atol=2e-3, rtol=1e-2), k
    from painterly.methods.cyclegan.train import mean_style
    moved = float((state["style"].float() - mean_style(images.list_images(domains[1]))).abs().max())
    assert moved > 1e-3 and float(state["norm_offset"].abs().sum()) == 0   # started at B's mean style, moved
    photo = torch.rand(1, 3, 30, 42)
    assert g(photo).shape == photo.shape


