"""Feed-forward styles (Johnson et al.): training lowers the style loss, resume is exact,
Ctrl-C saves, bad photos are skipped, ONNX matches PyTorch, CLI single/batch/video/models."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from painterly import images, training
from painterly.cli import main
from painterly.errors import InputError
from painterly.methods.feedforward.train import StyleTrainOptions, train_style
from painterly.methods.feedforward.network import TransformerNet
from painterly.methods.feedforward.model import load_model, save_model
from painterly.export import export_onnx

TINY = dict(size=32, batch_size=2, width=8, blocks=1, style_size=64, encoder="vgg19-caffe-q8",
            checkpoint_every=0, style_layers=("relu1_2", "relu2_2"), content_layers=("relu2_2",))


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Six small photos (crops of the bundled pair) and one corrupt file."""
    d = tmp_path_factory.mktemp("photos")
    root = os.path.join(os.path.dirname(images.__file__), "data")
    for i, name in enumerate(["tubingen.jpg", "starry_night.jpg"] * 3):
        im = Image.open(os.path.join(root, name)).convert("RGB").resize((96 + 8 * i, 72))
        im.save(d / f"p{i}.jpg")
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return d


def test_network_keeps_any_size_and_range():
    net = TransformerNet(8, 1).eval()
    y = net(torch.rand(1, 3, 37, 50))
    assert y.shape == (1, 3, 37, 50) and 0 <= float(y.min()) and float(y.max()) <= 1


