"""Folder jobs on both engines: the local loop and Ray Data (a real local cluster, 2 CPUs, 127.0.0.1
only, started once for the module). The Ray engine's pictures are byte-identical to the local
engine's; a worker killed mid-job, a driver stopped by Ctrl-C and a rerun (resume) leave every
picture present once and complete; bad photos are skipped with the same summary and exit code."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clips import make_clip
from painterly import batch, cli, storage
from painterly.engines.options import EngineOptions

ROOT = Path(__file__).resolve().parents[1]
ADAIN = {"method": "adain", "size": 48, "device": "cpu"}
ADAIN_ANY = {"method": "adain", "device": "cpu"}
#: Pictures are byte-identical across engines at the same number of torch threads per painting process
#: (oneDNN's convolutions sum in a thread-count-dependent order).
LOCAL = EngineOptions(threads=1)


def _photos(folder: Path, n: int, broken: bool = True, sub: bool = True) -> Path:
    """`n` small photos (and one in a sub-folder, one broken file)."""
    src = Image.open(ROOT / "painterly" / "data" / "tubingen.jpg").convert("RGB")
    folder.mkdir(parents=True)
    for i in range(n):
        src.rotate(7 * i).resize((64, 48)).save(folder / f"p{i:02d}.jpg")
    if sub:
        (folder / "sub").mkdir()
        src.resize((48, 64)).save(folder / "sub" / "q.png")
    if broken:
        (folder / "broken.jpg").write_bytes(b"not an image")
    return folder


def _pictures(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _no_partials(out: Path) -> None:
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]


def _complete(out: Path) -> None:
    for p in out.rglob("*.png"):
        with Image.open(p) as im:
            im.load()                                   # a truncated PNG raises here


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return _photos(tmp_path_factory.mktemp("in") / "photos", 6)


@pytest.fixture(scope="module")
def local_out(photos, style_path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    res = batch.stylize_folder(photos, [style_path], out, engine=LOCAL, **ADAIN)
    assert res.done == 7 and len(res.skipped) == 1 and not res.kept
    return out


@pytest.fixture(scope="module")
def ray_cluster():
    pytest.importorskip("ray.data")
    import ray

    from painterly.engines import ray as ray_engine
    handler = signal.getsignal(signal.SIGTERM)
    ray_engine.start_local(num_cpus=2)
    try:
        assert signal.getsignal(signal.SIGTERM) is handler        # ray.init's sys.exit handler is undone
        assert ray.util.get_node_ip_address() == "127.0.0.1"       # reachable from this machine only
        assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
        yield ray
    finally:
        ray.shutdown()


# ----------------------------------------------------------------------------- local engine, no Ray

def test_local_engine_mirrors_sub_folders_resumes_and_overwrites(photos, local_out, style_path, tmp_path):
    pics = _pictures(local_out)
    assert sorted(pics) == [f"p{i:02d}.png" for i in range(6)] + ["sub/q.png"]
    out = tmp_path / "out"
    out.mkdir()
    (out / "p00.png").write_bytes(pics["p00.png"])
    (out / ".p01.png.abc123.part").write_bytes(b"half a picture")       # a killed run's unfinished write
    seen = []
    res = batch.stylize_folder(photos, [style_path], out, progress=lambda i, n: seen.append((i, n)), engine=LOCAL,
                               **ADAIN)
    assert res.kept == [str(out / "p00.png")] and res.done == 6 and len(res.skipped) == 1
    assert seen[0] == (2, 8) and seen[-1] == (8, 8)         # kept pictures count as done from the start
    assert _pictures(out) == pics
    _no_partials(out)
    again = batch.stylize_folder(photos, [style_path], out, engine=LOCAL, **ADAIN)
    assert again.done == 0 and len(again.kept) == 7 and len(again.skipped) == 1
    redo = batch.stylize_folder(photos, [style_path], out, engine=EngineOptions(overwrite=True, threads=1),
                                **ADAIN)
    assert redo.done == 7 and not redo.kept and _pictures(out) == pics


def test_two_photos_that_would_share_a_picture_are_refused_first(tmp_path, style_path, capsys):
    folder = _photos(tmp_path / "in", 1, broken=False, sub=False)
    Image.open(folder / "p00.jpg").save(folder / "p00.png")
    code = cli.main(["stylize", str(folder), str(style_path), "--method", "adain", "--size", "32",
                     "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "p00.jpg and" in err and "rename one" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_engine_options_are_named_as_flags(photos, style_path, tmp_path, capsys):
    code = cli.main(["stylize", str(photos), str(style_path), "--method", "adain", "--workers", "2",
                     "-o", str(tmp_path / "out")])
    assert code == 2 and capsys.readouterr().err.strip() == "painterly: error: --workers works with engine ray"
    code = cli.main(["stylize", str(photos / "p00.jpg"), str(style_path), "--method", "adain", "--engine", "ray",
                     "-o", str(tmp_path / "one.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("painterly: error: --engine ray paints folders") and "\n" not in err


def test_uri_folders_paint_like_local_ones_and_name_the_uri(photos, local_out, style_path, tmp_path):
    """file:// goes through pyarrow's filesystem layer, as s3:// does."""
    pytest.importorskip("pyarrow")
    out = tmp_path / "out"
    skipped = []
    res = batch.stylize_folder(f"file://{photos}", [style_path], f"file://{out}",
                               on_skip=lambda f, e: skipped.append(e), engine=LOCAL, **ADAIN)
    assert res.done == 7 and _pictures(out) == _pictures(local_out)
    assert skipped == [f"content image 'file://{photos}/broken.jpg' is not an image format painterly can read "
                       "(use PNG, JPEG, WebP, BMP, TIFF or GIF)"]
    _no_partials(out)
    assert storage.files_under(f"file://{out}") == set(_pictures(local_out))


