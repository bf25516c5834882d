"""`cnnlab serve`: a page (index.html + app.js) that sends webcam frames or a photo to `POST /api/predict` and
draws the faces it gets back. Standard library HTTP server, one thread per request, one model for all.

API
- `POST /api/predict[?stream=ID]`: body = one image (JPEG/PNG/WebP, Content-Type image/*), at most
  --max-upload-mb (413 beyond, 415 for another type, 400 for bytes that are not an image). Answers
  `{"faces": [{"face", "box": [x, y, w, h], "label", "probabilities"}], "width", "height", "ms"}` (the face
  records of `cnnlab live --log`, docs/cli.md), and "hint" (why, as `live --image` says it) when a photo has no
  face. Frames of one `stream` share a pipeline (re-detection near the last faces, --smooth, a track id per face);
  without it the image is a still photo, processed exactly as `cnnlab live --image` does (same detection width).
- `GET /api/info`: model, classes, colours, limits.  `GET /api/stats`: requests, frames and faces handled so far.
"""

from __future__ import annotations

import io
import ipaddress
import json
import socket
import threading
import time
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs

from cnnlab.errors import UsageError

STATIC = {"/": ("index.html", "text/html; charset=utf-8"), "/index.html": ("index.html", "text/html; charset=utf-8"),
          "/app.js": ("app.js", "text/javascript; charset=utf-8")}
MAX_PIXELS = 25_000_000  # a small file can still decode to a huge image
MAX_STREAMS = 16
DRAIN_LIMIT = 64_000_000  # read (and drop) a too-large body up to this size, so the client sees the 413


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LiveServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, make_pipeline, info: dict, max_upload: int):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.make_pipeline, self.info, self.max_upload = make_pipeline, info, max_upload
        self.loopback = is_loopback(address[0])
        self.lock = threading.Lock()  # one frame at a time: the CPU is the limit, not the threads
        self.streams: OrderedDict[str, object] = OrderedDict()
        self.stats = {"requests": 0, "frames": 0, "faces": 0, "rejected": 0}
        self.stats_lock = threading.Lock()

    def count(self, key: str, n: int = 1) -> None:
        with self.stats_lock:
            self.stats[key] += n

    def pipeline(self, stream: str | None):
        if not stream:
            return self.make_pipeline(False)
        if stream not in self.streams:
            self.streams[stream] = self.make_pipeline(True)
            while len(self.streams) > MAX_STREAMS:
                self.streams.popitem(last=False)
        self.streams.move_to_end(stream)
        return self.streams[stream]

    def predict(self, frame, stream: str | None) -> list[dict]:
        with self.lock:
            pipe = self.pipeline(stream)
            faces = pipe(frame)
        self.count("frames")
        self.count("faces", len(faces))
        return faces


