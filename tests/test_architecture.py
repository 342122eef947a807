"""The shape of the code: imports run one way (no circle between files), nothing outside the
registry special-cases a method by name, and one frozen request paints every photo of a folder
and every frame of a video the same way."""

import ast
import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from painterly import methods, run_stylize

PKG = Path(__file__).resolve().parents[1] / "painterly"


def _module_file(parts: list[str]) -> Path | None:
    """The file of module painterly.<parts>: a .py file or a package's __init__.py."""
    base = PKG.joinpath(*parts)
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def _imports(path: Path) -> set[Path]:
    """Files of painterly/ that `path` imports anywhere (functions included, relative imports resolved)."""
    rel = path.relative_to(PKG)
    package = list(rel.parts[:-1])            # the package the file is in (for relative imports)
    out: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name.split(".") for a in node.names]
            mods = [t[1:] for t in targets if t[0] == "painterly"]
            out |= {f for f in (_module_file(m) for m in mods) if f}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                mod = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "painterly":
                mod = node.module.split(".")[1:]
            else:
                continue
            for a in node.names:                  # `from . import x`: x may be a module itself
                sub = _module_file(mod + [a.name])
                f = sub or _module_file(mod)
                if f:
                    out.add(f)
    out.discard(path)
    return out


def test_no_import_cycle_between_files():
    files = sorted(p for p in PKG.rglob("*.py"))
    graph = {f: _imports(f) for f in files}
    assert sum(map(len, graph.values())) > 100          # the walker sees the imports
    state: dict[Path, int] = {}
    stack: list[Path] = []

    def visit(f: Path) -> None:
        state[f] = 1
        stack.append(f)
        for g in sorted(graph.get(f, ())):
            if state.get(g) == 1:
                cycle = stack[stack.index(g):] + [g]
                pytest.fail("import cycle: " + " -> ".join(str(p.relative_to(PKG)) for p in cycle))
            if g not in state:
                visit(g)
        stack.pop()
        state[f] = 2
    for f in files:
        if f not in state:
            visit(f)


#: Shared pieces: they never name a method, not even in a string (docstrings aside).
SHARED = ("pipeline.py", "batch.py", "request.py", "tiling.py", "video.py", "losses.py", "features.py",
          "colour.py", "images.py", "options.py", "device.py", "training.py", "checkpoints.py")


def _strings(tree: ast.AST) -> list[ast.Constant]:
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docs]


def test_nothing_outside_the_registry_compares_method_names():
    names = set(methods.names()) | {"negative"}
    found = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if rel.parts[0] == "methods":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            consts = {n.value for s in sides for n in ast.walk(s) if isinstance(n, ast.Constant)}
            text = " ".join(ast.unparse(s) for s in sides)
            if consts & names and ("method" in text or ".name" in text or "kind" in text):
                found.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
        if str(rel) in SHARED:
            # `model` is also the field every method that needs a model has (Method.needs_model)
            found += [f"{rel}:{n.lineno}: '{n.value}'" for n in _strings(tree) if n.value in names - {"model"}]
    assert not found, "method names compared outside painterly/methods:\n" + "\n".join(found)


# ----------------------------------------------------------------------------- one request, many photos

def _method_values(m) -> dict:
    """Tiny, fast settings for each registered method (a model from its own listing)."""
    values: dict = {}
    fields = {f.name for f in dataclasses.fields(m.options)}
    if "steps" in fields:
        values["steps"] = 2
    if m.needs_model:
        values["model"] = m.models()[0].name
    return values


def _styles(m, style_path) -> list:
    return [style_path] if m.needs_style else []


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    src = PKG / "data" / "tubingen.jpg"
    p = tmp_path_factory.mktemp("photo") / "p.png"
    Image.open(src).convert("RGB").resize((40, 32)).save(p)   # magenta: 32 px at least
    return p


