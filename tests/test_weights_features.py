"""Weight registry/resolution and the named-layer encoder."""

import shutil

import pytest
import torch
import torch.nn.functional as F

from painterly import features, weights
from painterly.errors import InputError


def test_registry_names_every_encoder_with_source_and_hash():
    assert set(weights.encoders()) == {"vgg19", "vgg16", "vgg19-caffe-q8", "vgg16_bn-craft"}
    nets = {n for n, s in weights.REGISTRY.items() if s.kind == "network"}
    magenta = {"magenta-predictor", "magenta-transformer", "magenta-26styles"}
    assert nets == magenta | {"pcakd-vgg"}
    assert all("Apache-2.0" in weights.REGISTRY[n].licence for n in magenta)
    assert all(len(weights.REGISTRY[n].sha256) == 64 and weights.REGISTRY[n].licence for n in nets)
    for s in weights.REGISTRY.values():
        assert s.filename and len(s.sha256) >= 8 and s.source
    rows = {r["name"]: r for r in weights.status()}
    assert rows["vgg19-caffe-q8"]["available"] and rows["vgg16_bn-craft"]["available"]


def test_offline_default_is_the_caffe_vgg19(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # empty hub cache
    monkeypatch.delenv("PAINTERLY_WEIGHTS", raising=False)
    assert weights.auto_encoder() == "vgg19-caffe-q8"


def test_missing_torchvision_file_offline_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setenv("PAINTERLY_OFFLINE", "1")
    with pytest.raises(InputError) as e:
        weights.resolve("vgg19")
    assert "vgg19-dcbb9e9d.pth" in str(e.value) and "vgg19-caffe-q8" in str(e.value)


def test_resolution_order_env_folder_before_package(monkeypatch, tmp_path):
    src = weights.locate("vgg19-caffe-q8")
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    monkeypatch.setenv("PAINTERLY_WEIGHTS", str(tmp_path))
    assert weights.resolve("vgg19-caffe-q8") == dst
    assert weights.resolve("vgg19-caffe-q8", path=src) == src      # explicit path wins


def test_corrupted_weights_fail_the_sha256_check(monkeypatch, tmp_path):
    src = weights.locate("vgg19-caffe-q8")
    bad = tmp_path / src.name
    data = bytearray(src.read_bytes())
    data[-100] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match="sha256"):
        weights.resolve("vgg19-caffe-q8", path=bad)


def test_unknown_encoder_and_layer_names():
    with pytest.raises(InputError, match="unknown encoder 'vgg99'"):
        weights.spec("vgg99")
    with pytest.raises(InputError, match="unknown layer 'conv9_1'.*valid: conv1_1"):
        features.Encoder("vgg19-caffe-q8", ["conv9_1"])
    with pytest.raises(InputError, match="conv5_3"):   # the CRAFT backbone stops at conv5_2
        features.Encoder("vgg16_bn-craft", ["conv5_3"])


def test_layer_names_follow_the_vgg_paper():
    names = features.layer_names("vgg19-caffe-q8")
    assert names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert "relu5_4" in names and "conv3_4" in names
    assert "bn1_1" in features.layer_names("vgg16_bn-craft")


def test_encoder_is_truncated_and_returns_named_maps():
    enc = features.Encoder("vgg19-caffe-q8", ["relu2_1", "conv1_1"])
    assert list(enc.body._modules)[-1] == "relu2_1"
    out = enc(torch.rand(1, 3, 32, 48))
    assert set(out) == {"conv1_1", "relu2_1"}
    assert out["conv1_1"].shape == (1, 64, 32, 48) and out["relu2_1"].shape == (1, 128, 16, 24)
    assert out["conv1_1"].min() < 0          # a requested conv output is not clobbered by in-place ReLU
    assert out["relu2_1"].min() >= 0


