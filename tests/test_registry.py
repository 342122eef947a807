"""The method registry and options dataclasses as the single source: every front end shows every
method, every CLI default is the dataclass default, and one registration adds a method everywhere."""

import dataclasses

import pytest
import torch

from painterly import methods, run_stylize
from painterly.bench import one_pass_methods
from painterly.cli import build_parser, main
from painterly.errors import InputError
from painterly.options import OptionError, default_of
from painterly.request import TransferOptions


def _cli_fields(cls):
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli")]


@pytest.mark.parametrize("command,argv,classes", [
    ("stylize", ["stylize", "c.jpg", "s.jpg", "-o", "o.png"],
     lambda: [TransferOptions, *dict.fromkeys(m.options for m in methods.all_methods())]),
    ("train-style", ["train-style", "s.jpg", "--data", "d", "-o", "m.pt"],
     lambda: [__import__("painterly.methods.feedforward.train", fromlist=["x"]).StyleTrainOptions]),
    ("train-decoder", ["train-decoder", "--content-dir", "d", "-o", "d.pt"],
     lambda: [__import__("painterly.methods.arbitrary.train", fromlist=["x"]).DecoderTrainOptions]),
    ("train-cyclegan", ["train-cyclegan", "--domain-a", "a", "--domain-b", "b", "-o", "run"],
     lambda: [__import__("painterly.methods.cyclegan.train", fromlist=["x"]).CycleGANOptions]),
    ("translate", ["translate", "c.jpg", "--model", "run", "-o", "o.png"],
     lambda: [methods.get("cyclegan").options]),
])
def test_every_cli_default_is_the_dataclass_default(command, argv, classes):
    args = build_parser().parse_args(argv)
    checked = 0
    for cls in classes():
        for f in _cli_fields(cls):
            if f.name in ("model",) and command == "translate":
                continue                                  # required there
            assert getattr(args, f.name) == default_of(f), f"{command} {f.name}"
            checked += 1
    assert checked >= 1


def test_every_method_is_in_help_api_page_and_bench(capsys, tmp_path):
    with pytest.raises(SystemExit):
        main(["stylize", "--help"])
    helptext = capsys.readouterr().out
    fastapi = pytest.importorskip("fastapi.testclient")
    from painterly.web.app import Settings, create_app
    client = fastapi.TestClient(create_app(Settings(output_dir=tmp_path, device="cpu")))
    api = client.get("/api/methods").json()
    page = {d["name"]: d["title"] for d in api["details"]}     # the page builds its method cards from these
    benched = {m.name for m in one_pass_methods()}
    for m in methods.all_methods():
        assert f"{m.name}: {m.title}" in " ".join(helptext.split())
        assert m.iterative or m.name in benched, f"{m.name} has no bench entry"
        in_browser = m.can_run_in_browser()
        assert (m.name in api["methods"]) == in_browser
        assert (page.get(m.name) == m.title) == in_browser
        if in_browser:
            detail = next(d for d in api["details"] if d["name"] == m.name)
            assert {o["name"] for o in detail["options"]} <= {f.name for f in dataclasses.fields(m.options)}
    # a method that needs a model and lists none can never run in a browser: not offered there
    assert all(m.can_run_in_browser() or (m.needs_model and not (m.models and m.models())) for m in methods.all_methods())


def test_one_registration_adds_a_method_everywhere(content_path, capsys):
    """A new method is one family plus one registration (the template, painterly/methods/_template):
    the pipeline and the CLI pick it up; users never see the template itself."""
    import importlib
    assert "negative" not in methods.names()
    template = importlib.import_module("painterly.methods._template.method")
    try:
        m = methods.get("negative")
        assert m.family == "_template" and m.hidden and "negative" not in methods.names()
        res = run_stylize(content_path, method="negative", size=32, amount=1.0, device="cpu")
        photo = run_stylize(content_path, method="negative", size=32, amount=0.0, device="cpu")
        assert torch.allclose(res.tensor, 1 - photo.tensor, atol=1e-5)
        half = run_stylize(content_path, method="negative", size=32, strength=0.5, device="cpu")
        assert torch.allclose(half.tensor, torch.full_like(half.tensor, 0.5), atol=1e-5)   # the pipeline's blend
        with pytest.raises(OptionError, match="amount must be at most 1"):
            run_stylize(content_path, method="negative", size=32, amount=2.0, device="cpu").tensor
        with pytest.raises(dataclasses.FrozenInstanceError):
            m.options().amount = 0.5                      # options cannot change under a run
    finally:
        methods.unregister("negative")
    with pytest.raises(InputError, match="unknown method 'negative'"):
        methods.get("negative")

    # a method registered like the template's, from any module, is listed everywhere
    @methods.register
    def negative():
        return dataclasses.replace(template.negative(), title="Negative (test)")
    try:
        assert methods.get("negative").family == "" and methods.names()[-1] == "negative"
        with pytest.raises(SystemExit):
            main(["stylize", "--help"])
        out = capsys.readouterr().out
        assert "negative: Negative (test)" in " ".join(out.split()) and "--amount" in out
        with pytest.raises(ValueError, match="registered twice"):
            methods.register(negative)
    finally:
        methods.unregister("negative")


def test_registration_reads_the_family_from_the_module_not_the_stack():
    import inspect
    from painterly.methods import base
    assert "_getframe" not in inspect.getsource(base) and "ROOMS" not in inspect.getsource(base)
    assert base.family_of("painterly.methods.arbitrary.method") == "arbitrary"
    assert base.family_of("tests.test_registry") == ""
    assert [m.family for m in methods.all_methods()] == sorted(
        (m.family for m in methods.all_methods()), key=base.FAMILIES.index)


def test_cli_names_flags_where_the_library_names_fields(capsys, content_path, style_path, tmp_path):
    assert main(["stylize", str(content_path), str(style_path), "-o", str(tmp_path / "o.png"),
                 "--strength", "3"]) == 2
    assert "painterly: error: --strength must be at most 1" in capsys.readouterr().err
    assert main(["stylize", str(content_path), str(style_path), "-o", str(tmp_path / "o.png"), "--size", "32",
                 "--weights", "x", "--content-layers", "conv1_1:lots"]) == 2
    assert "--content-layers: 'conv1_1:lots' is not NAME or NAME:WEIGHT" in capsys.readouterr().err


def test_every_cyclegan_preset_is_a_flag_value():
    from painterly.methods.cyclegan.train import PRESETS
    for name in PRESETS:
        args = build_parser().parse_args(["train-cyclegan", "--domain-a", "a", "--domain-b", "b", "-o", "r",
                                          "--preset", name])
        assert args.preset == name


def test_help_and_parsing_stylize_import_no_trainer_or_optional_package():
    import subprocess
    import sys
    code = ("import sys, contextlib, io; from painterly.cli import build_parser, main; build_parser('stylize').parse_args("
            "['stylize', 'c.jpg', 's.jpg', '-o', 'o.png'])\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()): main(['--help'])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('gradio', 'matplotlib', 'onnx', 'onnxruntime', 'av', 'torchvision') or m.endswith('.train')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_registry_first_load_is_complete_in_every_thread():
    """Two web requests asking at once must both see every method (a half-loaded list hid one)."""
    import subprocess
    import sys
    code = (
        "import threading, painterly.methods as m\n"
        "seen = []\n"
        "b = threading.Barrier(8)\n"
        "def ask():\n"
        "    b.wait(); seen.append(len(m.names()))\n"
        "ts = [threading.Thread(target=ask) for _ in range(8)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "print(sorted(set(seen)), len(m.names()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == f"[{out[1]}]", out