@pytest.mark.parametrize("name", methods.names())
def test_strength_on_a_folder_of_identical_photos_gives_identical_pictures(name, photo, style_path, tmp_path):
    """--strength 0.5 once for the whole folder (options shared by every photo used to compound)."""
    from painterly import batch
    m = methods.get(name)
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.png").write_bytes(photo.read_bytes())
    res = batch.stylize_folder(folder, _styles(m, style_path), tmp_path / "out", method=name, size=40,
                               strength=0.5, device="cpu", **_method_values(m))
    assert res.done == 3
    outs = [np.asarray(Image.open(tmp_path / "out" / f"{i}.png")) for i in range(3)]
    assert all(np.array_equal(outs[0], o) for o in outs[1:]), name
    one = run_stylize(photo, _styles(m, style_path), method=name, size=40, strength=0.5, device="cpu",
                      **_method_values(m))
    assert np.array_equal(np.asarray(one.image), outs[0]), f"{name}: a folder paints unlike a single photo"


@pytest.fixture(scope="module")
def still_video(tmp_path_factory, photo) -> Path:
    """A three-frame video whose frames decode identically (a still picture)."""
    from painterly.video import read_all
    d = tmp_path_factory.mktemp("video")
    src = d / "src.mp4"
    import av
    frame = Image.open(photo).convert("RGB")
    with av.open(str(src), "w") as out:
        stream = out.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "yuv420p"
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    frames = read_all(src)
    assert len(frames) == 3 and all(np.array_equal(frames[0], f) for f in frames[1:])
    return src


@pytest.mark.parametrize("name", methods.names())
@pytest.mark.parametrize("temporal", [False, True])
def test_strength_on_a_video_of_identical_frames_gives_identical_frames(name, temporal, still_video, style_path,
                                                                        tmp_path):
    """Frame by frame, and with the temporal layer on (a frame identical to the one before keeps its output)."""
    from painterly import batch
    m = methods.get(name)
    out = tmp_path / "frames"
    v = batch.stylize_video(still_video, out, _styles(m, style_path), method=name, size=40, strength=0.5,
                            device="cpu", temporal=temporal, **_method_values(m))
    painted = [np.asarray(Image.open(p)) for p in sorted(out.glob("frame_*.png"))]
    assert v.frames == 3 and len(painted) == 3
    assert all(np.array_equal(painted[0], p) for p in painted[1:]), name