class Handler(BaseHTTPRequestHandler):
    server: LiveServer
    server_version = "cnnlab"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: a camera sends many frames a second
        pass

    def send_json(self, code: int, obj: dict) -> None:
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if code >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def error(self, code: int, message: str) -> None:
        self.server.count("rejected")
        self.send_json(code, {"error": message})

    def host_ok(self) -> bool:
        """On a loopback address, only answer pages loaded from localhost (no DNS-rebinding from other sites)."""
        if not self.server.loopback:
            return True
        host = self.headers.get("Host") or ""
        host = host[1:host.find("]")] if host.startswith("[") else host.split(":")[0]  # [::1]:8000, localhost:8000
        if is_loopback(host):
            return True
        self.error(403, f"Host {host!r} is not a loopback address; open http://127.0.0.1:{self.server.server_port}/")
        return False

    def do_GET(self):
        if not self.host_ok():
            return
        path = self.path.split("?", 1)[0]
        if path in STATIC:
            name, ctype = STATIC[path]
            body = (resources.files("cnnlab.live.web") / name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
        elif path == "/api/info":
            self.send_json(200, {**self.server.info, "max_upload_bytes": self.server.max_upload})
        elif path == "/api/stats":
            self.send_json(200, dict(self.server.stats))
        else:
            self.send_json(404, {"error": f"no such page: {path}"})

    def do_POST(self):
        if not self.host_ok():
            return
        self.server.count("requests")
        path, _, query = self.path.partition("?")
        if path != "/api/predict":
            return self.error(404, f"no such endpoint: {path}; POST images to /api/predict")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if not ctype.startswith("image/"):
            return self.error(415, f"Content-Type {ctype or 'missing'}: "
                                   "send an image (image/jpeg, image/png, image/webp)")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self.error(411, "Content-Length is required")
        if length > self.server.max_upload:
            remaining = length if length <= DRAIN_LIMIT else 0
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            return self.error(413, f"image of {length / 1e6:.1f} MB is larger than the limit of "
                                   f"{self.server.max_upload / 1e6:.1f} MB (cnnlab serve --max-upload-mb)")
        body = self.rfile.read(length)
        frame, message = decode(body)
        if frame is None:
            return self.error(400 if "megapixels" not in message else 413, message)
        stream = parse_qs(query).get("stream", [None])[0]
        t0 = time.perf_counter()
        faces = self.server.predict(frame, stream[:64] if stream else None)
        answer = {"faces": faces, "width": frame.shape[1], "height": frame.shape[0],
                  "ms": round(1000 * (time.perf_counter() - t0), 1)}
        if not faces and not stream:
            from cnnlab.live.app import no_face_hint
            answer["hint"] = "no face found; " + no_face_hint(frame.shape[1], frame.shape[0], self.server.min_face,
                                                              self.server.info["detector"],
                                                              "run 'cnnlab live --image FILE --whole-image'")
        self.send_json(200, answer)


def decode(body: bytes):
    """(BGR frame, "") or (None, why not). The size is checked from the header before decoding."""
    import cv2
    import numpy as np
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(io.BytesIO(body)) as im:
            w, h = im.size
    except Image.DecompressionBombError:
        return None, f"image is too large ({MAX_PIXELS / 1e6:.0f} megapixels at most)"
    except (UnidentifiedImageError, OSError, ValueError):
        return None, "not a readable image (send JPEG, PNG or WebP bytes)"
    if w * h > MAX_PIXELS:
        return None, f"image of {w}×{h} is too large ({MAX_PIXELS / 1e6:.0f} megapixels at most)"
    frame = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        return None, "not a readable image (send JPEG, PNG or WebP bytes)"
    return frame, ""


def make_server(args, host: str = "127.0.0.1", port: int = 0) -> LiveServer:
    """A server for the `serve` options (`args`: MODEL and the face options); not started. The model is loaded
    once; each stream gets its own pipeline, and each still photo a fresh one with the settings of `live --image`."""
    from cnnlab.live.colours import COLOURS
    from cnnlab.live.model import load, make_pipeline
    from cnnlab.live.options import FaceOptions
    options = FaceOptions.from_args(args)
    classifier, margin, info = load(options)

    def pipeline(stream: bool = True):
        return make_pipeline(options, classifier, margin, still=not stream)
    max_upload = int(getattr(args, "max_upload_mb", 8.0) * 1e6)
    server = LiveServer((host, port), pipeline, {**info, "colours": COLOURS}, max_upload)
    server.min_face = pipeline(False).detector.min_face
    return server


def serve(args) -> None:
    if not is_loopback(args.host) and not args.allow_remote:
        raise UsageError(f"--host {args.host}: not a loopback address; the server has no authentication and browsers "
                         "give the camera only to localhost pages. Use 127.0.0.1, or add --allow-remote")
    try:
        server = make_server(args, args.host, args.port)
    except OSError as e:
        raise UsageError(f"--host {args.host} --port {args.port}: cannot listen there ({e.strerror}); "
                         "pick another --port (0 = any free one)") from None
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"serving {args.model} on http://{host}:{server.server_port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