def test_training_lowers_style_loss_and_skips_corrupt_photos(tmp_path, photos, style_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = train_style(style_path, photos, tmp_path / "m.pt",
                          StyleTrainOptions(steps=40, lr=1e-2, style_weight=1e-5, **TINY), device="cpu")
    assert any("broken.jpg" in str(w.message) and "skipping" in str(w.message) for w in caught)
    style = [h["style"] for h in res.history]
    assert res.step == 40 and res.stopped is None
    assert np.mean(style[-5:]) < 0.5 * np.mean(style[:5])
    m = load_model(tmp_path / "m.pt")
    assert m.meta["steps"] == 40 and m.meta["style"] == "starry_night.jpg" and m.meta["photos"] == 7
    assert (tmp_path / "m.losses.json").exists() and (tmp_path / "m.losses.png").stat().st_size > 1000


def test_resume_continues_from_same_step_and_optimiser_state(tmp_path, photos, style_path):
    opts = dict(lr=1e-2, **TINY)
    straight = train_style(style_path, photos, tmp_path / "a.pt", StyleTrainOptions(steps=6, **opts), device="cpu")
    first = train_style(style_path, photos, tmp_path / "b.pt", StyleTrainOptions(steps=3, **opts), device="cpu")
    ck = training.load_checkpoint(tmp_path / "b.ckpt.pt")
    assert ck["step"] == 3 and ck["optimizers"]["adam"]["state"][0]["step"].item() == 3
    resumed = train_style(style_path, photos, tmp_path / "b.pt", StyleTrainOptions(steps=6, **opts), device="cpu",
                          resume=True)
    assert first.step == 3 and resumed.step == 6 and [h["step"] for h in resumed.history] == [1, 2, 3, 4, 5, 6]
    a = training.load_checkpoint(tmp_path / "a.ckpt.pt")
    b = training.load_checkpoint(tmp_path / "b.ckpt.pt")
    for k in a["nets"]["net"]:
        torch.testing.assert_close(a["nets"]["net"][k], b["nets"]["net"][k], rtol=1e-5, atol=1e-6)
    assert [h["loss"] for h in straight.history] == pytest.approx([h["loss"] for h in resumed.history], rel=1e-5)


def test_resume_without_checkpoint_is_a_clear_error(tmp_path, photos, style_path):
    with pytest.raises(InputError, match="does not exist"):
        train_style(style_path, photos, tmp_path / "none.pt", StyleTrainOptions(steps=2, **TINY), resume=True)


def test_ctrl_c_saves_model_and_checkpoint(tmp_path, photos, style_path):
    def interrupt(record):
        if record["step"] == 2:
            raise KeyboardInterrupt

    res = train_style(style_path, photos, tmp_path / "c.pt", StyleTrainOptions(steps=50, **TINY), device="cpu",
                      callback=interrupt)
    assert res.stopped == "interrupted" and res.step == 2
    assert training.load_checkpoint(tmp_path / "c.ckpt.pt")["step"] == 2
    assert load_model(tmp_path / "c.pt").meta["steps"] == 2


def test_onnx_export_matches_pytorch(tmp_path):
    torch.manual_seed(0)
    net = TransformerNet(8, 2)
    for p in net.parameters():   # a non-trivial network: random affine norms too
        p.data.normal_(0, 0.2)
    save_model(net, tmp_path / "r.pt", {"name": "random"})
    res = export_onnx(tmp_path / "r.pt", tmp_path / "r.onnx")
    assert res["max_abs_diff"] < 1e-3 and (tmp_path / "r.onnx").exists()
    assert main(["export", str(tmp_path / "r.pt"), "--onnx", str(tmp_path / "x.txt")]) == 2


def test_damaged_model_file_is_one_line_error(tmp_path, capsys, content_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"nope")
    assert main(["stylize", str(content_path), "--model", str(bad), "-o", str(tmp_path / "o.png")]) == 2
    assert "cannot be read" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("model")
    torch.manual_seed(1)
    net = TransformerNet(8, 1)
    for p in net.parameters():
        p.data.normal_(0, 0.1)
    return save_model(net, d / "tiny.pt", {"name": "tiny"})


def test_cli_model_single_folder_and_errors(tmp_path, tiny_model, photos, content_path, style_path, capsys):
    out = tmp_path / "one.png"
    assert main(["stylize", str(content_path), "--model", str(tiny_model), "-o", str(out), "--size", "64"]) == 0
    y = np.asarray(Image.open(out), dtype=float)
    x = np.asarray(Image.open(content_path).convert("RGB").resize((64, 48)), dtype=float)
    assert y.shape == (48, 64, 3) and np.abs(y - x).mean() > 5
    # a folder: every readable photo, the broken one reported, exit 2 because one was skipped
    code = main(["stylize", str(photos), "--model", str(tiny_model), "-o", str(tmp_path / "batch"), "--size",
                 "48", "--quiet"])
    assert code == 2 and len(list((tmp_path / "batch").glob("*.png"))) == 6
    assert "broken.jpg" in capsys.readouterr().err
    # a style image makes no sense with a trained model
    assert main(["stylize", str(content_path), str(style_path), "--model", str(tiny_model), "-o", str(out)]) == 2
    assert "carries its style" in capsys.readouterr().err


def test_cli_video_frame_by_frame(tmp_path, tiny_model):
    import av
    src = tmp_path / "in.mp4"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            a = np.full((48, 64, 3), 40 * i, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(a, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    out = tmp_path / "out.mp4"
    assert main(["stylize", str(src), "--model", str(tiny_model), "-o", str(out), "--size", "64", "--quiet"]) == 0
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 5
    assert not list(tmp_path.glob(".*tmp*"))
    (tmp_path / "junk.mp4").write_bytes(b"junk")
    assert main(["stylize", str(tmp_path / "junk.mp4"), "--model", str(tiny_model), "-o", str(out)]) == 2


def test_models_lists_shipped_styles(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "starry_night" in out and "relu3_1" in out


def test_torchrun_two_cpu_processes(tmp_path, photos, style_path):
    """DDP over Gloo with torchrun: same command, two processes, one model file written."""
    out = tmp_path / "ddp.pt"
    env = {**os.environ, "PAINTERLY_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                        "29517", "-m", "painterly", "train-style", str(style_path), "--data", str(photos), "-o",
                        str(out), "--size", "32", "--batch-size", "1", "--steps", "3", "--width", "8", "--blocks",
                        "1", "--style-size", "64", "--style-layers", "relu1_2", "--encoder", "vgg19-caffe-q8",
                        "--device", "cpu", "--quiet"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "2 × cpu" in load_model(out).meta["device"]


def test_sigterm_saves_like_ctrl_c(tmp_path, photos, style_path):
    """Batch schedulers and service managers stop jobs with SIGTERM: the shared Trainer saves then too."""
    import signal

    def terminate(record):
        if record["step"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    res = train_style(style_path, photos, tmp_path / "t.pt", StyleTrainOptions(steps=50, **TINY), device="cpu",
                      callback=terminate)
    assert res.stopped == "interrupted" and res.step == 2
    assert training.load_checkpoint(tmp_path / "t.ckpt.pt")["step"] == 2
    assert signal.getsignal(signal.SIGTERM) == before        # the handler was the run's only


def test_unknown_model_name_lists_every_shipped_style(content_path, tmp_path, capsys):
    """An unknown --model names every style the model method takes (Magenta's included), in one line."""
    code = main(["stylize", str(content_path), "--model", "nosuch", "-o", str(tmp_path / "o.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "'nosuch' is neither a file nor a shipped style" in err and "starry_swirls" in err and "starry_night" in err
    assert not (tmp_path / "o.png").exists()
