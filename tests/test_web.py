"""Web page and HTTP API: uploads, limits, the job queue, expiry, and a real browser run."""

import io
import os
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from fastapi.testclient import TestClient  # noqa: E402

import painterly  # noqa: E402
from painterly.web.app import Settings, create_app  # noqa: E402
from painterly.web.jobs import JobQueue, QueueFull  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FAST = {"size": "32", "steps": "2"}


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
        r = post(client, *uploads, method=method, size="64", strength="0.7")
        assert r.status_code == 200 and r.json()["method"] == method, r.text
    r = client.post("/api/stylize", files={"content": ("c.jpg", uploads[0])},
                    data={"method": "model", "model": "starry_night", "size": "64"})
    assert r.status_code == 200 and r.json()["encoder"] == "starry_night", r.text
    out = np.asarray(Image.open(io.BytesIO(client.get(r.json()["url"]).content)).convert("RGB"), np.float32)
    photo = np.asarray(Image.open(io.BytesIO(uploads[0])).convert("RGB").resize((64, 48)), np.float32)
    assert np.abs(out - photo).mean() > 5
    bad = client.post("/api/stylize", files={"content": ("c.jpg", uploads[0])}, data={"method": "adain"})
    assert bad.status_code == 422 and "needs a style image" in bad.text
    bad = client.post("/api/stylize", files={"content": ("c.jpg", uploads[0])},
                      data={"method": "model", "model": "nope"})
    assert bad.status_code == 422 and "unknown model" in bad.text


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
    assert "unknown method" in post(client, *uploads, method="magic").json()["detail"]
    assert post(client, *uploads, strength="7").status_code == 422


def test_results_expire_and_names_are_not_paths(tmp_path, uploads):
    client = TestClient(create_app(settings(tmp_path, output_ttl=0.5)))
    url = post(client, *uploads).json()["url"]
    assert client.get(url).status_code == 200
    time.sleep(1.0)
    assert client.get(url).status_code == 404
    assert not list((tmp_path / "outputs").glob("*.png"))
    assert client.get("/api/outputs/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_job_queue_bounds_waiting_jobs():
    q = JobQueue(concurrency=1, max_waiting=1)
    release, started = threading.Event(), threading.Event()

    def hold():
        with q.slot():
            started.set()
            release.wait(5)

    threads = [threading.Thread(target=hold) for _ in range(2)]
    threads[0].start()
    started.wait(5)
    threads[1].start()                      # waits for the slot
    deadline = time.time() + 5
    while q.waiting < 1 and time.time() < deadline:
        time.sleep(0.01)
    with pytest.raises(QueueFull, match="busy"):
        with q.slot():
            pass
    release.set()
    for t in threads:
        t.join(5)
    assert q.running == 0 and q.waiting == 0


@pytest.fixture()
def live_server(tmp_path):
    """The real app on a free localhost port, in a background thread."""
    import uvicorn
    servers = []

    def start(**kw):
        with socket.socket() as sk:
            sk.bind(("127.0.0.1", 0))
            port = sk.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(settings(tmp_path, **kw)), host="127.0.0.1",
                                               port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        deadline = time.time() + 30
        while not server.started:
            assert time.time() < deadline, "server did not start"
            time.sleep(0.05)
        servers.append(server)
        return f"http://127.0.0.1:{port}"

    yield start
    for s in servers:
        s.should_exit = True


def test_twenty_concurrent_requests_all_complete(live_server, uploads):
    base = live_server(concurrency=2, max_waiting=32)

    def one(i):
        r = httpx.post(f"{base}/api/stylize", files={"content": ("c.jpg", uploads[0]), "style": ("s.jpg", uploads[1])},
                       data={**FAST, "seed": str(i)}, timeout=120)
        return r.status_code

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(one, range(20)))
    assert codes == [200] * 20
    assert httpx.get(f"{base}/api/health").json() == {"status": "ok", "version": painterly.__version__, "running": 0, "waiting": 0}


def test_a_full_queue_answers_503_and_the_server_survives(live_server, uploads):
    base = live_server(concurrency=1, max_waiting=1)

    def one(i):
        return httpx.post(f"{base}/api/stylize", files={"content": ("c.jpg", uploads[0]), "style": ("s.jpg", uploads[1])},
                          data={"size": "64", "steps": "20"}, timeout=120).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(one, range(6)))
    assert set(codes) <= {200, 503} and 503 in codes and 200 in codes
    assert httpx.get(f"{base}/api/health").json()["status"] == "ok"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not CHROMIUM, reason="headless Chromium not installed (CI installs Debian's chromium)")
def test_page_in_a_real_browser(live_server, content_path, style_path):
    playwright = pytest.importorskip("playwright.sync_api")
    base = live_server(max_size=64)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(base + "/", wait_until="networkidle", timeout=60000)
            page.locator("#content input[type=file]").set_input_files(str(content_path))
            page.locator("#style input[type=file]").set_input_files(str(style_path))
            page.locator("#content img").wait_for(timeout=30000)
            page.locator("#style img").wait_for(timeout=30000)
            page.locator("#run").click()
            page.locator("#download a").first.wait_for(timeout=180000)
            assert "done in" in page.locator("#status").inner_text()
            src = page.locator("#result img").get_attribute("src")
            body = page.request.get(src).body()
            out = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"), np.float32)
            photo = np.asarray(Image.open(content_path).convert("RGB").resize((out.shape[1], out.shape[0])),
                               np.float32)
            assert max(out.shape[:2]) == 64 and np.abs(out - photo).mean() > 5
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "web.png"), full_page=True)
        finally:
            browser.close()
