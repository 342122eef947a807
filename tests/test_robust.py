"""Hostile and careless input (issue 13): memory is checked before it is spent, every bad input
is one line and exit code 2 (never a traceback), training refuses what it cannot use, messages
name the file, and Ctrl-C / SIGTERM keep what exists."""

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from painterly import device, images, signals
from painterly.cli import main
from painterly.errors import InputError, NotEnoughMemory

TRAIN = ["--size", "32", "--batch-size", "1", "--style-size", "32", "--quiet"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Tiny photo, style, 1x1 image, a folder of photos, a folder of junk, odd .pt files."""
    d = tmp_path_factory.mktemp("robust")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(d / "c.png")
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(d / "s.png")
    Image.fromarray(rng.integers(0, 255, (1, 1, 3), dtype=np.uint8)).save(d / "tiny.png")
    (d / "photos").mkdir()
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(d / "photos" / f"p{i}.png")
    (d / "junk").mkdir()
    for i in range(3):
        (d / "junk" / f"j{i}.png").write_bytes(b"not an image")
    (d / "a_file").write_text("x")
    (d / "out.png").mkdir()
    torch.save([1, 2, 3], d / "list.pt")
    torch.save("a string", d / "str.pt")
    torch.save({"conv.weight": torch.zeros(3, 3)}, d / "wrong_state_dict.pt")
    return d


@pytest.fixture
def unwritable(tmp_path) -> Path:
    """A folder nothing can be written into: read-only for a normal user; root ignores
    permissions, so there a path under /proc (which refuses new files) stands in."""
    if os.geteuid() == 0:
        yield Path("/proc")
        return
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    yield ro
    ro.chmod(0o755)


def one_line_error(capsys, code: int, *needles: str) -> str:
    """Exit code 2, exactly one line on stderr, no traceback, and it mentions each needle."""
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("painterly: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err
    return err


def env() -> dict:
    return {**os.environ, "PAINTERLY_OFFLINE": "1", "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


# ----------------------------------------------------------------------------- item 2: memory

_UNDER_ULIMIT = textwrap.dedent("""
    import contextlib, io, json, resource, sys, torch
    from painterly.cli import main
    from painterly.device import memory_guard
    from painterly.errors import NotEnoughMemory
    d, out = sys.argv[1], {}
    def run(*argv):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(list(argv))
        return code, err.getvalue().strip()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["big"] = run("stylize", d + "/big.jpg", "--model", "picasso", "--size", "64", "-o", d + "/big_out.png")
    out["big_peak_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    out["refused"] = run("stylize", d + "/c.png", d + "/s.png", "--method", "adain", "--size", "64",
                         "--style-size", "3000", "-o", d + "/o.png")
    out["scale"] = run("stylize", d + "/c.png", d + "/s.png", "--size", "64", "--style-scale", "100",
                       "-o", d + "/o.png")
    out["fits"] = run("stylize", d + "/c.png", d + "/s.png", "--method", "adain", "--size", "64",
                      "-o", d + "/o.png")
    try:
        with memory_guard("size"):
            torch.empty(2**34)                     # 64 GiB, beyond the address-space limit
    except NotEnoughMemory as e:
        out["guard"] = str(e)
    print(json.dumps(out))
""")


def test_memory_is_checked_before_it_is_spent_under_ulimit_v(files, tmp_path):
    """Under `ulimit -v 5G`: a 108-megapixel JPEG for a 64 px output decodes at reduced size
    (full size would need ~2 GB); an oversized --style-size / --style-scale is refused in one line
    that says how much it needs, how much is free (the limit counts) and what to change; a run
    that fits still runs; an allocator failure is the same one-line error."""
    for f in ("c.png", "s.png"):
        (tmp_path / f).write_bytes((files / f).read_bytes())
    Image.linear_gradient("L").resize((12000, 9000)).convert("RGB").save(tmp_path / "big.jpg", quality=80)
    limit = 5 * 2**30

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    r = subprocess.run([sys.executable, "-c", _UNDER_ULIMIT, str(tmp_path)], capture_output=True, text=True,
                       env=env(), preexec_fn=cap, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["big"][0] == 0 and Image.open(tmp_path / "big_out.png").size == (64, 48)
    assert out["big_peak_mb"] < 400, out            # full decode: 108 MP x 18 B = 1.9 GB
    code, err = out["refused"]
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("painterly: error: --style-size is too large") and "3000x3000" in err
    need, free = (float(x.split(" GiB")[0].split()[-1]) for x in err.split(" needs about ")[1].split(" but only "))
    assert need > 5 and free < limit / 2**30 and "lower it" in err
    code, err = out["scale"]
    assert code == 2 and err.startswith("painterly: error: --style-scale is too large") and "6400x6400" in err
    assert out["fits"][0] == 0, out["fits"]
    assert out["guard"].startswith("out of memory") and out["guard"].endswith("lower size")   # the field's name


@pytest.mark.parametrize("exc", [
    RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
                 "you tried to allocate 120000000000 bytes. Error code 12 (Cannot allocate memory)"),
    RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total capacity)"),
    MemoryError(),
    MemoryError("Unable to allocate 14.9 GiB for an array with shape (2000000000,) and data type float64"),
    RuntimeError("MPS backend out of memory (MPS allocated: 1.2 GB)"),
])
def test_allocator_failures_of_any_wording_are_one_line(files, monkeypatch, capsys, tmp_path, exc):
    from painterly.methods.arbitrary import stylize

    def fail(*args, **kwargs):
        raise exc
    monkeypatch.setattr(stylize, "prepare_levels", fail)     # the first heavy step of an adain run
    code = main(["stylize", str(files / "c.png"), str(files / "s.png"), "--method", "adain", "--size", "32",
                 "-o", str(tmp_path / "o.png")])
    err = one_line_error(capsys, code, "out of memory", "lower --size")
    if "120000000000" in str(exc):
        assert "111.8 GiB" in err      # says how much was asked for
    assert not (tmp_path / "o.png").exists()


def test_not_allocator_failures_are_left_alone():
    assert not device.is_out_of_memory(RuntimeError("size mismatch for conv.weight"))
    assert not device.is_out_of_memory(ValueError("bad value"))
    with pytest.raises(RuntimeError, match="mismatch"), device.memory_guard():
        raise RuntimeError("size mismatch")


def test_huge_photos_decode_at_reduced_size_close_to_full_decode(tmp_path):
    rng = np.random.default_rng(1)
    small = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    big = Image.fromarray(small).resize((1600, 1200), Image.Resampling.BICUBIC)
    for name in ("p.jpg", "p.png"):
        big.save(tmp_path / name, quality=95)
        reduced = images.load_image(tmp_path / name, long_side=100)
        assert 200 <= max(reduced.shape[-2:]) < 400                         # at least twice the size asked
        full = images.resize(images.load_image(tmp_path / name), (75, 100))
        assert (images.resize(reduced, (75, 100)) - full).abs().mean() < 0.01   # same picture
    assert images.image_size(tmp_path / "p.jpg") == (1600, 1200)
    assert images.load_image(tmp_path / "p.jpg", long_side=1000).shape[-2:] == (1200, 1600)   # not reduced


def test_free_memory_counts_the_address_space_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (2**45, hard))
        unlimited = device.free_memory_bytes("cpu")
        with open("/proc/self/status") as f:
            vm = next(int(x.split()[1]) * 1024 for x in f if x.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + 2**28, hard))
        assert device.free_memory_bytes("cpu") <= 2**28 < unlimited
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# ----------------------------------------------------------------------------- item 3: no tracebacks

def _paths(files, unwritable):
    big_seed = str(10**23)
    return {
        "stylize -o is a folder": (["stylize", "{c}", "{s}", "--method", "adain", "--size", "32", "-o", "{d}/out.png"],
                                   ["'{d}/out.png' is a folder"]),
        "export -o is a folder": (["export", "picasso", "--onnx", "{d}/out.png", "--no-check"], [".onnx"]),
        "export to a read-only place": (["export", "picasso", "--onnx", "{ro}/m.onnx", "--no-check"],
                                        ["{ro}", "writable"]),
        "folder mode into a read-only place": (["stylize", "{d}/photos", "{s}", "--method", "adain", "--size", "32",
                                                "-o", "{ro}/sub"], ["{ro}/sub", "cannot write there"]),
        "train-cyclegan into a read-only place": (["train-cyclegan", "--domain-a", "{d}/photos", "--domain-b",
                                                   "{d}/photos", "-o", "{ro}/run", "--epochs", "1", "--quiet"],
                                                  ["{ro}/run", "cannot write there"]),
        "folder mode into an existing file": (["stylize", "{d}/photos", "{s}", "--method", "adain", "--size", "32",
                                               "-o", "{d}/a_file"], ["{d}/a_file is an existing file"]),
        "train-cyclegan into an existing file": (["train-cyclegan", "--domain-a", "{d}/photos", "--domain-b",
                                                  "{d}/photos", "-o", "{d}/a_file", "--epochs", "1"],
                                                 ["{d}/a_file", "not a folder"]),
        "export --opset 3": (["export", "picasso", "--onnx", "{d}/m.onnx", "--opset", "3"], ["--opset 3", "11 to"]),
        "export --opset 999": (["export", "picasso", "--onnx", "{d}/m.onnx", "--opset", "999"], ["--opset 999"]),
        "train-style --workers -3": (["train-style", "{s}", "--data", "{d}/photos", "-o", "{d}/w.pt", "--workers",
                                      "-3", *TRAIN], ["--workers must be at least 0"]),
        "train-style --seed 10**23": (["train-style", "{s}", "--data", "{d}/photos", "-o", "{d}/w.pt", "--seed",
                                       big_seed, *TRAIN], ["--seed must be at most 9223372036854775807"]),
        "stylize --seed 10**23": (["stylize", "{c}", "{s}", "--size", "32", "--steps", "1", "-o", "{d}/o.png",
                                   "--seed", big_seed], ["--seed must be at most"]),
        "resume from a list": (["train-style", "{s}", "--data", "{d}/photos", "-o", "{d}/list.pt", "--resume",
                                *TRAIN], ["list.ckpt.pt"]),
        "resume from a string": (["train-style", "{s}", "--data", "{d}/photos", "-o", "{d}/str.pt", "--resume",
                                  *TRAIN], ["str.ckpt.pt"]),
    }


CASES = list(_paths(Path("."), Path(".")))


@pytest.mark.parametrize("case", CASES)
def test_each_former_traceback_is_one_line_and_exit_2(files, unwritable, capsys, case):
    for name in ("list", "str"):
        (files / f"{name}.ckpt.pt").write_bytes((files / f"{name}.pt").read_bytes())
    argv, needles = _paths(files, unwritable)[case]
    fmt = dict(d=files, c=files / "c.png", s=files / "s.png", ro=unwritable)
    code = main([a.format(**fmt) for a in argv])
    one_line_error(capsys, code, *(n.format(**fmt) for n in needles))
    assert not (files / "o.png").exists() and not (files / "m.onnx").exists()


def test_huge_seed_over_http_is_a_plain_422(files, tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from painterly.web.app import Settings, create_app
    client = TestClient(create_app(Settings(output_dir=tmp_path / "outputs", device="cpu")))
    r = client.post("/api/stylize", files={"content": ("c.png", (files / "c.png").read_bytes()),
                                           "style": ("s.png", (files / "s.png").read_bytes())},
                    data={"size": "32", "steps": "1", "seed": str(2**70)})
    assert r.status_code == 422, r.text
    assert "seed" in r.text and "Traceback" not in r.text         # names the field, says the bound


def test_ctrl_c_during_start_up_is_one_line_and_exit_130(files, tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "painterly", "stylize", str(files / "c.png"), str(files / "s.png"),
                          "--size", "32", "--steps", "500", "-o", str(tmp_path / "o.png")],
                         stderr=subprocess.PIPE, text=True, env=env())
    time.sleep(0.3)                 # torch is still loading
    p.send_signal(signal.SIGINT)
    err = p.communicate(timeout=120)[1]
    assert p.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "interrupted" in err


# ----------------------------------------------------------------------------- item 4: training checks

@pytest.mark.parametrize("extra,needle", [
    (["--style-weight", "-1"], "--style-weight must be at least 0"),
    (["--style-weight", "nan"], "--style-weight must be a finite number"),
    (["--lr", "0"], "--lr must be greater than 0"),
    (["--fast", "--lr", "0"], "--lr must be greater than 0"),
    (["--style-size", "100000"], "lower --style-size"),
])
def test_training_refuses_bad_values_up_front(files, capsys, extra, needle):
    code = main(["train-style", str(files / "s.png"), "--data", str(files / "photos"), "-o", str(files / "x.pt"),
                 "--steps", "2", *TRAIN, *extra])
    one_line_error(capsys, code, needle)
    assert not (files / "x.pt").exists()


def test_training_refuses_a_1x1_style_like_stylize(files, capsys):
    code = main(["train-style", str(files / "tiny.png"), "--data", str(files / "photos"), "-o",
                 str(files / "x.pt"), "--steps", "2", *TRAIN])
    one_line_error(capsys, code, f"style image '{files / 'tiny.png'}' is too small (1x1)")


def test_resume_refuses_changed_settings_and_sigterm_saves_like_ctrl_c(files, tmp_path, capsys):
    """SIGTERM at step 2 of 50: the model and checkpoint of step 2 are saved (exit 130); resuming
    with another --size or --lr is refused naming it; resuming as started continues from step 2."""
    from painterly.methods.feedforward.train import StyleTrainOptions, train_style
    from painterly.training import checkpoint_path

    def stop_at_2(record):
        if record["step"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)
    out = tmp_path / "m.pt"
    opts = dict(size=32, batch_size=1, style_size=32, checkpoint_every=0)
    handler = signal.getsignal(signal.SIGTERM)
    res = train_style(files / "s.png", files / "photos", out, StyleTrainOptions(steps=50, **opts), device="cpu",
                      callback=stop_at_2)
    assert res.stopped == "interrupted" and res.step == 2
    assert out.exists() and torch.load(checkpoint_path(out), weights_only=True)["step"] == 2
    assert signal.getsignal(signal.SIGTERM) == handler               # handler removed afterwards
    base = ["train-style", str(files / "s.png"), "--data", str(files / "photos"), "-o", str(out), "--resume",
            "--steps", "3", *TRAIN]
    for flag, value, saved in (("--size", "48", "32"), ("--lr", "0.01", "0.001"), ("--seed", "5", "0")):
        code = main(base + [flag, value])
        one_line_error(capsys, code, f"{flag} is {value} but checkpoint", f"trained with {saved}")
    assert main(base) == 0
    assert torch.load(checkpoint_path(out), weights_only=True)["step"] == 3


def test_a_signal_never_cuts_a_checkpoint_short():
    seen = []
    with pytest.raises(KeyboardInterrupt):
        with signals.uninterrupted():
            os.kill(os.getpid(), signal.SIGINT)
            seen.append("finished")                  # still running: the interrupt waits
    assert seen == ["finished"]


# ----------------------------------------------------------------------------- item 5: messages

def test_too_small_content_names_the_file(files, capsys):
    code = main(["stylize", str(files / "tiny.png"), str(files / "s.png"), "--method", "adain", "-o",
                 str(files / "o.png")])
    one_line_error(capsys, code, f"content image '{files / 'tiny.png'}' is too small (1x1)")


def test_folder_mode_bad_style_fails_once_first_and_leaves_no_folder(files, tmp_path, capsys):
    code = main(["stylize", str(files / "photos"), str(files / "tiny.png"), "--method", "adain", "--size", "32",
                 "-o", str(tmp_path / "new")])
    one_line_error(capsys, code, "style image", "tiny.png")
    assert not (tmp_path / "new").exists()
    code = main(["stylize", str(files / "photos"), "--model", "no-such-style", "--size", "32",
                 "-o", str(tmp_path / "new")])
    one_line_error(capsys, code, "no-such-style")
    assert not (tmp_path / "new").exists()


def test_folder_of_only_bad_photos_names_the_folder(files, tmp_path, capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["train-style", str(files / "s.png"), "--data", str(files / "junk"), "-o",
                     str(tmp_path / "m.pt"), "--steps", "2", *TRAIN])
    one_line_error(capsys, code, f"in folder {files / 'junk'} can be read", "j")
    assert not [w for w in caught if "junk" in str(w.message)]          # no UserWarnings first
    code = main(["stylize", str(files / "junk"), str(files / "s.png"), "--method", "adain", "--size", "32",
                 "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and f"none of the 3 images in {files / 'junk'}" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_translate_with_a_wrong_state_dict_names_the_file(files, capsys):
    code = main(["translate", str(files / "c.png"), "--model", str(files / "wrong_state_dict.pt"), "-o",
                 str(files / "t.png"), "--size", "32"])
    one_line_error(capsys, code, str(files / "wrong_state_dict.pt"))
