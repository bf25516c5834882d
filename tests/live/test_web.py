"""cnnlab serve: the HTTP API (faces, limits, bad requests) and the page in a real headless Chromium whose fake
camera plays a video of FER-2013 test faces. Chromium is driven over the DevTools protocol (websocket-client).
CI installs Debian's `chromium` (.ci/run); without it the browser test fails, it does not skip."""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from cnnlab.cli import build_parser, main
from cnnlab.data.fer2013 import CLASSES
from cnnlab.live import scene
from cnnlab.live.colours import COLOURS
from cnnlab.live.table import COLUMNS
from cnnlab.live.track import iou
from conftest import wait_until
from test_live import ROOT, faces, fer_run  # noqa: F401  (fixtures)

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.fixture(scope="module")
def server(fer_run):  # noqa: F811
    from cnnlab.live.web.server import make_server
    args = build_parser().parse_args(["serve", str(fer_run), "--max-upload-mb", "0.5"])
    srv = make_server(args, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def request(srv, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, r.getheader("Content-Type"), data


def jpeg(frame) -> bytes:
    return cv2.imencode(".jpg", frame)[1].tobytes()


@pytest.mark.data
def test_api_predicts_faces(server, faces):  # noqa: F811
    frame, truth = next(scene.frames(faces[:2], 1, jitter=0))
    code, ctype, body = request(server, "POST", "/api/predict", jpeg(frame), {"Content-Type": "image/jpeg"})
    assert code == 200 and ctype == "application/json"
    r = json.loads(body)
    assert (r["width"], r["height"]) == (640, 480) and len(r["faces"]) == 2
    assert all(any(iou(t, f["box"]) > 0.5 for f in r["faces"]) for t in truth)
    assert all(abs(sum(f["probabilities"].values()) - 1) < 1e-3 for f in r["faces"])
    # a stream keeps its state between frames; PNG works too
    for _ in range(3):
        code, _, body = request(server, "POST", "/api/predict?stream=abc", cv2.imencode(".png", frame)[1].tobytes(),
                                {"Content-Type": "image/png"})
        assert code == 200 and len(json.loads(body)["faces"]) == 2
    assert "abc" in server.streams
    code, _, body = request(server, "POST", "/api/predict", jpeg(scene.background()), {"Content-Type": "image/jpeg"})
    assert code == 200 and json.loads(body)["faces"] == []
    code, ctype, body = request(server, "GET", "/")
    assert code == 200 and ctype.startswith("text/html") and b"app.js" in body
    code, ctype, body = request(server, "GET", "/app.js")
    assert code == 200 and b"getUserMedia" in body
    info = json.loads(request(server, "GET", "/api/info")[2])
    assert info["classes"][0] == "angry" and info["max_upload_bytes"] == 500_000
    stats = json.loads(request(server, "GET", "/api/stats")[2])
    assert stats["frames"] >= 5 and stats["faces"] >= 8


@pytest.mark.data
def test_a_photo_gets_the_same_answer_on_the_page_and_from_live_image(server, fer_run, faces, tmp_path,  # noqa: F811
                                                                     capsys):
    """A still photo is a still photo: /api/predict (no stream) and `cnnlab live --image` use the same settings
    and give the same faces; a photo without a face gets the same hint as `live --image` gives."""
    frame, _ = scene.still(faces[0], seed=7, sizes=(70, 90))  # a small face: detection width matters
    photo = tmp_path / "photo.jpg"  # the fixture's server takes at most 0.5 MB
    cv2.imwrite(str(photo), frame)
    code, _, body = request(server, "POST", "/api/predict", photo.read_bytes(), {"Content-Type": "image/jpeg"})
    assert code == 200
    page = json.loads(body)["faces"]
    assert main(["live", str(fer_run), "--image", str(photo), "--no-window"]) == 0
    live = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["faces"]
    assert len(page) == 1 and page == live
    assert list(page[0]["probabilities"]) == list(CLASSES) and page[0]["face"] == 0
    code, _, body = request(server, "POST", "/api/predict", jpeg(scene.background()), {"Content-Type": "image/jpeg"})
    answer = json.loads(body)
    assert answer["faces"] == [] and "no face found" in answer["hint"] and "--min-face 40" in answer["hint"]
    info = json.loads(request(server, "GET", "/api/info")[2])
    assert info["colours"] == COLOURS


def test_api_rejects_bad_requests(server):
    code, _, body = request(server, "POST", "/api/predict", b"hello", {"Content-Type": "text/plain"})
    assert code == 415 and "send an image" in json.loads(body)["error"]
    code, _, body = request(server, "POST", "/api/predict", b"\xff\xd8 not really a jpeg",
                            {"Content-Type": "image/jpeg"})
    assert code == 400 and "not a readable image" in json.loads(body)["error"]
    big = os.urandom(600_000)
    code, _, body = request(server, "POST", "/api/predict", big, {"Content-Type": "image/jpeg"})
    assert code == 413 and "--max-upload-mb" in json.loads(body)["error"]
    huge = cv2.imencode(".png", np.zeros((6000, 6000), np.uint8))[1].tobytes()  # small file, 36 megapixels
    code, _, body = request(server, "POST", "/api/predict", huge, {"Content-Type": "image/png"})
    assert code == 413 and "megapixels" in json.loads(body)["error"]
    code, _, body = request(server, "POST", "/api/other", b"x", {"Content-Type": "image/png"})
    assert code == 404
    code, _, body = request(server, "GET", "/../../etc/passwd")
    assert code == 404
    code, _, body = request(server, "GET", "/", headers={"Host": "evil.example:8000"})  # DNS rebinding
    assert code == 403 and "loopback" in json.loads(body)["error"]


def test_serve_binds_only_to_loopback(fer_run, capsys):  # noqa: F811
    assert main(["serve", str(fer_run), "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# The page in headless Chromium

class DevTools:
    """The few DevTools-protocol calls the test needs, on one page's websocket."""

    def __init__(self, port: int):
        import websocket
        pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30))
        page = next(p for p in pages if p["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], suppress_origin=True, timeout=60)
        self.n = 0

    def call(self, method: str, **params) -> dict:
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg["result"]

    def eval(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def page_state(self) -> dict:
        return json.loads(self.eval("JSON.stringify({...document.body.dataset, "
                                    "status: document.getElementById('status').textContent})") or "{}")

    def screenshot(self, path: Path) -> np.ndarray:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return cv2.imread(str(path))


def start_serve(run: Path) -> tuple[subprocess.Popen, str]:
    """`cnnlab serve RUN --port 0` in a subprocess; returns it and the address it prints."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "cnnlab", "serve", str(run), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()  # waits for the line, or for the end of the output if it dies
    if "http://" not in line:
        proc.kill()
        stderr = proc.stderr.read() if proc.poll() is not None else ""
        raise AssertionError(f"cnnlab serve did not start: {line}{stderr}")
    return proc, line.split("on ", 1)[1].split()[0]


def colour_pixels(image: np.ndarray, hex_colour: str) -> int:
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return int((np.abs(image.astype(int) - rgb[::-1]).sum(2) < 30).sum())


@pytest.mark.data
def test_page_in_headless_chromium(tmp_path, fer_run, faces):  # noqa: F811
    assert CHROMIUM, "Chromium is needed for this test: apt-get install chromium (the CI script installs it)"
    camera = tmp_path / "camera.y4m"  # what Chromium's fake camera plays, in a loop
    scene.write_video(camera, (f for f, _ in scene.frames(faces[:2], 20)), fps=10)
    photo = tmp_path / "photo.jpg"
    frame, _ = next(scene.frames(faces[2:5], 1, jitter=0, seed=3))
    cv2.imwrite(str(photo), frame)
    serve, url = start_serve(fer_run)
    profile = tmp_path / "profile"
    browser = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
         f"--use-file-for-fake-video-capture={camera}", "--window-size=720,1000", "--remote-debugging-port=0",
         "--remote-debugging-address=127.0.0.1", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        port_file = profile / "DevToolsActivePort"
        wait_until(lambda: port_file.exists() and port_file.read_text().strip(), "Chromium's DevTools port",
                   (browser, serve))
        page = DevTools(int(port_file.read_text().split()[0]))
        # the camera: frames go to the server, faces come back and are drawn
        state = wait_until(lambda: (s := page.page_state()) and int(s.get("frames", 0)) >= 5 and int(s["faces"]) and s,
                           "5 camera frames answered on the page, the last one with a face", (browser, serve))
        labels = state["labels"].split(",")
        assert len(labels) == int(state["faces"]) <= 2 and all(label in COLOURS for label in labels), state
        # over all frames so far, the two faces of the video were found, but for the 10% the detector may miss
        stats = json.loads(urllib.request.urlopen(url + "api/stats", timeout=60).read())
        assert stats["frames"] >= 5 and 0.9 * 2 * stats["frames"] <= stats["faces"] <= 2 * stats["frames"], stats
        shot = page.screenshot(tmp_path / "camera.png")
        assert shot.shape[1] == 720 and shot.shape[0] > 600
        shown = set(labels) | set(filter(None, page.page_state().get("labels", "").split(",")))  # the frame may move on
        assert max(colour_pixels(shot, COLOURS[label]) for label in shown) > 300, \
            "no box or bar of the predicted class on the page"
        assert page.eval("document.getElementById('camera').textContent") == "Stop camera"
        # the strip of the last minute: the faces' expressions in their colours
        strip = page.eval("(() => { const c = document.getElementById('strip'); const d = c.getContext('2d')"
                          ".getImageData(0, 0, c.width, c.height).data; const out = {}; for (let i = 0; i < d.length;"
                          " i += 4) { const k = '#' + [d[i], d[i + 1], d[i + 2]].map((v) => v.toString(16)"
                          ".padStart(2, '0')).join(''); out[k] = (out[k] || 0) + 1; } return out; })()")
        assert sum(strip.get(COLOURS[label], 0) for label in COLOURS) >= 30, "no expression in the strip"
        # the session's table, downloaded as CSV: the columns of `cnnlab live --csv`, one row per face per frame
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        page.call("Page.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
        rows = int(page.page_state()["rows"])
        page.eval("document.getElementById('download').click()")
        table = wait_until(lambda: next(iter(downloads.glob("*.csv")), None), "the CSV download", (browser, serve))
        import pandas as pd
        table = pd.read_csv(table)
        assert list(table.columns) == COLUMNS + list(CLASSES) and len(table) >= rows >= 5
        assert set(table["label"]) <= set(CLASSES) and table["time_s"].is_monotonic_increasing
        assert ((table[list(CLASSES)].sum(axis=1) - 1).abs() < 1e-3).all()
        # the upload box: a photo of three faces
        root = page.call("DOM.getDocument")["root"]["nodeId"]
        node = page.call("DOM.querySelector", nodeId=root, selector="#photo")["nodeId"]
        page.call("DOM.setFileInputFiles", nodeId=node, files=[str(photo)])
        wait_until(lambda: "photo.jpg: 3 face(s)" in page.page_state().get("status", ""), "the photo's 3 faces",
                   (browser, serve))
        labels = page.page_state()["labels"].split(",")
        shot = page.screenshot(tmp_path / "photo.png")
        assert colour_pixels(shot, COLOURS[labels[0]]) > 300
        # a photo without a face: the page says why, as `cnnlab live --image` does
        wall = tmp_path / "wall.jpg"
        cv2.imwrite(str(wall), scene.background())
        page.call("DOM.setFileInputFiles", nodeId=node, files=[str(wall)])
        status = wait_until(lambda: (s := page.page_state().get("status", "")).startswith("wall.jpg") and s,
                            "the answer for a photo without a face", (browser, serve))
        assert "0 face(s)" in status and "no face found" in status and "--min-face" in status
        if os.environ.get("CNNLAB_KEEP_SCREENSHOTS"):  # to look at them: a folder to copy them into
            for name in ("camera.png", "photo.png"):
                shutil.copy(tmp_path / name, Path(os.environ["CNNLAB_KEEP_SCREENSHOTS"]) / name)
    finally:
        os.killpg(browser.pid, signal.SIGTERM)
        browser.wait(30)
        serve.terminate()
        serve.wait(30)


PLAYER = """<video id="v" src="{src}" preload="auto" muted></video><pre id="r">pending</pre>
<script>
const v = document.getElementById("v"), r = document.getElementById("r");
v.addEventListener("canplay", () => r.textContent = `playable ${{v.duration}} ${{v.videoWidth}}x${{v.videoHeight}}`);
v.addEventListener("error", () => r.textContent = `error ${{v.error.code}} ${{v.error.message}}`);
</script>"""


def play_in_chromium(video: Path) -> str:
    """What a <video> element in headless Chromium says about `video`: 'playable DURATION WxH' or 'error ...'."""
    page = video.with_suffix(".html")
    page.write_text(PLAYER.format(src=video.name))
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        f"--user-data-dir={video.parent / 'profile'}", "--virtual-time-budget=10000", "--dump-dom",
                        page.as_uri()], capture_output=True, text=True, timeout=300)
    return r.stdout.split('<pre id="r">', 1)[1].split("</pre>", 1)[0]


@pytest.mark.data
def test_annotated_video_plays_in_chromium(tmp_path, fer_run, faces):  # noqa: F811
    """`live --out x.mp4` (H.264) and `--out x.webm` (VP9) play in a browser; the MPEG-4 Part 2 that OpenCV
    writes into .mp4 does not (the check can tell)."""
    assert CHROMIUM, "Chromium is needed for this test: apt-get install chromium (the CI script installs it)"
    clip = tmp_path / "in.mp4"
    scene.write_video(clip, (f for f, _ in scene.frames(faces[:1], 20)), fps=10)  # OpenCV's mp4v
    assert play_in_chromium(clip).startswith("error")
    for name in ("out.mp4", "out.webm"):
        assert main(["live", str(fer_run), "--video", str(clip), "--out", str(tmp_path / name)]) == 0
        said = play_in_chromium(tmp_path / name)
        assert said == "playable 2 640x480", (name, said)
