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


# ----------------------------------------------------------------------------- issue 27: the command line

@pytest.fixture(scope="module")
def more(files):
    """Photos whose header alone says they cannot be used, a folder with one bad photo among good ones."""
    rng = np.random.default_rng(2)
    for name, (h, w) in {"p8.png": (8, 8), "thin.png": (20, 116), "elongated.png": (20, 400)}.items():
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(files / name)
    (files / "mixed").mkdir(exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(files / "mixed" / "good.png")
    for i in range(2):
        (files / "mixed" / f"bad{i}.png").write_bytes(b"not an image")
    return files


@pytest.mark.parametrize("photo,needle", [
    ("tiny.png", "photo '{d}/tiny.png' is too small (1x1)"),
    ("p8.png", "photo '{d}/p8.png' is too small (8x8)"),
    ("thin.png", "photo '{d}/thin.png' at --size 64 is too small (64x11)"),    # was a RuntimeError traceback
])
def test_refine_style_refuses_photos_under_16_px_like_every_role(more, capsys, photo, needle):
    out = more / "v.pt"
    code = main(["refine-style", str(more / "s.png"), "--photos", str(more / photo), "--size", "64", "--steps", "1",
                 "-o", str(out), "--quiet"])
    one_line_error(capsys, code, needle.format(d=more))
    assert not out.exists()


@pytest.mark.parametrize("value", ["abc", "-1", "0", "1.5", "nan"])
def test_painterly_max_pixels_must_be_a_whole_number(files, capsys, monkeypatch, value):
    monkeypatch.setenv("PAINTERLY_MAX_PIXELS", value)
    code = main(["stylize", str(files / "c.png"), str(files / "s.png"), "--method", "adain", "--size", "32",
                 "-o", str(files / "o.png")])
    err = one_line_error(capsys, code, f"PAINTERLY_MAX_PIXELS must be a whole number of pixels, at least 1",
                         f"got '{value}'")
    assert "-0 MP" not in err and not (files / "o.png").exists()
    monkeypatch.setenv("PAINTERLY_MAX_PIXELS", "1e3")        # 1000 px: the 64x48 photo is over it
    code = main(["stylize", str(files / "c.png"), str(files / "s.png"), "--method", "adain", "--size", "32",
                 "-o", str(files / "o.png")])
    one_line_error(capsys, code, "is too large (over 0.001 MP", "PAINTERLY_MAX_PIXELS")


def test_a_full_disk_while_training_is_one_line_and_leaves_no_part_file(files, tmp_path, capsys, monkeypatch):
    """train-style -o on a full disk: the checkpoint writer's failure (torch's C++ writer used to say
    "[enforce fail at inline_container.cc]") is one line, exit 2; no temporary file is left."""
    from painterly import images as images_mod
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(images_mod.os, "fdopen", lambda fd, mode="r", *a, **k: Full(real_fdopen(fd, mode, *a, **k)))
    out = tmp_path / "m.pt"
    code = main(["train-style", str(files / "s.png"), "--data", str(files / "photos"), "-o", str(out), "--steps", "2",
                 *TRAIN])
    one_line_error(capsys, code, f"cannot write {tmp_path}", "the disk is full")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_really_full_disk_while_training_is_one_line(files, tmp_path, capsys):
    """The same on a real full file system: a 256 KiB tmpfs (needs the right to mount; skipped elsewhere)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        code = main(["train-style", str(files / "s.png"), "--data", str(files / "photos"), "-o", str(disk / "m.pt"),
                     "--steps", "2", *TRAIN])
        one_line_error(capsys, code, f"cannot write {disk}", "the disk is full")
        assert not [p for p in disk.iterdir() if p.name.startswith(".")]        # no temporary file left
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_train_cyclegan_on_only_bad_photos_or_interrupted_at_start_leaves_no_run_folder(files, tmp_path, capsys,
                                                                                       monkeypatch):
    run = tmp_path / "run"
    code = main(["train-cyclegan", "--domain-a", str(files / "junk"), "--domain-b", str(files / "photos"),
                 "-o", str(run), "--epochs", "1", "--size", "32", "--quiet"])
    one_line_error(capsys, code, f"in folder {files / 'junk'} can be read")
    assert not run.exists()
    from painterly import training

    def ctrl_c(self, k):           # Ctrl-C while the first crops are being read (2 s into a real run)
        raise KeyboardInterrupt
    monkeypatch.setattr(training.RandomCrops, "__getitem__", ctrl_c)
    code = main(["train-cyclegan", "--domain-a", str(files / "photos"), "--domain-b", str(files / "photos"),
                 "-o", str(run), "--epochs", "1", "--size", "32", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 130 and len(err.splitlines()) == 1 and "interrupted" in err, err
    assert not run.exists()


def test_interrupted_before_the_first_step_a_trainer_writes_nothing(files, tmp_path):
    from painterly.methods.feedforward.train import StyleTrainOptions, train_style

    def stop(record):
        raise AssertionError("no step should run")
    out = tmp_path / "m.pt"
    opts = StyleTrainOptions(steps=5, size=32, batch_size=1, style_size=32)
    from painterly import training
    real = training.Trainer.fit

    def fit_interrupted_at_once(self, step_fn, data, *a, **k):
        def interrupted(*_):
            raise KeyboardInterrupt
        return real(self, interrupted, data, *a, **k)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training.Trainer, "fit", fit_interrupted_at_once)
        res = train_style(files / "s.png", files / "photos", out, opts, device="cpu", callback=stop)
    assert res.stopped == "interrupted" and res.step == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("history", ["folder", "missing/h.json", "same"])
def test_history_is_checked_before_the_run_and_named(files, tmp_path, capsys, history):
    out = tmp_path / "o.png"
    (tmp_path / "folder").mkdir()
    path = {"same": out}.get(history, tmp_path / history)
    code = main(["stylize", str(files / "c.png"), str(files / "s.png"), "--method", "adain", "--size", "32",
                 "-o", str(out), "--history", str(path)])
    one_line_error(capsys, code, f"--history {path}")
    assert not out.exists()                         # refused before anything was painted


@pytest.mark.parametrize("content", ["no_such_folder", "no_such_folder/", "missing.jpg"])
def test_a_missing_input_is_named_not_the_output(files, tmp_path, capsys, content):
    code = main(["stylize", str(tmp_path / content), str(files / "s.png"), "--method", "adain",
                 "-o", str(tmp_path / "out")])
    err = one_line_error(capsys, code, "not found: check the path", str(tmp_path / content.rstrip("/")))
    assert "extension" not in err


def test_a_huge_style_square_is_refused_from_memory_and_named(files, capsys):
    for argv in (["stylize", str(files / "c.png"), str(files / "s.png"), "--method", "magenta", "--size", "32",
                  "--style-square", "100000", "-o", str(files / "o.png")],
                 ["refine-style", str(files / "s.png"), "--photos", str(files / "c.png"), "--size", "64",
                  "--style-square", "100000", "-o", str(files / "v.pt"), "--quiet"]):
        err = one_line_error(capsys, main(argv), "--style-square is too large", "100000x100000", "is free on cpu",
                             "lower it")
        assert "--size" not in err and "out of memory" not in err
    assert not (files / "o.png").exists() and not (files / "v.pt").exists()


@pytest.mark.parametrize("argv", [
    ["stylize", "{c}", "{s}", "--size", "32", "--steps", "1", "--encoder", "bogus", "-o", "{d}/o.png"],
    ["train-style", "{s}", "--data", "{d}/photos", "-o", "{d}/x.pt", "--steps", "1", "--encoder", "bogus", *TRAIN],
    ["refine-style", "{s}", "--photos", "{c}", "--size", "64", "--encoder", "bogus", "-o", "{d}/v.pt", "--quiet"],
])
def test_an_unknown_encoder_is_blamed_on_encoder(files, capsys, argv):
    code = main([a.format(d=files, c=files / "c.png", s=files / "s.png") for a in argv])
    err = one_line_error(capsys, code, "--encoder: unknown encoder 'bogus'", "vgg19")
    assert "layers" not in err


def test_a_style_too_small_at_the_size_it_is_used_names_its_file_and_option(more, capsys):
    """A 400x20 painting used at a 64 px output is 64x3: named, with the option that sets its size."""
    code = main(["stylize", str(more / "c.png"), str(more / "elongated.png"), "--size", "64", "--steps", "1",
                 "-o", str(more / "o.png")])
    one_line_error(capsys, code, "--style-scale makes", f"style image '{more / 'elongated.png'}' 64x3 (from 400x20)",
                   "at least 16 px")


def test_an_unreadable_training_photo_is_reported_once(more, tmp_path, capsys):
    """train-style --fast and train-cyclegan read a folder with several readers (the first batch,
    the fixed sample crops, the training stream): each bad file is still one warning line."""
    runs = {"fast": ["train-style", str(more / "s.png"), "--data", str(more / "mixed"), "-o", str(tmp_path / "f.pt"),
                     "--fast", "--steps", "1", "--size", "32", "--batch-size", "1", "--style-size", "32", "--quiet"],
            "cyclegan": ["train-cyclegan", "--domain-a", str(more / "mixed"), "--domain-b", str(more / "photos"),
                         "-o", str(tmp_path / "run"), "--epochs", "1", "--epoch-size", "1", "--size", "32",
                         "--batch-size", "1", "--quiet"]}
    for name, argv in runs.items():
        with warnings.catch_warnings():
            warnings.simplefilter("always")          # what a user sees: every warning shown
            code = main(argv)
        err = capsys.readouterr().err
        assert code == 0, err
        lines = [line for line in err.splitlines() if line.startswith("painterly: warning: skipping")]
        assert lines and len(lines) == len(set(lines)) and all("bad" in line for line in lines), (name, err)


def test_values_nobody_means_are_refused(files, capsys):
    base = ["stylize", str(files / "c.png"), str(files / "s.png"), "-o", str(files / "o.png")]
    for extra, needle in ((["--size", "32", "--steps", "1e22"], "--steps must be at most 1000000, got 1"),
                          (["--size", "64", "--steps", "1", "--scales", "100"], "--scales must be at most 16"),
                          (["--size", "64", "--steps", "1", "--scales", "3"],
                           "--scales 3 is more than a 64x48 output can have: at most 1"),
                          (["--method", "adain", "--size", "64", "--tile", "1000000000"],
                           "--tile must be at most 16384")):
        one_line_error(capsys, main(base + extra), needle)
    assert not (files / "o.png").exists()
    for scale in ("nan", "-1", "0"):
        with pytest.raises(SystemExit) as e:
            main(["train-cyclegan", "--domain-a", str(files / "photos"), "--domain-b", str(files / "photos"),
                  "-o", str(files / "run"), "--epochs", "1", "--epoch-scale", scale])
        assert e.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--epoch-scale: must be a finite number above 0" in err, err
    assert not (files / "run").exists()


@pytest.mark.parametrize("case", ["photo", "folder", "mask"])
def test_an_output_naming_an_input_is_refused_not_overwritten(files, tmp_path, capsys, case):
    photo = tmp_path / "photo.png"
    photo.write_bytes((files / "c.png").read_bytes())
    before = photo.read_bytes()
    argv = {"photo": ["stylize", str(photo), str(files / "s.png"), "--method", "adain", "--size", "32",
                      "-o", str(photo)],
            "folder": ["stylize", str(tmp_path), str(files / "s.png"), "--method", "adain", "--size", "32",
                       "-o", str(tmp_path)],
            "mask": ["mask", str(photo), "--what", "sky", "-o", str(photo)]}[case]
    one_line_error(capsys, main(argv), "is the input", "never overwrites its input")
    assert photo.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


def test_strength_0_is_the_photo_for_every_method(files, tmp_path):
    """README: `--strength 0` is the photo, whatever the method (Magenta and AdaIN mix in feature space,
    which alone gave the network's rendering of the photo: 26 and 20 of 255 away on average)."""
    from painterly import methods
    from painterly.pipeline import run_stylize
    photo = np.asarray(Image.open(files / "c.png").convert("RGB"))
    for m in methods.all_methods():
        extra = {"model": m.models()[0].name} if m.needs_model else {}
        if m.iterative:                  # Gatys: from noise, so that one step is visibly not the photo
            extra.update(steps=1, init="noise")
        styles = [files / "s.png"] if m.needs_style else []
        res = run_stylize(files / "c.png", styles, method=m.name, size=64, strength=0.0, device="cpu", **extra)
        assert np.array_equal(np.asarray(res.image), photo), m.name
        half = run_stylize(files / "c.png", styles, method=m.name, size=64, strength=0.5, device="cpu", **extra)
        assert np.abs(np.asarray(half.image).astype(int) - photo).mean() > 1, m.name    # and the style still shows


_PEAK = textwrap.dedent("""
    import sys
    from painterly.__main__ import main
    try:
        code = main(sys.argv[2:])
    finally:
        with open("/proc/self/status") as f:      # this process's own high-water mark (ru_maxrss of a
            hwm = next(x.split()[1] for x in f if x.startswith("VmHWM:"))   # child counts its parent's too)
        open(sys.argv[1], "w").write(hwm)
    sys.exit(code)
""")


def _peak_mb(argv: list, tmp: Path) -> tuple[int, float, str]:
    """Run the painterly command ARGV in a fresh process: (exit code, its peak RSS in MB, stderr)."""
    hwm = tmp / "hwm.txt"
    r = subprocess.run([sys.executable, "-c", _PEAK, str(hwm), *map(str, argv)], capture_output=True, text=True,
                       env=env(), timeout=300)
    return r.returncode, int(hwm.read_text()) / 1024, r.stderr


def test_huge_styles_and_masks_cost_what_the_output_needs(files, tmp_path):
    """A 108 MP JPEG as a Magenta style or as a mask, for a 64 px output, costs little more than a
    small one (it cost 2.5 GB: decoded whole); a 64 MP PNG mask of the wrong shape is refused from its
    header (1.8 GB to decode it first)."""
    big, square = tmp_path / "big.jpg", tmp_path / "square.png"
    Image.linear_gradient("L").resize((12000, 9000)).convert("RGB").save(big, quality=80)     # 4:3, as c.png
    Image.linear_gradient("L").resize((8000, 8000)).save(square)
    out = tmp_path / "o.png"
    base = ["stylize", files / "c.png", "--size", "64", "-o", out, "--quiet"]
    code, small, err = _peak_mb([*base[:2], files / "s.png", "--method", "magenta", *base[2:]], tmp_path)
    assert code == 0, err
    code, style, err = _peak_mb([*base[:2], big, "--method", "magenta", *base[2:]], tmp_path)
    assert code == 0, err
    code, mask, err = _peak_mb([*base[:2], files / "s.png", "--method", "magenta", "--mask", big, *base[2:]], tmp_path)
    assert code == 0, err
    code, refused, err = _peak_mb([*base[:2], files / "s.png", "--method", "magenta", "--mask", square, *base[2:]],
                                  tmp_path)
    assert code == 2 and "is 8000x8000 but the photo's shape is 64x48" in err, err
    # decoding the JPEG at 1/8 scale costs ~5 MB, the whole of it 324 MB as bytes and 1.3 GB as floats
    print(f"peak RSS MB: small style {small:.0f}, 108 MP style {style:.0f}, 108 MP mask {mask:.0f}, 64 MP wrong mask {refused:.0f}")
    assert style - small < 150 and mask - small < 150 and refused - small < 150, (small, style, mask, refused)
