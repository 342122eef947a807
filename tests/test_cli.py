"""The `painterly` command: real runs, one-line errors with exit code 2, Ctrl-C saves."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from painterly.cli import main

FAST = ["--size", "48", "--steps", "3", "--quiet"]


def run_cli(*args, **kw):
    env = {**os.environ, "PAINTERLY_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "painterly", *map(str, args)], capture_output=True,
                          text=True, env=env, **kw)


def test_stylize_writes_image_history_and_intermediates(tmp_path, content_path, style_path):
    out, hist = tmp_path / "out.jpg", tmp_path / "h.json"
    code = main(["stylize", str(content_path), str(style_path), "-o", str(out), "--size", "48",
                 "--steps", "4", "--save-every", "2", "--history", str(hist), "--quiet"])
    assert code == 0
    assert Image.open(out).size == (48, 36)
    assert (tmp_path / "out_step00002.jpg").exists() and (tmp_path / "out_step00004.jpg").exists()
    doc = json.loads(hist.read_text())
    assert [h["step"] for h in doc["history"]] == [1, 2, 3, 4]
    assert {"content", "style", "tv", "total", "seconds"} <= set(doc["history"][0])
    assert doc["encoder"] == "vgg19-caffe-q8" and doc["stopped"] is None


def test_two_styles_with_blend_and_options(tmp_path, content_path, style_path):
    out = tmp_path / "blend.png"
    code = main(["stylize", str(content_path), str(style_path), str(content_path), "--style-blend", "3", "1",
                 "-o", str(out), "--style-layers", "relu1_1,relu2_1:0.5", "--content-layers", "relu4_2",
                 "--pooling", "avg", "--optimizer", "adam", "--init", "noise", "--tv-weight", "10",
                 "--preserve-colors", *FAST])
    assert code == 0 and out.exists()


@pytest.mark.parametrize("make,args,expect", [
    (None, ["missing.jpg", "{style}"], "content image 'missing.jpg' not found"),
    (lambda p: p.write_bytes(b""), ["{bad}", "{style}"], "is empty (0 bytes)"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 50), ["{content}", "{bad}"],
     "style image"),
    (None, ["{content}", "{style}", "--style-layers", "conv9_9"], "unknown layer 'conv9_9'"),
    (None, ["{content}", "{style}", "--style-weight", "-5"], "--style-weight must be"),
    (None, ["{content}", "{style}", "--encoder", "resnet"], "unknown encoder 'resnet'"),
    (None, ["{content}", "{style}", "--size", "8"], "--size must be at least 16"),
    (None, ["{content}", "{style}", "--style-blend", "1", "2"], "--style-blend has 2 weights for 1"),
])
def test_user_errors_are_one_line_exit_2_and_write_nothing(tmp_path, capsys, content_path, style_path,
                                                           make, args, expect):
    bad = tmp_path / "bad.png"
    if make:
        make(bad)
    out = tmp_path / "out.png"
    argv = ["stylize", *FAST, *[a.format(content=content_path, style=style_path, bad=bad) for a in args],
            "-o", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert expect in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_bad_output_path_is_rejected_before_work(tmp_path, capsys, content_path, style_path):
    assert main(["stylize", str(content_path), str(style_path), "-o", str(tmp_path / "x.doc"), *FAST]) == 2
    assert "unsupported extension" in capsys.readouterr().err


def test_bad_option_value_is_one_line_from_argparse(capsys, content_path, style_path):
    with pytest.raises(SystemExit) as e:
        main(["stylize", str(content_path), str(style_path), "-o", "x.png", "--steps", "many"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'many' is not a whole number" in err


def test_console_script_gives_no_traceback(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a jpeg")
    r = run_cli("stylize", bad, bad, "-o", tmp_path / "o.png")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (f"painterly: error: content image '{bad}' is not an image format painterly "
                                "can read (use PNG, JPEG, WebP, BMP, TIFF or GIF)")


def test_ctrl_c_saves_the_best_image_so_far(tmp_path, content_path, style_path):
    out = tmp_path / "out.png"
    env = {**os.environ, "PAINTERLY_OFFLINE": "1"}
    p = subprocess.Popen([sys.executable, "-m", "painterly", "stylize", str(content_path), str(style_path),
                          "-o", str(out), "--size", "64", "--steps", "100000", "--save-every", "1", "--quiet"],
                         stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while not (tmp_path / "out_step00002.png").exists():
        assert p.poll() is None and time.time() < deadline, p.stderr.read() if p.poll() is not None else "timeout"
        time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    err = p.communicate(timeout=60)[1]
    assert p.returncode == 130
    assert "interrupted" in err and "saved the best image so far" in err and "Traceback" not in err
    assert Image.open(out).size == (64, 48)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".part")]


def test_weights_lists_encoders(capsys):
    assert main(["weights"]) == 0
    out = capsys.readouterr().out
    assert "vgg19-caffe-q8" in out and "(default)" in out and "vgg16_bn-craft" in out


def test_demo_runs_offline(tmp_path):
    out = tmp_path / "demo.png"
    assert main(["demo", "-o", str(out), "--size", "64", "--steps", "5", "--quiet"]) == 0
    assert Image.open(out).size == (64, 48)


def test_bench_fast_quick_writes_json(tmp_path):
    out = tmp_path / "f.json"
    assert main(["bench", "fast", "--quick", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    from painterly.bench import one_pass_methods
    assert {(r["method"], r["size"]) for r in doc["per_size"]} == {
        (m.name, s) for m in one_pass_methods() for s in (64, 96)}
    assert {"model", "adain", "wct", "cyclegan"} <= {m.name for m in one_pass_methods()}
    assert all(r["seconds_per_image"] > 0 and r["peak_rss_mb"] > 100 for r in doc["per_size"])
    assert doc["batch_throughput"]["batch"] == 8 and doc["batch_throughput"]["images_per_second"] > 0
    # "photo (no style)" is the baseline row; the photorealistic method is also called photo
    rows = {r["method"].split()[0]: r for r in doc["quality"]["rows"] if r["method"] != "photo"}
    assert {"photo", "adain", "wct", "gatys"} <= set(rows)
    # every method moves the photo towards the style: lower Gatys style loss than the photo itself
    assert all(rows[m]["style"] < rows["photo"]["style"] for m in ("adain", "wct", "gatys"))
    assert [t["trainer"].split()[0] for t in doc["training"]] == ["train-style", "train-decoder", "train-cyclegan"]
    assert all(t["steps_per_second"] > 0 for t in doc["training"])


def test_bench_quick_writes_json(tmp_path):
    out = tmp_path / "b.json"
    assert main(["bench", "gatys", "--quick", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [r["size"] for r in doc["per_size"]] == [64, 96, 96]
    assert doc["per_size"][1]["low_memory"] != doc["per_size"][2]["low_memory"]
    for r in doc["per_size"]:
        assert 0 < r["seconds_per_step"] < 60 and r["peak_rss_mb"] > 100
    conv = doc["convergence"]
    assert [t["single_scale_step"] for t in conv["targets"]] == [3, 6, 12]
    losses = [t["target_loss"] for t in conv["targets"]]
    assert losses[0] > losses[1] > losses[2] > 0                    # the fixed targets get harder
    assert all(t["single_scale_seconds"] > 0 for t in conv["targets"])


# ----------------------------------------------------------------------------- issue 27: signals and serve

def _painterly(*args):
    env = {**os.environ, "PAINTERLY_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "painterly", *map(str, args)], stderr=subprocess.PIPE, text=True,
                            env=env)


@pytest.mark.parametrize("signals", [[signal.SIGTERM], [signal.SIGINT, signal.SIGINT], [signal.SIGTERM, signal.SIGTERM]])
def test_signals_during_start_up_are_one_line_and_exit_130(tmp_path, content_path, style_path, signals):
    """SIGTERM while PyTorch loads used to kill silently; a second Ctrl-C 50 ms after the first
    killed the process by the signal (CPython resets its handlers at exit)."""
    p = _painterly("stylize", content_path, style_path, "--size", "32", "--steps", "500", "-o", tmp_path / "o.png")
    time.sleep(0.3)
    for s in signals:
        p.send_signal(s)
        time.sleep(0.05)
    err = p.communicate(timeout=120)[1]
    assert p.returncode == 130, err
    assert err.strip() == "painterly: interrupted"
    assert not list(tmp_path.iterdir())


def test_a_second_ctrl_c_while_the_first_saves_still_saves_and_exits_130(tmp_path, content_path, style_path):
    out = tmp_path / "out.png"
    p = _painterly("stylize", content_path, style_path, "-o", out, "--size", "64", "--steps", "100000",
                   "--save-every", "1", "--quiet")
    deadline = time.time() + 120
    while not (tmp_path / "out_step00002.png").exists():
        assert p.poll() is None and time.time() < deadline, p.stderr.read() if p.poll() is not None else "timeout"
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    err = p.communicate(timeout=60)[1]
    assert p.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "saved the best image so far" in err
    assert Image.open(out).size == (64, 48) and not [f for f in os.listdir(tmp_path) if f.endswith(".part")]


@pytest.mark.parametrize("argv,needle", [
    (["--port", "70000"], "--port: must be between 1 and 65535"),
    (["--port", "-1"], "--port: must be between 1 and 65535"),
    (["--max-megapixels", "nan"], "--max-megapixels: must be a finite number above 0, got nan"),
    (["--max-megapixels", "-1"], "--max-megapixels: must be a finite number above 0, got -1"),
    (["--output-ttl", "-1"], "--output-ttl: must be a finite number above 0, got -1"),
    (["--output-ttl", "nan"], "--output-ttl: must be a finite number above 0, got nan"),
])
def test_serve_refuses_bad_limits_in_one_line(capsys, argv, needle):
    with pytest.raises(SystemExit) as e:
        main(["serve", *argv])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and needle in err and "Traceback" not in err, err


def test_serve_on_a_port_in_use_says_so_before_serving(capsys):
    pytest.importorskip("uvicorn")
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["serve", "--port", str(port), "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "serving on" not in err, err
    assert f"127.0.0.1:{port} is already in use" in err and "--port" in err
    code = main(["serve", "--host", "no-such-host.invalid", "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--host no-such-host.invalid" in err and len(err.splitlines()) == 1, err


def test_serve_listens_where_it_says_and_stops_on_sigterm(tmp_path):
    pytest.importorskip("uvicorn")
    import re
    import urllib.request
    p = _painterly("serve", "--port", "0", "--device", "cpu")
    line = p.stderr.readline()
    m = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", line)
    assert m, line
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                    f"http://127.0.0.1:{m.group(1)}/", timeout=5) as r:
                assert r.status == 200
                break
        except OSError:
            assert time.time() < deadline and p.poll() is None
            time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=60)[1]
    assert p.returncode == 130 and err.strip() == "painterly: interrupted", err
