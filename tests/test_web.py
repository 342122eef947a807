"""Web page and HTTP API: uploads, limits, the job queue, expiry, and a real browser run."""

import asyncio
import io
import os
import shutil
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from fastapi.testclient import TestClient  # noqa: E402

import painterly  # noqa: E402
from painterly.web.app import Settings, create_app  # noqa: E402
from painterly.web.jobs import JobQueue, QueueFull  # noqa: E402
from clips import make_clip  # noqa: E402

FAST = {"size": "32", "steps": "2"}          # Gatys (the default method): tiny and quick
SMALL = {"size": "32"}                        # any one-pass method


def settings(tmp_path, **kw) -> Settings:
    return Settings(output_dir=tmp_path / "outputs", device="cpu", **kw)


@pytest.fixture(scope="module")
def uploads(content_path, style_path):
    return content_path.read_bytes(), style_path.read_bytes()


def post(client, content, style, **form):
    return client.post("/api/stylize", files={"content": ("c.jpg", content), "style": ("s.jpg", style)},
                       data={**FAST, **form})


def test_api_stylizes_and_serves_the_result(tmp_path, uploads):
    client = TestClient(create_app(settings(tmp_path)))
    r = post(client, *uploads, steps="20")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["width"] == 32 and doc["encoder"] == "vgg19-caffe-q8" and doc["stopped"] is None
    img = client.get(doc["url"])
    assert img.status_code == 200 and img.headers["content-type"] == "image/png"
    out = np.asarray(Image.open(io.BytesIO(img.content)).convert("RGB"), np.float32)
    photo = np.asarray(Image.open(io.BytesIO(uploads[0])).convert("RGB").resize((32, 24)), np.float32)
    assert out.shape == photo.shape and np.abs(out - photo).mean() > 5    # it changed the photo
    assert client.get("/api/health").json()["status"] == "ok"
    assert "/api/stylize" in client.get("/openapi.json").json()["paths"]


