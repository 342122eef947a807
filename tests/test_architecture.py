"""The shape of the code: imports run one way (no circle between files), nothing outside the
registry special-cases a method by name, and one frozen request paints every photo of a folder
and every frame of a video the same way."""

import ast
import dataclasses
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