def test_requests_and_options_are_frozen(content_path, style_path):
    from painterly.pipeline import make_request
    r = make_request(content_path, [style_path], method="adain", size=32, strength=0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.options.alpha = 0.1
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.transfer.strength = 1.0
    for m in methods.all_methods():
        assert m.options.__dataclass_params__.frozen, m.name
    assert r.method == "adain" and r.styles == (style_path,)
    assert r.with_content("x.png").options is r.options


def test_a_prepared_runner_paints_like_run(content_path, style_path):
    """`Method.prepare(r)(r)` gives exactly `run(r)`'s pixels (magenta prepares its style vectors)."""
    from painterly import images
    from painterly.pipeline import make_request
    c = images.load_image(content_path, long_side=40)
    s = images.load_image(style_path, long_side=40)
    prepared = [m for m in methods.all_methods() if m.prepare is not None and not m.iterative]  # gatys: 2 min
    assert prepared
    for m in prepared:
        req = make_request(content_path, [style_path], method=m.name, size=40, strength=0.5, device="cpu",
                           **_method_values(m))
        r = methods.Run(req, c, (s,), "cpu")
        assert torch.equal(m.prepared(r)(r).image, m.run(r).image), m.name


# ----------------------------------------------------------------------------- names

#: Files that spell command-line flags because they ARE the command line (or start it):
CLI_FILES = {
    "cli.py": "the `painterly` command: its parser and the field -> flag translation",
    "__main__.py": "the console script",
    "options.py": "builds argparse flags from the fields (`add_arguments`: the `--no-` switches)",
    "bench/cli.py": "the `painterly bench` argument parser",
    "bench/__main__.py": "the bench's measurement-worker command line (`python -m painterly.bench --worker`)",
    "bench/__init__.py": "starts those workers and the `painterly` command as subprocesses (their argv), and "
                         "labels its rows with the command measured",
    "bench/print_size.py": "starts its worker subprocess (`--print`)",
    "web/cli.py": "the `painterly serve` argument parser",
    "experiments.py": "a front end: its reports quote the command that made them (`painterly experiment X --quick`)",
}
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def _flag_literals(path: Path) -> list[str]:
    """`--flag`s in the string literals of `path`, docstrings and `flag=` declarations aside (a field's
    `opt(flag="--weights")` is the translation table the CLI reads)."""
    tree = ast.parse(path.read_text())
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    declared = {id(k.value) for n in ast.walk(tree) if isinstance(n, ast.Call) for k in n.keywords if k.arg == "flag"}
    return [f"{n.lineno}: {flag}" for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs | declared
            for flag in FLAG.findall(n.value)]


def test_library_messages_name_fields_not_flags():
    """Only the command line spells `--flags`; the library names fields (`OptionError("size", ...)`, or
    `{size}` with refs) and each front end translates them (the web API answers with field names)."""
    assert _flag_literals(PKG / "cli.py"), "the scanner finds the CLI's own flags"
    found = [f"{p.relative_to(PKG)}:{hit}" for p in sorted(PKG.rglob("*.py"))
             if p.relative_to(PKG).as_posix() not in CLI_FILES for hit in _flag_literals(p)]
    assert not found, "flag literals outside the CLI (name the field instead):\n" + "\n".join(found)


def test_an_option_named_in_a_message_is_spelt_by_each_front_end():
    from painterly.cli import _flag
    from painterly.errors import InputError
    from painterly.options import OptionError
    e = OptionError("style_masks", "works on tiles with adain: lower {size} (or leave out {tile})", refs=("size", "tile"))
    assert str(e) == "style_masks works on tiles with adain: lower size (or leave out tile)"
    assert e.render(_flag) == "--style-masks works on tiles with adain: lower --size (or leave out --tile)"
    assert OptionError("weights_path", "is missing").render(_flag) == "--weights is missing"
    assert OptionError("amp", "x").render(_flag).startswith("--no-amp")          # trainers' flags too
    import pickle
    back = pickle.loads(pickle.dumps(InputError("too big: lower {size}", refs=("size",))))
    assert back.render(_flag) == "too big: lower --size" and str(back) == "too big: lower size"


def _all_options_classes() -> list[type]:
    from painterly.cli import _trainer_options
    from painterly.request import TransferOptions
    return [TransferOptions, *_trainer_options(), *(m.options for m in methods.all_methods())]


def test_one_meaning_per_name():
    """A field name means one thing everywhere: the same type in every options class; `alpha` is only ever
    a 0..1 style strength (Gatys' content weight is `content_weight`); the style image's size is `style_size`
    (a long side in px), `style_scale` (a ratio of the output's) or `style_square` (the predictor's square)."""
    from painterly.options import type_name
    seen: dict[str, set] = {}
    fields = []
    for cls in _all_options_classes():
        for f in dataclasses.fields(cls):
            kind = type_name(cls, f)
            seen.setdefault(f.name, set()).add("collection" if kind in ("array", "object") else kind)
            fields.append((cls.__name__, f))
    assert not {n: t for n, t in seen.items() if len(t) > 1}, "one name, several kinds of value"
    for cls, f in fields:
        if f.name == "alpha":
            assert f.metadata.get("min") == 0 and f.metadata.get("max") == 1 and "strength" in f.metadata["help"], cls
        assert f.name not in ("beta", "style_scale_px", "style_side"), cls
        if f.name.startswith("style_") and any(w in f.name for w in ("size", "scale", "square", "side")):
            assert f.name in ("style_size", "style_scale", "style_square"), (cls, f.name)
    assert "style_scale" in seen and "style_size" in seen and "style_square" in seen