def test_api_runs_every_one_pass_method(tmp_path, uploads):
    client = TestClient(create_app(settings(tmp_path)))
    methods = client.get("/api/methods").json()
    assert {"gatys", "adain", "wct", "model"} <= set(methods["methods"]) and "starry_night" in methods["models"]
    for method in ("adain", "wct"):
        r = client.post("/api/stylize", files={"content": ("c.jpg", uploads[0]), "style": ("s.jpg", uploads[1])},
                        data={"method": method, "size": "64", "strength": "0.7"})
        assert r.status_code == 200 and r.json()["method"] == method, r.text
    r = client.post("/api/stylize", files={"content": ("c.jpg", uploads[0])},
                    data={"method": "model", "model": "starry_night", "size": "64"})
    assert r.status_code == 200 and r.json()["encoder"] == "starry_night", r.text
    out = np.asarray(Image.open(io.BytesIO(client.get(r.json()["url"]).content)).convert("RGB"), np.float32)
    photo = np.asarray(Image.open(io.BytesIO(uploads[0])).convert("RGB").resize((64, 48)), np.float32)
    assert np.abs(out - photo).mean() > 5
    bad = client.post("/api/stylize", files={"content": ("c.jpg", uploads[0])}, data={"method": "adain"})
    assert bad.status_code == 422 and bad.json() == {
        "detail": "style: is missing: method adain needs a painting, sent as a file upload", "field": "style"}
    bad = client.post("/api/stylize", files={"content": ("c.jpg", uploads[0])},
                      data={"method": "model", "model": "nope"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("model: must be one of picasso, ")


@pytest.mark.parametrize("content,code,msg", [
    (b"just some text", 422, "not an image format"),
    (b"", 422, "empty"),
    ("truncated", 422, "corrupt or truncated"),
    ("huge", 413, "larger than 1 MB"),
    ("many_pixels", 413, "too large"),
])
def test_bad_uploads_get_4xx_with_a_message(tmp_path, uploads, content, code, msg):
    if content == "truncated":
        content = uploads[0][:2000]
    elif content == "huge":
        content = b"\xff" * (2 * 2**20)
    elif content == "many_pixels":
        buf = io.BytesIO()
        Image.new("RGB", (3000, 2000)).save(buf, "PNG")
        content = buf.getvalue()
    client = TestClient(create_app(settings(tmp_path, max_upload_bytes=2**20, max_pixels=5_000_000)))
    r = post(client, content, uploads[1])
    assert r.status_code == code and msg in r.json()["detail"]


def test_bad_parameters_are_refused(tmp_path, uploads):
    client = TestClient(create_app(settings(tmp_path, max_size=256)))
    assert "between 16 and 256" in post(client, *uploads, size="2048").json()["detail"]
    assert post(client, *uploads, method="magic").json()["detail"].startswith("method: must be one of gatys, ")
    assert post(client, *uploads, strength="7").status_code == 422


def test_results_expire_and_names_are_not_paths(tmp_path, uploads):
    client = TestClient(create_app(settings(tmp_path, output_ttl=0.5)))
    url = post(client, *uploads).json()["url"]
    assert client.get(url).status_code == 200
    time.sleep(1.0)
    assert client.get(url).status_code == 404
    assert not list((tmp_path / "outputs").glob("*.png"))
    assert client.get("/api/outputs/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_transfers_share_the_cores_and_the_rest_of_the_process_keeps_its_threads(tmp_path):
    import torch
    before = torch.get_num_threads()
    app = create_app(settings(tmp_path, concurrency=(os.cpu_count() or 1) + 1))
    with TestClient(app):
        inside = asyncio.run(app.state.web.in_transfer_thread(torch.get_num_threads))
    assert inside == 1 and torch.get_num_threads() == before


def test_job_queue_bounds_waiting_jobs_without_holding_threads():
    async def scenario():
        q = JobQueue(concurrency=1, max_waiting=1)
        threads = threading.active_count()
        assert q.enter() is None                       # a free slot: taken at once
        ticket = q.enter()                             # the second waits as a future, not a thread
        assert ticket is not None and q.waiting == 1 and q.position(ticket) == 1
        assert threading.active_count() == threads
        with pytest.raises(QueueFull, match="busy"):
            q.enter()
        waiter = asyncio.ensure_future(q.wait(ticket))
        await asyncio.sleep(0)
        q.release()                                    # the slot passes to the waiter
        await asyncio.wait_for(waiter, 2)
        assert q.running == 1 and q.waiting == 0
        cancelled = asyncio.ensure_future(q.wait(q.enter()))
        await asyncio.sleep(0)
        cancelled.cancel()                             # a cancelled waiter gives its place back
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert q.waiting == 0
        q.release()
        assert q.running == 0
        async with q.slot():
            assert q.running == 1
        assert q.running == 0
    asyncio.run(scenario())


#: (form, the one sentence both endpoints answer). Each is refused before anything is queued.
BAD_FORMS = [
    ({"size": "abc"}, "size: must be a whole number between 16 and 256, got 'abc'"),
    ({"size": "5"}, "size: must be a whole number between 16 and 256, got '5'"),
    ({"size": "2048"}, "size: must be a whole number between 16 and 256, got '2048'"),
    ({"strength": "nan"}, "strength: must be a number between 0 and 1, got 'nan'"),
    ({"strength": "7"}, "strength: must be a number between 0 and 1, got '7'"),
    ({"seed": "-1"}, "seed: must be a whole number between 0 and 9223372036854775807, got '-1'"),
    ({"steps": "1e22"}, "steps: must be a whole number between 1 and 1000, got '1e22'"),
    ({"method": "adain", "style_size": "100000"}, "style_size: must be a whole number between 16 and 256, got '100000'"),
    ({"method": "magenta", "style_square": "100000"},
     "style_square: must be a whole number between 32 and 256, got '100000'"),
    ({"style_scale": "40"}, "style_scale: makes the painting 1280 px on its long side; this server's largest is 256 px: "
                            "lower it"),
    ({"preserve_colors": "sepia"}, "preserve_colors: must be one of luminance, match, or left empty, got 'sepia'"),
    ({"method": "magic"}, "method: must be one of gatys, "),
    ({"method": "adain", "steps": "10"}, "steps: is not an option of method adain (it takes alpha, preserve_colors, "),
    ({"strenght": "0.5"}, "strenght: is not an option of method gatys (it takes "),
    ({"method": "model", "model": "nope"}, "model: must be one of picasso, starry_night, "),
    ({"size": ["32", "64"]}, "size: is given 2 times: send it once"),
    ({"content": "a photo, as text"}, "content: must be an image file (the photo), sent as a file upload, not as text"),
    ({"method": "adain", "style": None}, "style: is missing: method adain needs a painting, sent as a file upload"),
    ({"method": "model", "style": "keep"}, "style: is not used by method model, which carries its style in its model"),
]


@pytest.mark.parametrize("form,sentence", BAD_FORMS, ids=[" ".join(f"{k}={v}" for k, v in f.items()) for f, _ in BAD_FORMS])
def test_both_endpoints_answer_a_bad_value_with_the_same_sentence(tmp_path, uploads, form, sentence):
    """One parser for /api/stylize and /api/jobs: the same bad value gets the same 422 and the same
    sentence naming the field (never pydantic's list, a class name or a command-line flag), and a
    job is refused before it is queued (no 202 and then a failed job)."""
    form = dict(form)
    with TestClient(create_app(settings(tmp_path, max_size=256))) as client:
        answers = []
        for endpoint in ("/api/stylize", "/api/jobs"):
            files = {"content": ("c.jpg", uploads[0]), "style": ("s.jpg", uploads[1])}
            data = {"size": "32", "steps": "2", **form}
            if "content" in data:
                files.pop("content")
            if "style" in data:
                if data.pop("style") is None:
                    files.pop("style")
            if data.get("method") in ("adain", "magenta", "model"):
                data.pop("steps", None) if "steps" not in form else None
            r = client.post(endpoint, files=files, data=data)
            answers.append((r.status_code, r.json()))
        assert answers[0] == answers[1], answers
        code, doc = answers[0]
        assert code == 422 and isinstance(doc["detail"], str) and doc["detail"].startswith(sentence), doc
        assert doc["field"] == sentence.split(":")[0]
        assert "--" not in doc["detail"] and "any" not in doc["detail"].split() and "one of ," not in doc["detail"]
        assert not any(w in doc["detail"] for w in ("UploadFile", "Input should", "pydantic", "<class", "Traceback"))
        assert client.app.state.web.book.all() == []            # nothing was queued


def test_an_empty_method_means_the_same_default_on_both_endpoints(tmp_path, uploads):
    with TestClient(create_app(settings(tmp_path))) as client:
        files = {"content": ("c.jpg", uploads[0]), "style": ("s.jpg", uploads[1])}
        r = client.post("/api/stylize", files=files, data={**FAST, "method": ""})
        assert r.status_code == 200 and r.json()["method"] == "gatys", r.text
        job = client.post("/api/jobs", files=files, data={**FAST, "method": " "})
        assert job.status_code == 202, job.text
        st = _wait(client, job.json()["id"], lambda st: st["state"] not in ("waiting", "running"))
        assert st["state"] == "done" and st["result"]["method"] == "gatys"
        # with a model and no method: the trained-model method, on both
        r = client.post("/api/stylize", files={"content": files["content"]}, data={"model": "picasso", **SMALL})
        assert r.status_code == 200 and r.json()["method"] == "model" and r.json()["encoder"] == "picasso", r.text


def test_the_schema_speaks_plain_words_and_documents_the_form(tmp_path):
    """Help texts for the page name controls, not flags or commands; /openapi.json documents both
    transfer endpoints' form from the same schema the parser reads (with this server's caps)."""
    client = TestClient(create_app(settings(tmp_path, max_size=300)))
    doc = client.get("/api/methods").json()
    helps = [(m["name"], o["name"], o["help"]) for m in doc["details"] for o in m["options"]]
    helps += [("common", o["name"], o["help"]) for o in doc["common"]]
    for where, name, text in helps:
        assert "--" not in text and "`" not in text and "painterly " not in text, (where, name, text)
    gatys = {o["name"]: o for o in next(m for m in doc["details"] if m["name"] == "gatys")["options"]}
    assert gatys["style_scale"]["help"] == "style image size relative to the result size"
    adain = {o["name"]: o for o in next(m for m in doc["details"] if m["name"] == "adain")["options"]}
    assert adain["style_size"]["max"] == 300 and "the style strength" in adain["alpha"]["help"]
    api = client.get("/openapi.json").json()["paths"]
    for path in ("/api/stylize", "/api/jobs"):
        props = api[path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
        assert props["size"]["maximum"] == 300 and props["strength"]["maximum"] == 1.0
        assert {"content", "style", "method", "steps", "alpha", "model"} <= set(props)
    # errors outside the form (a query parameter) are one sentence too
    r = client.get("/api/outputs/nope.png", params={"filename": "x"})
    assert r.status_code == 404 and r.json() == {"detail": "no such result (it may have expired)", "field": None}


def test_favicon_and_every_trained_style_has_its_picture(tmp_path):
    client = TestClient(create_app(settings(tmp_path)))
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert Image.open(io.BytesIO(icon.content)).size == (48, 48) and len(icon.content) < 20_000
    styles = client.get("/api/examples").json()["styles"]
    assert len(styles) >= 29
    seen = set()
    for s in styles:
        r = client.get(s["url"])
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg", s
        assert len(r.content) < 16_000                          # shipped small
        pic = Image.open(io.BytesIO(r.content))
        assert max(pic.size) == 160
        seen.add(np.asarray(pic.convert("L").resize((16, 12))).tobytes())
        assert s["title"] and "_" not in s["title"]
    assert len(seen) == len(styles)                             # each tile its own picture
    assert client.get("/api/styles/model/nope.jpg").status_code == 404


def test_shipped_style_pictures_show_what_each_model_paints_now():
    """Each shipped gallery picture is what its model paints today (a retrained model changes it):
    regenerate with `python -m painterly.web.thumbs` when this fails."""
    from painterly.web import catalog, thumbs
    stale = []
    for m, name in catalog.trained_styles():
        path = thumbs.shipped(m.name, name)
        assert path.is_file(), f"no shipped picture for {m.name}/{name}: run python -m painterly.web.thumbs"
        now = np.asarray(Image.open(io.BytesIO(thumbs.make_picture(m.name, name))).convert("RGB"), np.float32)
        shipped = np.asarray(Image.open(path).convert("RGB"), np.float32)
        if shipped.shape != now.shape or np.abs(shipped - now).mean() > 3:
            stale.append(f"{m.name}/{name}")
    assert not stale, f"stale pictures {stale}: run python -m painterly.web.thumbs"


def _clip(path: Path, n: int = 10) -> bytes:
    """A small H.264 clip panning over noise, with a tone as long as the video (its bytes)."""
    pytest.importorskip("av")
    return make_clip(path, n=n).read_bytes()


def test_a_short_video_is_checked_from_its_header_then_painted_with_progress(tmp_path, uploads):
    from painterly import video
    clip = _clip(tmp_path / "walk.mp4")
    long_clip = _clip(tmp_path / "long.mp4", n=40)              # 4 s
    with TestClient(create_app(settings(tmp_path, max_video_seconds=2.0, max_video_bytes=2**20))) as client:
        files = {"content": ("walk.mp4", clip), "style": ("s.jpg", uploads[1])}
        r = client.post("/api/videos", files=files, data={"method": "adain", "size": "48"})
        assert r.status_code == 202, r.text
        st = _wait(client, r.json()["id"], lambda st: st["state"] not in ("waiting", "running"), timeout=120)
        assert st["state"] == "done" and st["step"] == st["steps"] == 10, st
        res = st["result"]
        assert res["kind"] == "video" and res["frames"] == 10 and (res["width"], res["height"]) == (48, 36)
        assert res["download_name"] == "walk_s_adain.mp4"
        got = client.get(res["url"] + "?filename=walk_s_adain")
        assert got.headers["content-type"] == "video/mp4" and 'filename="walk_s_adain.mp4"' in got.headers["content-disposition"]
        (tmp_path / "out.mp4").write_bytes(got.content)
        info = video.probe(tmp_path / "out.mp4")
        assert info["frames"] == 10 and info["audio"] == "aac"            # the sound is kept
        # refused from the header, before a frame is decoded: too long, too big, not a video, a slow method
        bad = client.post("/api/videos", files={**files, "content": ("long.mp4", long_clip)}, data={"method": "adain"})
        assert bad.status_code == 413 and bad.json() == {
            "detail": "The video is 4.0 s long; this server paints videos of up to 2 s: trim it", "field": "content"}
        bad = client.post("/api/videos", files={**files, "content": ("big.mp4", clip + b"\0" * 2**20)},
                          data={"method": "adain"})
        assert bad.status_code == 413 and "larger than 1 MB" in bad.json()["detail"]
        bad = client.post("/api/videos", files={**files, "content": ("x.mp4", b"not a video at all")}, data={"method": "adain"})
        assert bad.status_code == 422 and bad.json()["detail"].startswith("The video cannot be read")
        bad = client.post("/api/videos", files=files, data={"method": "gatys"})
        assert bad.status_code == 422 and bad.json()["field"] == "method" and "too slow for a video" in bad.json()["detail"]
        bad = client.post("/api/videos", files=files, data={"method": "adain", "where": "sky"})
        assert bad.status_code == 422 and bad.json()["field"] == "where"
        bad = client.post("/api/videos", files=files, data={"method": "adain", "size": "abc"})
        assert bad.json()["detail"] == "size: must be a whole number between 16 and 1024, got 'abc'"
        assert [j.state for j in client.app.state.web.book.all()] == ["done"]     # nothing else was queued
        assert not list((tmp_path / "outputs").glob("*.upload*"))                # uploads are removed


@pytest.fixture()
def live_server(tmp_path):
    """The real app on a free localhost port, in a background thread."""
    import uvicorn
    servers = []

    def start(app=None, **kw):
        with socket.socket() as sk:
            sk.bind(("127.0.0.1", 0))
            port = sk.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app or create_app(settings(tmp_path, **kw)), host="127.0.0.1",
                                               port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.time() + 30
        while not server.started:
            assert time.time() < deadline, "server did not start"
            time.sleep(0.05)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for s, t in servers:
        s.should_exit = True
    for s, t in servers:
        t.join(10)


def test_twenty_concurrent_requests_all_complete(live_server, uploads):
    base = live_server(concurrency=2, max_waiting=32)

    def one(i):
        r = httpx.post(f"{base}/api/stylize", files={"content": ("c.jpg", uploads[0]), "style": ("s.jpg", uploads[1])},
                       data={**FAST, "seed": str(i)}, timeout=120)
        return r.status_code

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(one, range(20)))
    assert codes == [200] * 20
    health = httpx.get(f"{base}/api/health").json()
    assert {k: health[k] for k in ("status", "version", "running", "waiting")} == {
        "status": "ok", "version": painterly.__version__, "running": 0, "waiting": 0}


SOAK_ROUNDS = int(os.environ.get("PAINTERLY_SOAK_ROUNDS", "10"))


def test_server_memory_stays_flat_over_rounds_of_concurrent_jobs(uploads):
    """The real `painterly serve` on 127.0.0.1, SOAK_ROUNDS rounds of 8 concurrent transfers (five
    methods, tiny sizes, so it stays short on CPU): its resident memory after each round stays
    within a small margin of the plateau it reaches after round 2 (it grew from 0.54 to 1.6 GB
    over rounds of 30 before the heap was bounded; docs/server.md has the figures)."""
    import subprocess
    import sys

    from painterly.web.memory import rss_bytes
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "PAINTERLY_OFFLINE": "1"}
    server = subprocess.Popen([sys.executable, "-m", "painterly", "serve", "--port", str(port), "--device", "cpu",
                               "--concurrency", "2", "--max-queue", "32", "--max-size", "64"],
                              cwd=root, env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    forms = [({"method": "adain"}, True), ({"method": "magenta"}, True), ({"method": "model", "model": "picasso"}, False),
             ({"method": "gatys", "steps": "2"}, True), ({"method": "wct"}, True)]

    def one(i: int) -> int:
        data, needs_style = forms[i % len(forms)]
        files = {"content": ("c.jpg", uploads[0]), **({"style": ("s.jpg", uploads[1])} if needs_style else {})}
        return httpx.post(f"{base}/api/stylize", files=files, data={"size": "48", **data}, timeout=300).status_code

    try:
        deadline = time.time() + 120
        while True:
            try:
                httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.HTTPError:
                assert time.time() < deadline and server.poll() is None, "the server did not start"
                time.sleep(0.2)
        rss = []
        with ThreadPoolExecutor(8) as pool:
            for r in range(SOAK_ROUNDS):
                codes = list(pool.map(one, range(r * 8, r * 8 + 8)))
                assert codes == [200] * 8, codes
                time.sleep(0.3)
                rss.append(rss_bytes(server.pid) / 2**20)
        health = httpx.get(f"{base}/api/health").json()
        assert health["running"] == 0 and health["waiting"] == 0 and abs(health["memory_mb"] - rss[-1]) < 20
    finally:
        server.terminate()
        server.wait(30)
    plateau = rss[1]
    print("server RSS after each round (MB):", [round(x) for x in rss])
    assert max(rss[2:]) < plateau + max(40, 0.05 * plateau), rss
    assert max(rss[-3:]) - min(rss[-3:]) < 25, rss              # not creeping up at the end either


def test_a_full_queue_answers_503_and_the_server_survives(live_server, uploads):
    base = live_server(concurrency=1, max_waiting=1)

    def one(i):
        return httpx.post(f"{base}/api/stylize", files={"content": ("c.jpg", uploads[0]), "style": ("s.jpg", uploads[1])},
                          data={"size": "64", "steps": "20"}, timeout=120).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(one, range(6)))
    assert set(codes) <= {200, 503} and 503 in codes and 200 in codes
    assert httpx.get(f"{base}/api/health").json()["status"] == "ok"


def _png_header(w: int, h: int) -> bytes:
    """A PNG whose header claims w x h pixels (a decompression bomb's shape) and holds one row."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * (w + 1))) + chunk(b"IEND", b""))


@pytest.mark.parametrize("w,h", [(8000, 6000), (14000, 14000)])
def test_bombs_are_refused_from_the_header_naming_the_servers_limit(tmp_path, uploads, monkeypatch, w, h):
    import painterly.web.uploads as web_uploads
    decoded = []
    monkeypatch.setattr(web_uploads.images, "decode_bytes", lambda *a, **k: decoded.append(a) or 1 / 0)
    client = TestClient(create_app(settings(tmp_path)))
    r = post(client, _png_header(w, h), uploads[1])
    detail = r.json()["detail"]
    assert r.status_code == 413 and "this server accepts up to 40 MP per image" in detail, detail
    assert r.json()["field"] == "content" and "--" not in detail
    assert "PAINTERLY_MAX_PIXELS" not in detail and not decoded     # refused before any decoding


def _raw(base: str, head: bytes, body_chunks=(), read_timeout: float = 5.0) -> tuple[bytes, int]:
    """Send a raw HTTP request; returns (response, body bytes sent before the answer arrived)."""
    host, port = base.rsplit("//", 1)[1].split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=read_timeout) as sk:
        sk.sendall(head)
        sk.setblocking(False)
        got = b""
        for c in body_chunks:
            try:
                got += sk.recv(65536)
            except BlockingIOError:
                pass
            if got:
                break
            try:
                sk.sendall(c)
            except (BrokenPipeError, ConnectionResetError, BlockingIOError):
                break
            sent += len(c)
            time.sleep(0.002)
        sk.settimeout(read_timeout)
        try:
            while b"\r\n\r\n" not in got:
                more = sk.recv(65536)
                if not more:
                    break
                got += more
        except (ConnectionResetError, socket.timeout):
            pass
    return got, sent


def test_oversized_bodies_are_refused_while_streaming(live_server):
    base = live_server(max_upload_bytes=2**20)          # cap: 2 images x 1 MB (+ form fields)
    head = (b"POST /api/stylize HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n")
    # A declared 2 GB body is refused at once: nothing of it is sent or read.
    t0 = time.perf_counter()
    got, _ = _raw(base, head + b"Content-Length: 2000000000\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 413") and time.perf_counter() - t0 < 2
    # A chunked body (no length) is counted as it arrives and refused just past the cap.
    part = (b'--b\r\nContent-Disposition: form-data; name="content"; filename="c.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n")
    chunks = [b"%x\r\n%s\r\n" % (len(c), c) for c in [part] + [b"x" * 65536] * 2000]   # 128 MB offered
    got, sent = _raw(base, head + b"Transfer-Encoding: chunked\r\n\r\n", chunks)
    assert got.startswith(b"HTTP/1.1 413") and b"larger than 1 MB" in got
    assert sent < 16 * 2**20, f"{sent} bytes were sent before the refusal"


def test_health_and_downloads_answer_while_the_queue_is_full(live_server, uploads, monkeypatch):
    import painterly.web.painting as web_painting
    real_run, release, done = web_painting.paint, threading.Event(), []

    def slow_run(*a, **k):               # every job waits for the first; then they finish at once
        release.wait(60)
        return done[0]

    base = live_server(concurrency=1, max_waiting=60)
    one_pass = {**SMALL, "method": "adain"}
    r = httpx.post(f"{base}/api/stylize", files={"content": ("c.jpg", uploads[0]), "style": ("s.jpg", uploads[1])},
                   data=one_pass, timeout=60)
    url = r.json()["url"]
    monkeypatch.setattr(web_painting, "paint", lambda *a, **k: done.append(real_run(*a, **k)) or done[0])
    httpx.post(f"{base}/api/stylize", data=one_pass, timeout=60,
               files={"content": ("c.jpg", uploads[0]), "style": ("s.jpg", uploads[1])})
    monkeypatch.setattr(web_painting, "paint", slow_run)
    with ThreadPoolExecutor(50) as pool:
        futures = [pool.submit(httpx.post, f"{base}/api/stylize", timeout=120, data=one_pass,
                               files={"content": ("c.jpg", uploads[0]), "style": ("s.jpg", uploads[1])})
                   for _ in range(50)]          # more than the server's 40 worker threads
        deadline = time.time() + 30
        while httpx.get(f"{base}/api/health").json()["waiting"] < 49:
            assert time.time() < deadline, "requests did not queue"
            time.sleep(0.1)
        for _ in range(3):
            t0 = time.perf_counter()
            assert httpx.get(f"{base}/api/health", timeout=5).json()["waiting"] == 49
            assert httpx.get(base + url, timeout=5).status_code == 200
            assert time.perf_counter() - t0 < 0.5
        release.set()
        assert [f.result().status_code for f in futures] == [200] * 50


def test_uploads_are_decoded_off_the_event_loop(live_server, uploads, monkeypatch):
    import painterly.web.uploads as web_uploads
    real = web_uploads.decode_upload

    def slow_decode(*a):
        time.sleep(1.5)
        return real(*a)

    monkeypatch.setattr(web_uploads, "decode_upload", slow_decode)
    base = live_server()
    with ThreadPoolExecutor(1) as pool:
        fut = pool.submit(httpx.post, f"{base}/api/stylize", timeout=60, data=FAST,
                          files={"content": ("c.jpg", uploads[0]), "style": ("s.jpg", uploads[1])})
        time.sleep(0.5)                                 # the upload is being decoded now
        t0 = time.perf_counter()
        assert httpx.get(f"{base}/api/health", timeout=5).status_code == 200
        assert time.perf_counter() - t0 < 0.5
        assert fut.result().status_code == 200


def test_results_folder_is_removed_at_shutdown(uploads):
    import uvicorn
    app = create_app(Settings(device="cpu"))           # the server makes its own /tmp/painterly-web-*
    folder = app.state.store.folder
    assert folder.name.startswith("painterly-web-") and folder.is_dir()
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    r = httpx.post(f"http://127.0.0.1:{port}/api/stylize", data=FAST, timeout=60,
                   files={"content": ("c.jpg", uploads[0]), "style": ("s.jpg", uploads[1])})
    assert r.status_code == 200 and list(folder.glob("*.png"))
    server.should_exit = True                          # what SIGINT / SIGTERM do
    thread.join(10)
    assert not folder.exists()


def _wait(client, job_id, until, timeout=60):
    deadline = time.time() + timeout
    while True:
        st = client.get(f"/api/jobs/{job_id}").json()
        if until(st):
            return st
        assert time.time() < deadline, st
        time.sleep(0.05)


def test_jobs_show_progress_and_a_preview_and_stop_keeps_the_best_image(tmp_path, uploads):
    with TestClient(create_app(settings(tmp_path))) as client:
        files = {"content": ("Tubingen.jpg", uploads[0]), "style": ("Starry Night.jpg", uploads[1])}
        r = client.post("/api/jobs", files=files, data={"method": "gatys", "size": "48", "steps": "1000"})
        assert r.status_code == 202, r.text
        job = r.json()["id"]
        st = _wait(client, job, lambda st: st["state"] == "running" and st["step"] >= 10 and st["preview"])
        assert st["steps"] == 1000 and st["eta"] > 0
        preview = client.get(st["preview"])
        assert preview.headers["content-type"] == "image/jpeg"
        assert max(Image.open(io.BytesIO(preview.content)).size) == 48
        assert client.post(f"/api/jobs/{job}/stop").status_code == 200
        st = _wait(client, job, lambda st: st["state"] not in ("waiting", "running"))
        res = st["result"]
        assert st["state"] == "done" and res["stopped"] == "interrupted" and st["step"] < 1000
        assert res["download_name"] == "tubingen_starry-night_gatys.png"
        img = client.get(res["url"] + "?filename=tubingen_starry-night_gatys")
        assert img.status_code == 200 and 'filename="tubingen_starry-night_gatys.png"' in img.headers["content-disposition"]
        out = np.asarray(Image.open(io.BytesIO(img.content)).convert("RGB"), np.float32)
        photo = np.asarray(Image.open(io.BytesIO(uploads[0])).convert("RGB").resize(out.shape[1::-1]), np.float32)
        assert np.abs(out - photo).mean() > 1                          # the best image so far, not the photo


def test_a_waiting_job_can_be_cancelled_and_bad_jobs_fail_in_plain_words(tmp_path, uploads):
    with TestClient(create_app(settings(tmp_path, max_waiting=4))) as client:
        files = {"content": ("c.jpg", uploads[0]), "style": ("s.jpg", uploads[1])}
        first = client.post("/api/jobs", files=files, data={"method": "gatys", "size": "32", "steps": "1000"}).json()
        second = client.post("/api/jobs", files=files, data={"method": "adain", "size": "32"}).json()
        assert second["state"] == "waiting" and second["position"] == 1
        assert client.post(f"/api/jobs/{second['id']}/stop").status_code == 200
        assert _wait(client, second["id"], lambda st: st["state"] != "waiting")["state"] == "cancelled"
        client.post(f"/api/jobs/{first['id']}/stop")
        _wait(client, first["id"], lambda st: st["state"] == "done")
        assert client.get("/api/health").json()["waiting"] == 0
        bad = client.post("/api/jobs", files={"content": ("c.png", b"not a picture"), "style": files["style"]},
                          data={"method": "adain"})
        assert bad.status_code == 422 and "not an image format" in bad.json()["detail"]
        bad = client.post("/api/jobs", files=files, data={"method": "gatys", "steps": "100000"})
        assert bad.status_code == 422 and bad.json()["detail"] == "steps: must be a whole number between 1 and 1000, got '100000'"
        bad = client.post("/api/jobs", files=files, data={"method": "nope"})
        assert bad.status_code == 422 and bad.json()["field"] == "method"


def test_methods_carry_the_schema_the_page_builds_its_controls_from(tmp_path):
    from painterly import methods
    client = TestClient(create_app(settings(tmp_path)))
    doc = client.get("/api/methods").json()
    names = [m["name"] for m in doc["details"]]
    # every registered method the browser can run is offered, in registry order, with its own options
    assert names == [m.name for m in methods.all_methods() if m.can_run_in_browser()]
    assert {"gatys", "adain", "model"} <= set(names)
    for m in doc["details"]:
        assert m["title"] and m["paper"] and isinstance(m["needs_style"], bool) and isinstance(m["iterative"], bool)
        assert [o["name"] for o in m["options"]] == [f["name"] for f in
                                                     __import__("painterly.options").options.schema(methods.get(m["name"]).options)]
        for o in m["options"]:
            assert {"name", "label", "type", "default", "help", "advanced"} <= set(o), o
            if o["choices"]:
                assert o["default"] in o["choices"]
        if m["needs_model"]:                    # a picker of the models this server has, not a free path
            picker = next(o for o in m["options"] if o["name"] == "model")
            assert picker["choices"] == m["models"] and not picker["advanced"]
    gatys = next(m for m in doc["details"] if m["name"] == "gatys")
    assert gatys["options"][0]["name"] == "steps" and gatys["options"][0]["max"] == 1000
    common = {o["name"]: o for o in doc["common"]}
    assert common["strength"]["default"] == 1.0 and not common["strength"]["advanced"]     # full strength
    assert common["size"]["max"] == 1024
    ex = client.get("/api/examples").json()
    assert len(ex["paintings"]) >= 4 and len(ex["photos"]) >= 2
    assert {(s["method"], s["id"]) for s in ex["styles"]} >= {("model", "starry_night")}
    for item in ex["photos"] + ex["paintings"]:
        r = client.get(item["url"])
        assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size[0] > 100
    assert client.get("/api/examples/..%2Fweb%2Fapp.py").status_code == 404
    page = client.get("/")
    assert page.status_code == 200 and "app.js" in page.text


def test_a_newly_registered_method_appears_with_its_own_controls(tmp_path, uploads):
    """One registration: /api/methods offers it with its options (the page's controls), its models
    join the gallery, and /api/jobs runs it with those options."""
    import dataclasses as dc

    import torch

    from painterly import methods
    from painterly.options import opt

    @dc.dataclass
    class TintOptions:
        model: str = opt(None, help="which tint")
        amount: float = opt(0.5, min=0.0, max=1.0, help="how far towards the tint")

    def run(r):
        o = r.options
        return methods.Output(o.amount * torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1).expand_as(r.content)
                              + (1 - o.amount) * r.content, info={"seconds": 0.0, "model": o.model})

    methods.all_methods()

    @methods.register
    def tint():
        return methods.Method(
            name="tint", title="A red tint (test)", paper="nobody 2026", description="tints the photo",
            options=TintOptions, run=run, needs_style=False, needs_model=True, supports=frozenset({"strength"}),
            models=lambda: [methods.ModelInfo("red")])
    try:
        with TestClient(create_app(settings(tmp_path))) as client:
            tint = next(d for d in client.get("/api/methods").json()["details"] if d["name"] == "tint")
            assert tint["title"] == "A red tint (test)" and [o["name"] for o in tint["options"]] == ["model", "amount"]
            assert tint["options"][0]["choices"] == ["red"] and tint["options"][1]["max"] == 1.0
            assert {"id": "red", "method": "tint", "title": "Red", "url": "/api/styles/tint/red.jpg"} in \
                client.get("/api/examples").json()["styles"]
            pic = client.get("/api/styles/tint/red.jpg")      # no shipped picture: painted once, then cached
            assert pic.status_code == 200 and pic.headers["content-type"] == "image/jpeg"
            red = np.asarray(Image.open(io.BytesIO(pic.content)).convert("RGB"), np.float32)
            assert max(red.shape[:2]) == 160 and red[..., 0].mean() > red[..., 1].mean() + 60   # half-way red
            r = client.post("/api/jobs", files={"content": ("c.jpg", uploads[0])},
                            data={"method": "tint", "model": "red", "amount": "1", "size": "32"})
            assert r.status_code == 202, r.text
            st = _wait(client, r.json()["id"], lambda st: st["state"] not in ("waiting", "running"))
            assert st["state"] == "done" and st["result"]["download_name"] == "c_red_tint.png"
            out = np.asarray(Image.open(io.BytesIO(client.get(st["result"]["url"]).content)).convert("RGB"))
            assert out[..., 0].min() > 250 and out[..., 1].max() < 5
            bad = client.post("/api/jobs", files={"content": ("c.jpg", uploads[0])},
                              data={"method": "tint", "model": "red", "amount": "3"})
            assert bad.status_code == 422 and bad.json() == {"detail": "amount: must be a number between 0 and 1, got '3'",
                                                             "field": "amount"}
    finally:
        methods.unregister("tint")


CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
                 if p and os.path.exists(p)), None)
#: Screenshots of the page test go to a temp folder (look at them); with PAINTERLY_UPDATE_SCREENSHOTS=1
#: small copies refresh docs/images/web.png and web_phone.png.
SHOTS = Path(os.environ.get("PAINTERLY_SCREENSHOTS", Path(tempfile.gettempdir()) / "painterly-web-shots"))
DOC_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"


def _visible_in_viewport(page, selector: str) -> bool:
    return page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return r.width > 100 && r.height > 60 && r.top >= 0 && r.bottom <= innerHeight + 1; }""", selector)


def _set(page, selector: str, value) -> None:
    page.eval_on_selector(selector, "(e, v) => { e.value = v; e.dispatchEvent(new Event('input')); }", value)


def _natural_width(page, selector: str) -> int:
    return page.evaluate("(sel) => document.querySelector(sel).naturalWidth", selector)


def _shoot(page, name: str, doc_width: int = 0) -> Path:
    """A screenshot in SHOTS; with PAINTERLY_UPDATE_SCREENSHOTS=1 also a small palette PNG for the docs."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    if doc_width and os.environ.get("PAINTERLY_UPDATE_SCREENSHOTS"):
        im = Image.open(path).convert("RGB")
        im = im.resize((doc_width, round(im.height * doc_width / im.width)), Image.LANCZOS)
        im.quantize(192, method=Image.Quantize.MEDIANCUT).save(DOC_IMAGES / f"{name}.png", optimize=True)
    return path


#: Watches the result viewer the whole time: any visible <img> that is broken (no picture, so the
#: browser would draw its broken-image icon and alt text) is recorded.
WATCH_BROKEN = """window.__broken = []; setInterval(() => {
    for (const i of document.querySelectorAll('#viewer img')) {
        const broken = !i.getAttribute('src') || (i.complete && i.naturalWidth === 0);
        if (i.offsetParent !== null && broken) window.__broken.push(i.id + ' ' + i.src);
    } }, 25);"""

#: No settings row or help text lies under the Paint it button, at any scroll position.
COVERED = """() => { const out = [], run = document.querySelector('#run').getBoundingClientRect();
    for (const el of document.querySelectorAll('.control, .control .help, #method-about, details > summary')) {
        const r = el.getBoundingClientRect();
        if (r.height && r.bottom > run.top && r.top < run.bottom && r.right > run.left && r.left < run.right)
            out.push(el.className + ':' + el.textContent.slice(0, 30));
    } return out; }"""


@pytest.mark.skipif(not CHROMIUM, reason="headless Chromium not installed (CI installs Debian's chromium)")
def test_page_as_a_person_uses_it(live_server, content_path, style_path, tmp_path):
    """Desktop and phone: pick a photo and a painting, paint (one pass), watch a short Gatys run and
    stop it, compare, download; a fake image gets a plain message. And the rough edges of #27: no
    broken-image icon while computing, Paint it covers nothing, the compare slider starts in the
    middle for each result, the trained-style gallery scrolls with a cue and every tile has its
    picture and whole name, help in plain words, the seed is a box with a random button, the
    result size belongs to each method, and on a phone Paint it and the result are in view."""
    playwright = pytest.importorskip("playwright.sync_api")
    base = live_server(max_size=256, max_steps=400)
    fake = tmp_path / "holiday.png"
    fake.write_text("this is not a picture")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            # --- desktop ---
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/")
            page.wait_for_selector("body[data-ready='1']", timeout=60000)
            page.evaluate(WATCH_BROKEN)
            assert page.evaluate("fetch('/favicon.ico').then(r => r.status)") == 200
            assert page.get_attribute("link[rel=icon]", "href") == "/favicon.ico"
            page.set_input_files("#content-file", str(fake))
            page.wait_for_selector("#content-error:not(:empty)")
            msg = page.inner_text("#content-error")
            assert "isn't a picture" in msg and "/" not in msg and "Error" not in msg
            page.set_input_files("#content-file", str(content_path))
            page.wait_for_selector("#content-img:not([hidden])")
            assert page.inner_text("#content-error") == ""
            page.set_input_files("#style-file", str(style_path))
            page.wait_for_selector("#style-img:not([hidden])")
            assert page.get_attribute(".method[aria-checked=true]", "data-name") == "magenta"   # the one-pass default (first in the registry)
            # every method's help speaks plain words: no flags, no commands
            for name in page.eval_on_selector_all(".method", "bs => bs.map(b => b.dataset.name)"):
                page.click(f".method[data-name={name}]")
                for text in page.eval_on_selector_all(".control .help", "hs => hs.map(h => h.textContent)"):
                    assert "--" not in text and "`" not in text and "painterly " not in text, (name, text)
            # the result size belongs to each method; the seed is a box with a "random" button
            page.click(".method[data-name=gatys]")
            page.click("#more summary")
            assert page.get_attribute("#opt-seed", "type") == "number"
            seed = page.input_value("#opt-seed")
            page.click("#opt-seed-random")
            assert page.input_value("#opt-seed") != seed and 0 <= int(page.input_value("#opt-seed")) < 2**31
            _set(page, "#opt-size", 128)               # small keeps the Gatys run quick
            page.click(".method[data-name=model]")
            assert page.input_value("#opt-size") == "256"       # the server's default, not Gatys's 128
            page.click(".method[data-name=gatys]")
            assert page.input_value("#opt-size") == "128"
            # Paint it covers no setting or help, wherever the page is scrolled
            height = page.evaluate("document.documentElement.scrollHeight")
            for y in range(0, height, 120):
                page.evaluate(f"window.scrollTo(0, {y})")
                assert page.evaluate(COVERED) == [], y
            page.evaluate("window.scrollTo(0, 0)")
            # Gatys: live preview with step and ETA, then Stop keeps the best image so far
            assert page.is_visible("#opt-steps") and not page.is_visible("#opt-model")
            _set(page, "#opt-steps", 400)
            page.click("#run")
            page.wait_for_selector("#working:not([hidden])", timeout=5000)      # a spinner, not a broken image
            page.wait_for_function("document.querySelector('#status').textContent.includes('left')", timeout=60000)
            page.wait_for_selector("#preview:not([hidden])[src^='blob:']", timeout=60000)   # fetched whole, then shown
            page.wait_for_function("+(/Step (\\d+)/.exec(document.querySelector('#status').textContent) || [0, 0])[1] >= 6",
                                   timeout=60000)
            assert _visible_in_viewport(page, "#preview") and page.is_visible("#stop")
            _shoot(page, "web_live")
            status = page.inner_text("#status")
            assert status.startswith("Step ") and " of 400" in status
            page.click("#stop")
            page.wait_for_function("document.querySelector('#status').textContent.startsWith('Stopped at step')",
                                   timeout=60000)
            assert "kept the best image" in page.inner_text("#status")
            assert _visible_in_viewport(page, "#result") and page.is_hidden("#preview")
            assert page.input_value("#split") == "50"
            _set(page, "#split", 20)                    # the person compares...
            # one pass, controls generated from the schema
            page.click(".method[data-name=adain]")
            assert page.is_visible("#opt-strength") and not page.is_visible("#opt-steps")
            assert page.input_value("#opt-size") == "256"
            page.click("#run")
            page.wait_for_selector("#actions:not([hidden])", timeout=60000)
            assert page.input_value("#split") == "50"   # ...and the next result starts half and half again
            assert page.evaluate("getComputedStyle(document.querySelector('#viewer')).getPropertyValue('--split')").strip() == "50%"
            assert _visible_in_viewport(page, "#result") and _natural_width(page, "#result") == 256
            assert "tubingen_starry-night_adain.png" == page.get_attribute("#download", "download")
            assert page.locator("#strip button").count() == 2
            _shoot(page, "web", doc_width=960)
            # a bad value gets one sentence naming the control
            page.evaluate("state.values.adain.alpha = 'lots'")
            page.click("#run")
            page.wait_for_selector("#job-error:not(:empty)")
            assert page.inner_text("#job-error") == "Alpha: must be a number between 0 and 1, got 'lots'"
            assert page.get_attribute(".control[data-option=alpha]", "class").endswith("invalid")
            page.evaluate("state.values.adain.alpha = 1")
            # the gallery: a scrolling grid with a cue; every tile has its picture and its whole name
            g = page.evaluate("(() => { const g = document.querySelector('#gallery'); "
                              "return [g.scrollHeight, g.clientHeight, g.getBoundingClientRect().width]; })()")
            assert g[0] > g[1] + 100 and g[2] <= 480
            assert page.is_visible("#gallery-cue") and "scroll for" in page.inner_text("#gallery-cue")
            page.evaluate("document.querySelector('#gallery').scrollTo(0, 1e6)")
            page.wait_for_function("document.querySelector('#gallery-cue').classList.contains('done')")
            tiles = page.eval_on_selector_all("#gallery .thumb", """ts => ts.map(t => {
                t.scrollIntoView({block: 'nearest'}); const i = t.querySelector('img'), s = t.querySelector('span');
                return [t.dataset.id, s.textContent, s.scrollWidth <= s.clientWidth + 1, s.scrollHeight <= s.clientHeight + 1,
                        getComputedStyle(s).textOverflow]; })""")
            assert len(tiles) >= 33
            for tid, title, fits_w, fits_h, overflow in tiles:
                assert fits_w and fits_h and overflow != "ellipsis", (tid, title)
            page.wait_for_function("[...document.querySelectorAll('#gallery img')].every(i => i.complete && i.naturalWidth > 0)",
                                   timeout=30000)
            # a trained style from the gallery: one click shows its picture, picks method and model
            page.click("#gallery .thumb.trained[data-id='trained:fauve_blades']")
            assert page.get_attribute(".method[aria-checked=true]", "data-name") == "model"
            assert page.is_visible("#opt-model") and page.input_value("#opt-model") == "fauve_blades"
            assert page.input_value("#opt-strength") == "1"
            page.wait_for_function("document.querySelector('#style-img').naturalWidth == 160")
            assert page.get_attribute("#style-img", "src") == "/api/styles/model/fauve_blades.jpg"
            assert "Fauve blades" in page.inner_text("#style-note")
            page.click("#run")
            page.wait_for_function("document.querySelectorAll('#strip button').length == 3", timeout=60000)
            assert page.get_attribute("#download", "download") == "tubingen_fauve-blades_model.png"
            assert page.evaluate("window.__broken") == []           # no broken image at any moment
            page.close()

            # --- phone ---
            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                     is_mobile=True, has_touch=True)
            phone.goto(base + "/")
            phone.wait_for_selector("body[data-ready='1']", timeout=60000)
            phone.evaluate(WATCH_BROKEN)
            phone.click("#photo-examples .thumb >> nth=0")
            phone.wait_for_selector("#content-img:not([hidden])")
            phone.click("#gallery .thumb:not(.trained) >> nth=1")
            phone.wait_for_selector("#style-img:not([hidden])")
            phone.evaluate("window.scrollTo(0, 0)")
            # Paint it is whole on the first screen, and nothing lies over it
            box = phone.evaluate("(() => { const r = document.querySelector('#run').getBoundingClientRect(); "
                                 "return [r.top, r.bottom, innerHeight, document.elementFromPoint(r.left + 10, r.bottom - 4).id]; })()")
            assert box[1] <= box[2] and box[3] == "run", box
            _shoot(phone, "web_phone_start")
            phone.click("#run")
            phone.wait_for_selector("#actions:not([hidden])", timeout=60000)
            phone.wait_for_timeout(800)                              # the smooth scroll settles
            assert _visible_in_viewport(phone, "#result")            # the result comes into view by itself
            assert phone.get_attribute("#download", "download") == "tubingen_great-wave_magenta.png"
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390   # no sideways scroll
            assert phone.evaluate("window.__broken") == []
            _shoot(phone, "web_phone", doc_width=390)
            phone.close()
        finally:
            browser.close()


@pytest.mark.skipif(not CHROMIUM, reason="headless Chromium not installed (CI installs Debian's chromium)")
def test_page_paints_a_short_video_with_progress_and_plays_it(live_server, style_path, tmp_path):
    """A short video as the photo: refused in plain words when too long, else painted frame by frame
    with the frame count shown, then played in the page (with its sound) and downloadable as MP4."""
    playwright = pytest.importorskip("playwright.sync_api")
    clip, long_clip = tmp_path / "walk.mp4", tmp_path / "long.mp4"
    _clip(clip, n=20)
    _clip(long_clip, n=40)
    base = live_server(max_size=256, max_video_seconds=3.0)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/")
            page.wait_for_selector("body[data-ready='1']", timeout=60000)
            page.evaluate(WATCH_BROKEN)
            page.set_input_files("#content-file", str(long_clip))
            page.wait_for_selector("#content-error:not(:empty)")
            assert page.inner_text("#content-error") == ("That video is 4.0 s long; this server paints videos of up "
                                                         "to 3 s. Trim it first.")
            page.set_input_files("#content-file", str(clip))
            page.wait_for_selector("#content-video:not([hidden])")
            page.set_input_files("#style-file", str(style_path))
            page.wait_for_selector("#style-img:not([hidden])")
            page.click(".method[data-name=gatys]")
            page.click("#run")
            assert "too slow for a video" in page.inner_text("#run-error")
            page.click(".method[data-name=adain]")
            _set(page, "#opt-size", 64)
            page.click("#run")
            page.wait_for_function("/^Frame \\d+ of 20/.test(document.querySelector('#status').textContent)",
                                   timeout=60000)
            page.wait_for_selector("#result-video:not([hidden])", timeout=120000)
            page.wait_for_function("(() => { const v = document.querySelector('#result-video'); "
                                   "return v.readyState >= 2 && v.videoWidth == 64 && v.videoHeight == 48 && v.duration > 1.9; })()",
                                   timeout=30000)
            assert page.is_hidden("#viewer") and page.get_attribute("#download", "download") == "walk_starry-night_adain.mp4"
            assert "20 frames" in page.inner_text("#result-info")
            assert page.evaluate("window.__broken") == []
            _shoot(page, "web_video")
        finally:
            browser.close()


# ----------------------------------------------------------------------------- where to paint (automatic masks)

SEGMENT_DATA = Path(__file__).parent / "data" / "masks"


def test_where_previews_the_region_and_paints_only_there(tmp_path):
    """`where=sky`: /api/mask shows the sky; a transfer paints the sky and keeps the ground's pixels;
    bad values and a photo without that part are one sentence naming `where`, before any job."""
    landscape = (SEGMENT_DATA / "landscape.jpg").read_bytes()
    client = TestClient(create_app(settings(tmp_path)))
    common = client.get("/api/methods").json()["common"]
    where = next(o for o in common if o["name"] == "where")
    assert where["choices"] == ["", "sky", "not-sky", "person", "background"] and where["labels"][""]
    r = client.post("/api/mask", files={"content": ("l.jpg", landscape)}, data={"where": "sky"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
    m = np.asarray(Image.open(io.BytesIO(r.content)).convert("L"), np.float32) / 255
    share = float(r.headers["x-painterly-share"])
    assert max(m.shape) <= 512 and abs(share - float((m > 0.5).mean())) < 0.02 and 0.1 < share < 0.9
    top, bottom = m[: m.shape[0] // 6].mean(), m[-m.shape[0] // 6:].mean()
    assert top > 0.8 and bottom < 0.2                       # the sky is at the top of this photo
    r = client.post("/api/stylize", files={"content": ("l.jpg", landscape)},
                    data={"method": "model", "model": "starry_night", "size": "128", "where": "sky"})
    assert r.status_code == 200, r.text
    out = np.asarray(Image.open(io.BytesIO(client.get(r.json()["url"]).content)).convert("RGB"), np.float32)
    photo = np.asarray(Image.open(io.BytesIO(landscape)).convert("RGB").resize(out.shape[1::-1], Image.LANCZOS),
                       np.float32)
    small = np.asarray(Image.fromarray((m * 255).astype(np.uint8)).resize(out.shape[1::-1]), np.float32) / 255
    sky, ground = small > 0.95, small < 0.05
    assert np.abs(out - photo)[sky].mean() > 10 * max(np.abs(out - photo)[ground].mean(), 0.5)
    for data, words in (({"where": "tree"}, "where: must be one of sky, not-sky, person, background, or left empty"),
                        ({}, "where: is missing")):
        bad = client.post("/api/mask", files={"content": ("l.jpg", landscape)}, data=data)
        assert bad.status_code == 422 and bad.json()["detail"].startswith(words), bad.text
    nobody = client.post("/api/jobs", files={"content": ("l.jpg", landscape)},
                         data={"method": "model", "model": "starry_night", "size": "64", "where": "person"})
    assert nobody.status_code == 422 and nobody.json() == {
        "detail": "where: found no person in the photo: choose another part, or 'the whole picture'", "field": "where"}


@pytest.mark.skipif(not CHROMIUM, reason="headless Chromium not installed (CI installs Debian's chromium)")
def test_page_where_choice_previews_the_mask_then_paints_only_there(live_server):
    """Desktop and phone: choose "the sky" under Where to paint; the photo box dims what will keep the
    photo and says how much is painted; the painted result changes the sky, not the ground."""
    playwright = pytest.importorskip("playwright.sync_api")
    base = live_server(max_size=256)
    landscape = SEGMENT_DATA / "landscape.jpg"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            for name, viewport in (("web_where", {"width": 1280, "height": 900}),
                                   ("web_where_phone", {"width": 390, "height": 844})):
                page = browser.new_page(viewport=viewport)
                page.goto(base + "/")
                page.wait_for_selector("body[data-ready='1']", timeout=60000)
                page.set_input_files("#content-file", str(landscape))
                page.wait_for_selector("#content-img:not([hidden])")
                page.click(".method[data-name=model]")
                assert page.is_visible("#opt-where")
                page.select_option("#opt-where", "sky")
                page.wait_for_function("(document.querySelector('#where-note') || {}).textContent"
                                       "?.startsWith('Paints the sky')", timeout=60000)
                note = page.inner_text("#where-note")
                share = int(note.split(": ")[1].split(" %")[0])
                assert 10 < share < 90 and page.get_attribute("#content-img", "src").startswith("data:image/jpeg")
                page.eval_on_selector("#content-img", "i => i.scrollIntoView({block: 'center'})")
                _shoot(page, name, 640 if name == "web_where" else 0)
                page.click("#run")
                page.wait_for_selector("#result:not([hidden])", timeout=120000)
                src = page.get_attribute("#result", "src")
                out = np.asarray(Image.open(io.BytesIO(httpx.get(base + src).content)).convert("RGB"), np.float32)
                photo = np.asarray(Image.open(landscape).convert("RGB").resize(out.shape[1::-1], Image.LANCZOS),
                                   np.float32)
                h = out.shape[0]
                top, bottom = np.abs(out - photo)[: h // 6].mean(), np.abs(out - photo)[-h // 6:].mean()
                assert top > 10 * max(bottom, 0.5), (top, bottom)
                # back to the whole picture: the photo box shows the photo again
                page.select_option("#opt-where", "")
                page.wait_for_function("!document.querySelector('#content-img').src.startsWith('data:')")
                page.close()
        finally:
            browser.close()
