"""Videos: temporal consistency that measurably removes flicker, audio copied unchanged, identical
frames stay identical, bad videos are one line and exit 2, interrupted runs are playable and
resume to the same frames, --start/--duration, folders of frames in and out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clips import make_clip
from painterly import video
from painterly.cli import main
from painterly.errors import InputError
from painterly.pipeline import Painter, make_request
from painterly.temporal import metrics, synthetic
from painterly.video_paint import VideoOptions, paint_frames, paint_segment, stylize_video

DATA = Path(__file__).resolve().parents[1] / "painterly" / "data"
STYLE = DATA / "starry_night.jpg"
ADAIN = {"method": "adain", "device": "cpu"}


def streams(path: Path) -> dict:
    import av
    with av.open(str(path)) as c:
        out = {s.type: s.codec_context.name for s in c.streams}
        out["frames"] = sum(1 for _ in c.decode(video=0))
    with av.open(str(path)) as c:
        out["audio_packets"] = [bytes(p) for p in c.demux(audio=0) if p.size] if c.streams.audio else []
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", n=12)


# ----------------------------------------------------------------------------- the temporal layer

def _paint(req, frames: list, temporal: bool, consistency: float = 0.8) -> list[np.ndarray]:
    return [o for _, o, _ in paint_frames(req, enumerate(frames), temporal=temporal, consistency=consistency)]


def test_a_known_pan_flickers_less_than_a_bound_with_consistency_and_more_without():
    """Warping error (Lai et al.) on a sub-pixel pan with exact flow: a stable result (the scene
    painted once, then panned) sets the scale; frame by frame is far above twice it, with the
    temporal layer on it falls below."""
    c = synthetic.Clip("pan", size=(96, 64), frames=8)
    scene = np.asarray(Image.open(DATA / "tubingen.jpg").convert("RGB"))
    sc, _ = synthetic.pictures(c, scene)
    frames = c.render(sc)
    flows, masks = c.truth()
    req = make_request(None, [STYLE], size=96, **ADAIN)
    whole = make_request(None, [STYLE], size=max(c.scene_size()), **ADAIN)
    styled_scene = np.asarray(Painter(whole)(sc).image)
    stable = metrics.mean(metrics.warping_errors(c.render(styled_scene), flows, masks))
    alone = metrics.mean(metrics.warping_errors(_paint(req, frames, False), flows, masks))
    steady = metrics.mean(metrics.warping_errors(_paint(req, frames, True), flows, masks))
    assert alone > 2.0 * stable > steady, (alone / stable, steady / stable)


def test_synthetic_truth_explains_the_input_frames():
    """The clips' exact flow warps each frame onto the next (up to resampling), the object clip's
    mask leaves out what the object covers, and 'revealed' marks what it uncovers."""
    scene = np.asarray(Image.open(DATA / "tubingen.jpg").convert("RGB"))
    sprite = np.asarray(Image.open(DATA / "golden_gate.jpg").convert("RGB"))
    for kind in synthetic.KINDS:
        c = synthetic.Clip(kind, size=(80, 48), frames=5)
        sc, sp = synthetic.pictures(c, scene, sprite)
        frames = c.render(sc, sp)
        flows, masks = c.truth()
        err = metrics.mean(metrics.warping_errors(frames, flows, masks))
        wrong = metrics.mean(metrics.warping_errors(frames, [-f for f in flows], masks))   # the opposite motion
        assert err < 0.5 * wrong, kind
        if kind == "object":
            assert 0 < masks[0].mean() < 1 and 0 < c.revealed()[0].mean() < 0.2


def test_occluded_pixels_are_painted_fresh_not_ghosted():
    """Where the moving object uncovers the background, the temporal output is (nearly) the new
    frame's own stylisation, not the object carried over."""
    from painterly.temporal.blend import blend
    from painterly.temporal.state import TemporalState
    c = synthetic.Clip("object", size=(96, 64), frames=6)
    scene = np.asarray(Image.open(DATA / "tubingen.jpg").convert("RGB"))
    sprite = np.asarray(Image.open(DATA / "golden_gate.jpg").convert("RGB"))
    sc, sp = synthetic.pictures(c, scene, sprite)
    frames = c.render(sc, sp)
    painter = Painter(make_request(None, [STYLE], size=96, **ADAIN))
    state, ghost, carried = TemporalState(), [], []
    revealed = c.revealed()
    for t, f in enumerate(frames):
        s = painter(f).tensor[0].permute(1, 2, 0).numpy()
        g = state.guide(f)
        o = s if g is None else blend(s, g, 0.8)
        if g is not None:
            d = ((o - s) ** 2).mean(-1)
            r = revealed[t - 1] > 0
            ghost.append(d[r].mean())
            carried.append(d[~r].mean())
        state.commit(f, o)
    assert np.mean(ghost) < 0.5 * np.mean(carried), (np.mean(ghost), np.mean(carried))