def test_the_local_engine_never_imports_ray(photos, style_path, tmp_path):
    code = ("import sys; from painterly import batch; "
            f"r = batch.stylize_folder({str(photos)!r}, [{str(style_path)!r}], {str(tmp_path / 'o')!r}, "
            "method='adain', size=32, device='cpu'); print(r.done, 'ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True).stdout.split()
    assert out == ["7", "False"]


# ----------------------------------------------------------------------------- the Ray engine

def test_ray_paints_byte_identical_pictures_with_the_same_summary(ray_cluster, photos, style_path, tmp_path,
                                                                  capsys):
    """Both engines at one torch thread per painting process (at 128 px a convolution's sums can depend on
    the thread count)."""
    lines, pics = {}, {}
    for engine in ("local", "ray"):
        out = tmp_path / engine
        code = cli.main(["stylize", str(photos), str(style_path), "--method", "adain", "--size", "128", "--device",
                         "cpu", "--engine", engine, "--threads", "1", "--quiet", "-o", str(out)]
                        + (["--batch-size", "2"] if engine == "ray" else []))
        err = capsys.readouterr().err.replace(str(out), "OUT").strip().splitlines()
        lines[engine] = (code, [e for e in err if e.startswith(("painterly:", "stylised"))])
        pics[engine] = _pictures(out)
        _no_partials(out)
    assert len(pics["ray"]) == 7 and pics["ray"] == pics["local"]
    assert lines["ray"] == lines["local"]
    assert lines["ray"][0] == 2 and lines["ray"][1][-1] == "stylised 7 of 8 images into OUT; skipped 1"
    assert "broken.jpg" in lines["ray"][1][0]


def test_a_worker_killed_mid_job_leaves_every_picture_once_and_complete(ray_cluster, style_path, tmp_path):
    photos = _photos(tmp_path / "in", 12, broken=False, sub=False)
    local = tmp_path / "local"
    batch.stylize_folder(photos, [style_path], local, engine=LOCAL, **ADAIN)
    out = tmp_path / "ray"
    outcomes, killed = [], []

    def kill_first_worker(o):
        outcomes.append(o)
        if not killed:
            pid = int(o.worker.rsplit(":", 1)[1])
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    res = batch.stylize_folder(photos, [style_path], out, engine=EngineOptions(engine="ray", batch_size=1, threads=1),
                               on_outcome=kill_first_worker, **ADAIN)
    assert killed and killed[0] != os.getpid()
    assert res.done == 12 and not res.skipped and not res.interrupted
    assert sorted(o.source for o in outcomes) == sorted(str(p) for p in photos.glob("*.jpg"))   # each once
    assert _pictures(out) == _pictures(local)                  # every picture, none corrupted
    _no_partials(out)
    assert len({o.worker for o in outcomes}) >= 2


def test_a_driver_interrupted_mid_job_keeps_complete_pictures_and_resumes(ray_cluster, style_path, tmp_path):
    photos = _photos(tmp_path / "in", 12, broken=False, sub=False)
    local = tmp_path / "local"
    batch.stylize_folder(photos, [style_path], local, engine=LOCAL, **ADAIN)
    out = tmp_path / "ray"
    got = []

    def ctrl_c(o):
        got.append(o)
        if len(got) == 2:
            signal.raise_signal(signal.SIGINT)              # Ctrl-C in the driver, as from the terminal
    ray_opts = EngineOptions(engine="ray", batch_size=1, threads=1)
    res = batch.stylize_folder(photos, [style_path], out, engine=ray_opts, on_outcome=ctrl_c, **ADAIN)
    assert res.interrupted and 2 <= res.done < 12
    time.sleep(3)                                            # the job has stopped: nothing more appears
    first = _pictures(out)
    assert len(first) < 12 and _pictures(out) == first
    _complete(out)
    _no_partials(out)
    assert all(first[k] == v for k, v in _pictures(local).items() if k in first)
    again = batch.stylize_folder(photos, [style_path], out, engine=ray_opts, **ADAIN)
    assert len(again.kept) == len(first) and again.done == 12 - len(first) and not again.interrupted
    assert _pictures(out) == _pictures(local)


def test_ctrl_c_in_a_terminal_stops_the_cli_and_a_rerun_resumes(ray_cluster, style_path, tmp_path, capsys):
    """The real thing: SIGINT to the whole process group of `painterly stylize --engine ray` (its own local
    cluster), then the same command again."""
    photos = _photos(tmp_path / "in", 40, broken=False, sub=False)
    out = tmp_path / "out"
    argv = ["stylize", str(photos), str(style_path), "--method", "adain", "--size", "48", "--device", "cpu",
            "--engine", "ray", "--batch-size", "1", "--quiet", "-o", str(out)]
    p = subprocess.Popen([sys.executable, "-m", "painterly", *argv], stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and p.poll() is None and not list(out.glob("*.png")):
        time.sleep(0.2)
    assert p.poll() is None, p.stderr.read()
    os.killpg(p.pid, signal.SIGINT)
    err = p.communicate(timeout=120)[1]
    assert p.returncode == 130, err
    assert "painterly: interrupted;" in err and "run the same command again" in err and "Traceback" not in err
    _complete(out)
    _no_partials(out)
    n = len(list(out.glob("*.png")))
    assert 1 <= n < 40
    assert cli.main([a for a in argv if a != "--quiet"]) == 0
    assert f"stylised {40 - n} of 40 images into {out}; kept {n} already there" in capsys.readouterr().err
    assert len(list(out.glob("*.png"))) == 40


def test_files_the_request_names_travel_to_workers_that_lack_them(style_path, tmp_path):
    """A worker on another machine gets the style image (and any mask or model file) as bytes."""
    pytest.importorskip("ray")
    from painterly.engines import ray as ray_engine
    from painterly.pipeline import make_request
    style = tmp_path / "style.jpg"
    style.write_bytes(style_path.read_bytes())
    mask = tmp_path / "mask.png"
    Image.new("L", (64, 48), 255).save(mask)
    req = make_request(None, [style], method="adain", size=48, mask=str(mask), device="cpu")
    files = ray_engine.request_files(req)
    assert set(files) == {str(style), str(mask)}
    assert ray_engine.localised(req, files, str(tmp_path / "w")) is req          # same machine: unchanged
    style.unlink()
    mask.unlink()
    there = ray_engine.localised(req, files, str(tmp_path / "w"))
    assert Path(there.styles[0]).read_bytes() == style_path.read_bytes() and Path(there.styles[0]).name == "style.jpg"
    assert Path(there.transfer.mask).is_file() and there.options == req.options


# ----------------------------------------------------------------------------- videos on Ray

def _audio_packets(path: Path) -> list[bytes]:
    import av
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(audio=0) if p.size]


def test_a_video_in_segments_on_ray_keeps_its_frames_and_audio(ray_cluster, style_path, tmp_path, capsys):
    from painterly import video
    clip = make_clip(tmp_path / "clip.mp4")
    out = tmp_path / "out.mp4"
    code = cli.main(["stylize", str(clip), str(style_path), "--method", "adain", "--size", "48", "--device", "cpu",
                     "--engine", "ray", "--segment", "5", "--overlap", "2", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    assert "saved" in capsys.readouterr().err
    assert len(video.read_all(out)) == 12
    assert _audio_packets(out) == _audio_packets(clip)         # the audio remuxed, not re-encoded


def test_segments_painted_apart_join_as_smoothly_as_one_run(ray_cluster, style_path, tmp_path):
    """Warping error (Lai et al.) with the exact flow of a synthetic pan, at the pairs of frames where a
    segment ends and the next begins: with an overlap it stays below twice the error of a stable result
    (the scene painted once, then panned), as inside a segment and as in one sequential run; segments
    painted without an overlap jump there like frames painted one by one."""
    from painterly import video
    from painterly.pipeline import Painter, make_request
    from painterly.temporal import metrics, synthetic
    c = synthetic.Clip("pan", size=(96, 64), frames=30)
    sc, _ = synthetic.pictures(c, np.asarray(Image.open(ROOT / "painterly" / "data" / "tubingen.jpg").convert("RGB")))
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, f in enumerate(c.render(sc)):
        Image.fromarray(f).save(frames / f"f{i:03d}.png")
    flows, masks = c.truth()
    styled_scene = np.asarray(Painter(make_request(None, [style_path], size=max(c.scene_size()), **ADAIN_ANY))(sc).image)
    stable = metrics.mean(metrics.warping_errors(c.render(styled_scene), flows, masks))

    def errors(out: Path, **engine) -> list[float]:
        eng = EngineOptions(**engine) if engine else "local"
        batch.stylize_video(frames, out, [style_path], size=96, engine=eng, **ADAIN_ANY)
        return metrics.warping_errors(video.read_all(out), flows, masks)
    one_run = errors(tmp_path / "local")
    joined = errors(tmp_path / "ray", engine="ray", segment=10, overlap=8, threads=1)     # the default overlap
    cold = errors(tmp_path / "cold", engine="ray", segment=10, overlap=0, threads=1)
    borders = [9, 19]                                          # frame 9 -> 10 and 19 -> 20
    at = lambda e: max(e[t] for t in borders)                  # noqa: E731
    assert at(joined) < 2 * stable and metrics.mean(joined) < 2 * stable, (at(joined) / stable)
    assert metrics.mean(one_run) < 2 * stable
    assert at(cold) > 2 * stable, at(cold) / stable