def test_caffe_encoder_applies_bgr_0_255_convention():
    """conv1_1 must equal a hand-made convolution of the BGR, mean-subtracted 0-255 image."""
    enc = features.Encoder("vgg19-caffe-q8", ["conv1_1"])
    x = torch.rand(1, 3, 8, 8)
    sd = weights.load_state("vgg19-caffe-q8")
    bgr = x.flip(1) * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    ref = F.conv2d(bgr, sd["0.weight"], sd["0.bias"], padding=1)
    assert torch.allclose(enc(x)["conv1_1"], ref, rtol=1e-4, atol=1e-3)


def test_encoder_is_an_imagenet_vgg_not_random_weights(content):
    """Trained first-layer filters are smooth edge/colour detectors: neighbouring taps correlate."""
    w = weights.load_state("vgg19-caffe-q8")["0.weight"]           # (64, 3, 3, 3)
    a, b = w[..., :, :-1].flatten(), w[..., :, 1:].flatten()
    corr = torch.corrcoef(torch.stack([a, b]))[0, 1]
    assert corr > 0.3                                               # random init gives ~0


def test_average_pooling_swap():
    enc = features.Encoder("vgg19-caffe-q8", ["relu2_1"], pooling="avg")
    assert isinstance(enc.body.pool1, torch.nn.AvgPool2d)
    with pytest.raises(InputError, match="pooling"):
        features.Encoder("vgg19-caffe-q8", ["relu2_1"], pooling="median")


def test_craft_encoder_loads_with_frozen_batch_norm():
    enc = features.Encoder("vgg16_bn-craft", ["relu5_2"])
    enc.train()
    assert not enc.training and not any(p.requires_grad for p in enc.parameters())
    assert enc(torch.rand(1, 3, 32, 32))["relu5_2"].shape == (1, 512, 2, 2)


def test_checkpointed_encoder_gives_the_same_features_and_gradients():
    layers = ["conv1_1", "relu2_1", "conv4_2", "conv5_1"]
    plain = features.Encoder("vgg19-caffe-q8", layers)
    ck = features.Encoder("vgg19-caffe-q8", layers, checkpoint=True)
    x0 = torch.rand(1, 3, 40, 40)
    grads = []
    for enc in (plain, ck):
        x = x0.clone().requires_grad_(True)
        out = enc(x)
        sum((v ** 2).mean() for v in out.values()).backward()
        grads.append(x.grad)
        assert set(out) == set(layers)
    assert torch.allclose(grads[0], grads[1], rtol=1e-4, atol=1e-6 * float(grads[0].abs().max()))


def test_torchvision_layout_loads_and_matches_torchvision(monkeypatch, tmp_path):
    """A torchvision vgg19 checkpoint (random weights here) gives exactly torchvision's features."""
    import torchvision
    torch.manual_seed(0)
    ref = torchvision.models.vgg19(weights=None).eval()
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(ref.state_dict(), path)
    monkeypatch.setattr(weights, "verify", lambda s, p: None)     # random weights: hash differs
    features._state.cache_clear()
    try:
        enc = features.Encoder("vgg19", ["relu5_1", "conv3_2"], weights_path=path)
        x = torch.rand(1, 3, 48, 48)
        norm = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
            [0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        with torch.no_grad():
            expect_relu5_1 = ref.features[:30](norm)
            expect_conv3_2 = ref.features[:13](norm)
            got = enc(x)
        assert torch.allclose(got["relu5_1"], expect_relu5_1, atol=1e-5)
        assert torch.allclose(got["conv3_2"], expect_conv3_2, atol=1e-5)
    finally:
        features._state.cache_clear()


def test_download_is_hash_checked_and_failure_is_explained(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.delenv("PAINTERLY_OFFLINE", raising=False)
    monkeypatch.delenv("PAINTERLY_WEIGHTS", raising=False)
    calls = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, hash_prefix))
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    with pytest.raises(InputError) as e:
        weights.resolve("vgg19")
    assert calls == [(weights.REGISTRY["vgg19"].url, "dcbb9e9d")]
    assert calls[0][0].endswith("vgg19-dcbb9e9d.pth")
    assert "downloading it failed" in str(e.value) and "vgg19-caffe-q8" in str(e.value)