def test_identical_frames_give_identical_output_frames(tmp_path):
    src = make_clip(tmp_path / "still.mp4", n=4, moving=False, audio=False)
    assert len({f.tobytes() for f in video.read_all(src)}) == 1
    for temporal in (True, False):
        out = tmp_path / f"frames_{temporal}"
        r = stylize_video(src, out, [STYLE], temporal=temporal, size=48, **ADAIN)
        assert r.frames == 4
        pngs = [np.asarray(Image.open(p)) for p in sorted(out.glob("frame_*.png"))]
        assert len(pngs) == 4 and all(np.array_equal(pngs[0], p) for p in pngs[1:])


# ----------------------------------------------------------------------------- video I/O

def test_audio_is_copied_unchanged_and_the_video_keeps_its_length(clip, tmp_path):
    out = tmp_path / "out.mp4"
    r = stylize_video(clip, out, [STYLE], size=48, **ADAIN)
    assert r.frames == 12 and not r.interrupted and not r.notes
    got, src = streams(out), streams(clip)
    assert got["video"] == "h264" and got["audio"] == "aac" and got["frames"] == 12
    assert got["audio_packets"] == src["audio_packets"]          # the same bytes: remuxed, not re-encoded
    assert not (tmp_path / "out.mp4.parts").exists() and not list(tmp_path.glob(".*tmp*"))


def test_start_and_duration_cut_video_and_audio(clip, tmp_path):
    out = tmp_path / "cut.mp4"
    r = stylize_video(clip, out, [STYLE], size=48, start=0.3, duration=0.5, temporal=False, **ADAIN)
    assert r.frames == 5
    got, src = streams(out), streams(clip)
    assert got["frames"] == 5
    assert 0 < len(got["audio_packets"]) < len(src["audio_packets"])
    assert set(got["audio_packets"]) <= set(src["audio_packets"])
    # the first frame painted is the source's frame at 0.3 s (frame 4)
    first = tmp_path / "first"
    stylize_video(clip, first, [STYLE], size=48, start=0.3, duration=0.1, temporal=False, **ADAIN)
    painter = Painter(make_request(None, [STYLE], size=48, **ADAIN))
    expect = np.asarray(painter(video.read_all(clip)[3]).image)
    assert np.array_equal(np.asarray(Image.open(first / "frame_000001.png")), expect)


def test_a_folder_of_frames_in_and_out(clip, tmp_path):
    frames = tmp_path / "in"
    frames.mkdir()
    for i, f in enumerate(video.read_all(clip)[:6]):
        Image.fromarray(f).save(frames / f"img{i:03d}.png")
    out = tmp_path / "out.mp4"
    code = main(["stylize", str(frames), str(STYLE), "--method", "adain", "--size", "48", "--fps", "12", "-o",
                 str(out), "--quiet"])
    assert code == 0 and streams(out)["frames"] == 6 and "audio" not in streams(out)
    assert abs(video.probe(out)["fps"] - 12) < 1e-6
    back = tmp_path / "back"
    assert main(["stylize", str(out), str(STYLE), "--method", "adain", "--size", "48", "-o", str(back) + "/",
                 "--quiet"]) == 0
    assert [p.name for p in sorted(back.glob("*.png"))] == [f"frame_{i:06d}.png" for i in range(1, 7)]


def test_interrupted_video_is_playable_with_audio_and_resumes_to_the_same_frames(clip, tmp_path):
    def stop_after(n):
        def progress(p):
            if p.done == n:
                raise KeyboardInterrupt
        return progress
    out = tmp_path / "out.mp4"
    r = stylize_video(clip, out, [STYLE], stop_after(5), size=48, **ADAIN)
    assert r.interrupted and r.frames == 5
    got = streams(out)
    assert got["frames"] == 5 and got["audio"] == "aac" and got["audio_packets"]
    assert (tmp_path / "out.mp4.parts").is_dir()
    r = stylize_video(clip, out, [STYLE], size=48, resume=True, **ADAIN)
    assert not r.interrupted and r.frames == 12 and r.painted == 7
    assert streams(out)["frames"] == 12 and streams(out)["audio_packets"] == streams(clip)["audio_packets"]
    assert not (tmp_path / "out.mp4.parts").exists()
    # frames: the resumed run continues the temporal state exactly
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    stylize_video(clip, whole, [STYLE], size=48, **ADAIN)
    assert stylize_video(clip, parts, [STYLE], stop_after(4), size=48, **ADAIN).interrupted
    stylize_video(clip, parts, [STYLE], size=48, resume=True, **ADAIN)
    for a, b in zip(sorted(whole.glob("*.png")), sorted(parts.glob("*.png")), strict=True):
        assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b))), a.name
    # resuming with other options is refused
    with pytest.raises(InputError, match="other inputs or options"):
        assert stylize_video(clip, parts, [STYLE], stop_after(2), size=48, **ADAIN).interrupted
        stylize_video(clip, parts, [STYLE], size=40, resume=True, **ADAIN)


def test_bad_videos_are_one_line_and_exit_2(tmp_path, capsys):
    import av
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    sound = tmp_path / "sound.mp4"
    with av.open(str(sound), "w") as c:
        a = c.add_stream("aac", rate=16000)
        a.layout = "mono"
        f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        f.sample_rate, f.pts = 16000, 0
        for p in [*a.encode(f), *a.encode()]:
            c.mux(p)
    empty = tmp_path / "empty.mp4"
    with av.open(str(empty), "w") as c:
        v = c.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
    clip = make_clip(tmp_path / "ok.mp4", n=4, audio=False)
    cases = [(junk, [], "not a video"), (sound, [], "no video stream"), (empty, [], "no"),
             (tmp_path / "missing.mp4", [], "missing.mp4"), (clip, ["--start", "9"], "past the end"),
             (clip, ["--crf", "99"], "--crf"), (clip, ["--codec", "nope"], "--codec"),
             (clip, ["--resume"], "nothing to resume")]
    for src, extra, words in cases:
        code = main(["stylize", str(src), str(STYLE), "--method", "adain", "--size", "48", "-o",
                     str(tmp_path / "o.mp4"), "--quiet", *extra])
        err = capsys.readouterr().err
        assert code == 2, (src, extra, err)
        assert err.count("\n") == 1 and err.startswith("painterly: error:") and words in err, err
        assert "Traceback" not in err and not (tmp_path / "o.mp4").exists()


def _damaged_clip(path: Path, bad: int = 3, n: int = 8) -> Path:
    """An MJPEG clip whose frame `bad` (0-based) is replaced by random bytes."""
    import av
    rng = np.random.default_rng(1)
    good = path.with_name("good.mkv")
    with av.open(str(good), "w") as c:
        v = c.add_stream("mjpeg", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuvj420p"
        for _ in range(n):
            for p in v.encode(av.VideoFrame.from_ndarray(rng.integers(0, 255, (48, 64, 3), np.uint8), format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    with av.open(str(good)) as src, av.open(str(path), "w") as dst:
        s = src.streams.video[0]
        o = dst.add_stream_from_template(s)
        for k, p in enumerate(src.demux(s)):
            if p.dts is None:
                continue
            if k == bad:
                q = av.Packet(rng.integers(0, 255, p.size, np.uint8).tobytes())
                q.pts, q.dts, q.time_base = p.pts, p.dts, p.time_base
                p = q
            p.stream = o
            dst.mux(p)
    return path


def test_a_damaged_frame_stops_or_is_bridged_as_asked(tmp_path, capsys):
    bad = _damaged_clip(tmp_path / "bad.mkv")
    out = tmp_path / "o.mkv"
    args = ["stylize", str(bad), str(STYLE), "--method", "adain", "--size", "48", "-o", str(out), "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "frame 4" in err and "--on-error" in err and not out.exists()
    assert main(args + ["--on-error", "continue"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "frame 4" in err
    assert streams(out)["frames"] == 8


def test_paint_segment_seeds_the_temporal_state_with_its_overlap(clip):
    """A segment painted apart with an overlap joins the whole run; without one it starts afresh."""
    req = make_request(None, [STYLE], size=48, **ADAIN)
    whole = [o for _, o, _ in paint_frames(req, ((i, f) for i, f in enumerate(video.read_all(clip))))]
    seg = paint_segment(req, clip, 6, 9, overlap=6)
    assert len(seg) == 4
    assert all(np.array_equal(a, b) for a, b in zip(seg, whole[6:10]))
    cold = paint_segment(req, clip, 6, 9, overlap=0)
    assert not np.array_equal(cold[1], whole[7])


def test_video_options_are_checked_and_named():
    from painterly.options import OptionError
    from painterly.video_paint import video_options
    with pytest.raises(OptionError) as e:
        video_options(VideoOptions(), consistency=1.5)
    assert e.value.field == "consistency"


def test_gatys_frames_start_from_the_previous_output_with_a_third_of_the_steps():
    """Ruder et al.: after the first frame Gatys starts from the previous output warped along the flow,
    adds the temporal loss and runs a third of the steps, and stays closer to that previous output
    where the motion is reliable than a fresh run of the same steps does."""
    from painterly.temporal.state import TemporalState
    c = synthetic.Clip("pan", size=(48, 32), frames=2)
    scene = np.asarray(Image.open(DATA / "tubingen.jpg").convert("RGB"))
    sc, _ = synthetic.pictures(c, scene)
    f0, f1 = c.render(sc)
    req = make_request(None, [STYLE], method="gatys", size=48, steps=9, device="cpu")
    painter = Painter(req)
    state = TemporalState()
    first = painter(f0)
    assert len(first.history) == 9
    state.commit(f0, first.tensor[0].permute(1, 2, 0).numpy())
    guide = state.guide(f1)
    second = painter(f1, guide=guide)
    assert len(second.history) == 3 and "temporal" in second.history[0]
    fresh = Painter(make_request(None, [STYLE], method="gatys", size=48, steps=3, device="cpu"))(f1)
    trust = guide.trust[..., None]

    def off(res) -> float:
        return float((trust * (res.tensor[0].permute(1, 2, 0).numpy() - guide.previous) ** 2).mean())
    assert off(second) < 0.5 * off(fresh)


def test_an_automatic_mask_follows_the_frames_and_stays_steady():
    """--mask auto:sky on a pan over a landscape: each frame's ground keeps that frame's pixels, the
    sky is painted, and with the temporal layer the frames (sky edge included) flicker less."""
    c = synthetic.Clip("pan", size=(128, 96), frames=6)
    scene = np.asarray(Image.open(Path(__file__).parent / "data" / "masks" / "landscape.jpg").convert("RGB"))
    sc, _ = synthetic.pictures(c, scene)
    frames = c.render(sc)
    flows, masks = c.truth()
    req = make_request(None, [], method="model", model="starry_night", size=128, mask="auto:sky", device="cpu")
    alone, steady = _paint(req, frames, False), _paint(req, frames, True)
    for f, o in zip(frames, steady):
        f, o = np.asarray(f, np.float32), np.asarray(o, np.float32)
        h = f.shape[0]
        assert np.abs(o - f)[-h // 5:].mean() < 2.0          # the ground (bottom fifth) keeps the photo
        assert np.abs(o - f)[: h // 5].mean() > 15.0         # the sky (top fifth) is painted
    e_alone = metrics.mean(metrics.warping_errors(alone, flows, masks))
    e_steady = metrics.mean(metrics.warping_errors(steady, flows, masks))
    assert e_steady < 0.8 * e_alone, (e_steady, e_alone)
