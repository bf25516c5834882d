"""The live loop: frames from a camera, a video or an image -> faces -> expressions -> annotated frames, written to
a window, a video/image file and a JSON-lines log.

`Pipeline` is one stream's processing (it remembers the last boxes for fast re-detection and smoothing); the
model itself (`Classifier`) is stateless and shared, e.g. between the browser page's streams.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from cnnlab.atomic import atomic_write_bytes, temp_path
from cnnlab.errors import DataError, UsageError
from cnnlab.live import DEFAULT_MODEL
from cnnlab.live.annotate import draw
from cnnlab.live.detect import FACE_MARGIN, FACE_SIZE, Smoother, crop_faces, make_detector, to_gray

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_EXTS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "MJPG", ".mov": "mp4v"}


# ---------------------------------------------------------------------------------------------------------------
# Model

def load_fer_model(ref: str = DEFAULT_MODEL, device="cpu"):
    """(model, checkpoint, card) of a FER-2013 model; any other model is refused with a clear message."""
    from cnnlab.runs import load_model, shipped_cards
    try:
        model, ckpt = load_model(ref, device)
    except UsageError:
        if ref == DEFAULT_MODEL:
            raise UsageError(f"the shipped FER model {ref!r} is not in this installation; give a run folder made by "
                             "'cnnlab train fer2013 --data DIR --out RUN_DIR' (cnnlab live RUN_DIR)") from None
        raise
    dataset = ckpt.get("dataset") or (ckpt.get("config") or {}).get("dataset")
    shape = list(ckpt["input_shape"])
    if dataset not in ("fer2013", None) or shape != [1, 48, 48] or len(ckpt["classes"]) != 7:
        raise UsageError(f"{ref}: live needs a FER-2013 model (48×48 gray faces, 7 expressions), but this one was "
                         f"trained on {dataset or 'another dataset'} (input {shape}, {len(ckpt['classes'])} classes); "
                         f"use the shipped {DEFAULT_MODEL} or a run folder of 'cnnlab train fer2013'")
    card = next((c for c in shipped_cards() if c.get("name") == ref), {})
    return model, ckpt, card


class Classifier:
    """Batched expression probabilities for uint8 face crops [N, 1, 48, 48]. Backend "onnx" runs the model in
    ONNX Runtime (exported at start and checked against torch): on a CPU it is several times faster than torch for
    a few 48×48 faces (benchmarks/fer_inference.py). "auto" = onnx on the CPU, torch on CUDA.

    `tta` (default: the checkpoint's own, as its model card says) "flip" averages the probabilities of each face
    and its mirror image, in the same batch."""

    def __init__(self, model, ckpt: dict, device, backend: str = "auto", tta: str | None = None):
        self.model, self.classes, self.device = model.eval(), list(ckpt["classes"]), device
        self.tta = tta or ckpt.get("tta") or "none"
        if self.tta not in ("none", "flip"):
            raise UsageError(f"--tta must be none or flip, not {self.tta!r}")
        if backend == "auto":
            backend = "onnx" if device.type == "cpu" else "torch"
        if backend == "onnx" and device.type != "cpu":
            raise UsageError("--backend onnx runs on the CPU; use --device cpu, or --backend torch for CUDA")
        self.backend, self.session = backend, None
        if backend == "onnx":
            self.session = onnx_session(model, ckpt)

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        if self.tta == "flip":
            p = self.probabilities(np.concatenate([crops, crops[..., ::-1]]))
            return (p[: len(crops)] + p[len(crops):]) / 2
        return self.probabilities(crops)

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        if self.session is not None:
            logits = self.session.run(None, {"images": crops.astype(np.float32) / 255})[0]
            e = np.exp(logits - logits.max(1, keepdims=True))
            return e / e.sum(1, keepdims=True)
        import torch

        from cnnlab.engine.evaluate import predict_logits
        return predict_logits(self.model, torch.from_numpy(np.ascontiguousarray(crops)), self.device).softmax(1).numpy()


def onnx_session(model, ckpt: dict):
    """An ONNX Runtime session of `model`: exported to a temporary file by `cnnlab.export` (which refuses an
    export whose probabilities differ from torch's), then loaded into memory."""
    import tempfile

    import onnxruntime as ort

    from cnnlab.export import export_onnx
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        export_onnx(model, ckpt, path)
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


class Pipeline:
    """One stream: detect (the whole frame every `redetect` frames, near the last faces in between, and the whole
    frame again when a face was not found near its last place), crop like FER-2013, classify all faces in one
    batch, smooth per face over `smooth` frames. Keeps time per stage."""

    def __init__(self, classifier: Classifier, detector, margin: float = FACE_MARGIN,
                 smooth: int = 1, redetect: int = 5):
        self.classifier, self.detector, self.margin = classifier, detector, margin
        self.smoother = Smoother(smooth)
        self.redetect = max(1, redetect)
        self.boxes = np.zeros((0, 4), dtype=int)
        self.count = 0
        self.times = {"detect": 0.0, "classify": 0.0}

    def __call__(self, frame: np.ndarray) -> list[dict]:
        t0 = time.perf_counter()
        gray = to_gray(frame)
        near = getattr(self.detector, "detect_near", None)  # the Haar detector can look near the last faces only
        if near is None or self.count % self.redetect == 0 or len(self.boxes) == 0:
            self.boxes = self.detector.detect(frame)
        else:
            found = near(gray, self.boxes)
            self.boxes = found if len(found) >= len(self.boxes) else self.detector.detect(frame)  # lost one: look everywhere
        self.count += 1
        t1 = time.perf_counter()
        crops = crop_faces(gray, self.boxes, self.margin)
        probs = self.classifier(crops)
        probs, _ = self.smoother(self.boxes, probs, crops)
        self.times["detect"] += t1 - t0
        self.times["classify"] += time.perf_counter() - t1
        return self.faces(self.boxes, probs)

    def whole(self, frame: np.ndarray) -> list[dict]:
        """The whole frame as one face (a face crop such as a FER-2013 image): no detection."""
        gray = to_gray(frame)
        crop = cv2.resize(gray, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)[None, None]
        box = np.array([[0, 0, gray.shape[1], gray.shape[0]]])
        return self.faces(box, self.classifier(crop))

    def faces(self, boxes: np.ndarray, probs: np.ndarray) -> list[dict]:
        classes = self.classifier.classes
        return [{"box": [int(v) for v in box], "label": classes[int(p.argmax())],
                 "probs": {c: round(float(v), 4) for c, v in zip(classes, p)}} for box, p in zip(boxes, probs)]


def build_pipeline(args, device=None) -> tuple[Pipeline, dict]:
    """The pipeline for the `live`/`serve` options; returns it and a description for logs."""
    from cnnlab.engine.distributed import pick_device
    device = device or pick_device(args.device)
    model, ckpt, card = load_fer_model(args.model, device)
    margin = args.margin if args.margin is not None else (card.get("preprocess") or {}).get("face_margin", FACE_MARGIN)
    detector = make_detector(args.detector, detect_width(args), args.min_face, args.cascade, args.scale_factor,
                             args.min_neighbors)
    classifier = Classifier(model, ckpt, device, args.backend, getattr(args, "tta", None))
    pipe = Pipeline(classifier, detector, margin, args.smooth, args.redetect)
    return pipe, {"model": args.model, "classes": ckpt["classes"], "detector": args.detector, "face_margin": margin,
                  "device": str(device), "backend": classifier.backend, "tta": classifier.tta}


def detect_width(args) -> int | None:
    """--detect-width, else 640 px for a still image (small faces too), else None: the detector's own default
    for a stream (speed)."""
    if args.detect_width is not None:
        return args.detect_width
    return 640 if getattr(args, "image", None) is not None else None


# ---------------------------------------------------------------------------------------------------------------
# Sources and outputs

def cameras() -> list[str]:
    return sorted(glob.glob("/dev/video*"))


def open_capture(camera: int | None, video: str | None) -> tuple[cv2.VideoCapture, str]:
    if video is not None:
        if not Path(video).is_file():
            raise DataError(f"--video {video}: no such file")
        cap = cv2.VideoCapture(video)
        if not cap.isOpened() or not cap.grab():
            raise DataError(f"--video {video}: OpenCV cannot read this video (unsupported or damaged file); convert it "
                            "to MP4, e.g. 'ffmpeg -i IN -c:v libx264 out.mp4'")
        cap.release()
        return cv2.VideoCapture(video), video
    log = cv2.utils.logging
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_ERROR)  # our message below replaces OpenCV's warnings
    try:
        cap = cv2.VideoCapture(camera)
        ok = cap.isOpened() and cap.read()[0]
    finally:
        log.setLogLevel(level)
    if not ok:
        cap.release()
        found = cameras()
        have = (f"cameras here: {', '.join(found)}" if found else "no /dev/video* device here") \
            if sys.platform.startswith("linux") else "none found"
        raise UsageError(f"--camera {camera}: cannot open this camera ({have}); pick another --camera N, or use "
                         "--video FILE or --image FILE")
    cap.set(cv2.CAP_PROP_FRAME_WIDTH, 640)
    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, 480)
    return cap, f"camera {camera}"


def read_image(path: str) -> np.ndarray:
    if not Path(path).is_file():
        raise DataError(f"--image {path}: no such file")
    frame = cv2.imread(path, cv2.IMREAD_COLOR)
    if frame is None:
        raise DataError(f"--image {path}: not a readable image (PNG, JPEG, BMP, WebP, TIFF)")
    return frame


def write_image(path: str | Path, frame: np.ndarray) -> None:
    """Atomically: encode, write a temporary file, rename."""
    path = Path(path)
    ok, buf = cv2.imencode(path.suffix, frame)
    if not ok:
        raise UsageError(f"--out {path}: cannot write this image format; use .png or .jpg")
    atomic_write_bytes(path, buf.tobytes())


class VideoOut:
    """An annotated video, renamed into place on `close`. With `fps=None` (a camera) the first second is buffered
    to measure the real frame rate, so a one-minute recording plays for one minute."""

    def __init__(self, path: str | Path, fps: float | None):
        self.path = Path(path)
        if self.path.suffix.lower() not in VIDEO_EXTS:
            raise UsageError(f"--out {path}: a video needs one of {sorted(VIDEO_EXTS)} (an image one of "
                             f"{sorted(IMAGE_EXTS)} goes with --image)")
        self.tmp, self.fps, self.writer, self.buffer, self.frames = temp_path(self.path), fps, None, [], 0

    def _open(self, size) -> None:
        fourcc = cv2.VideoWriter_fourcc(*VIDEO_EXTS[self.path.suffix.lower()])
        self.writer = cv2.VideoWriter(str(self.tmp), fourcc, float(self.fps), size)
        if not self.writer.isOpened():
            raise UsageError(f"--out {self.path}: OpenCV cannot write this video format here; try .avi or .mp4")

    def write(self, frame: np.ndarray, t: float) -> None:
        self.frames += 1
        if self.writer is None:
            self.buffer.append((frame.copy(), t))
            if self.fps is None and t - self.buffer[0][1] < 1.0:
                return
            self._flush()
            return
        self.writer.write(frame)

    def _flush(self) -> None:
        if self.fps is None:
            span = self.buffer[-1][1] - self.buffer[0][1]
            self.fps = round((len(self.buffer) - 1) / span, 2) if span > 0 else 30.0
        self._open((self.buffer[0][0].shape[1], self.buffer[0][0].shape[0]))
        for f, _ in self.buffer:
            self.writer.write(f)
        self.buffer = []

    def close(self) -> None:
        if self.writer is None and self.buffer:
            self._flush()
        if self.writer is not None:
            self.writer.release()
            os.replace(self.tmp, self.path)


class JsonLog:
    """One JSON object per line; written to a temporary file and renamed into place on `close`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.tmp = temp_path(self.path)
        self.f = open(self.tmp, "w")

    def write(self, obj: dict) -> None:
        self.f.write(json.dumps(obj) + "\n")

    def close(self) -> None:
        self.f.close()
        os.replace(self.tmp, self.path)


class Window:
    """An on-screen window: OpenCV's if it was built with a GUI (opencv-python), else matplotlib's (the headless
    OpenCV wheel has none). `show` returns False once the user closed it or pressed q / Esc."""

    def __init__(self, title: str = "cnnlab live (q to quit)"):
        self.title, self.plt, self.im = title, None, None
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error:
            import matplotlib
            if matplotlib.get_backend().lower() in ("agg", "pdf", "ps", "svg", "cairo", "template"):
                raise UsageError("no window can be opened here (no display, and this OpenCV has no GUI); use "
                                 "--no-window with --out FILE / --log FILE, or 'cnnlab serve' for a browser page") from None
            import matplotlib.pyplot as plt
            self.plt = plt

    def show(self, frame: np.ndarray, wait: bool = False) -> bool:
        if self.plt is None:
            cv2.imshow(self.title, frame)
            key = cv2.waitKey(0 if wait else 1) & 0xFF
            return key not in (ord("q"), 27) and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        rgb = frame[:, :, ::-1]
        if self.im is None:
            self.plt.ion()
            fig = self.plt.figure(self.title)
            self.im = self.plt.imshow(rgb)
            self.plt.axis("off")
            fig.canvas.mpl_connect("key_press_event", lambda e: e.key in ("q", "escape") and self.plt.close(fig))
        else:
            self.im.set_data(rgb)
        if wait:
            self.plt.ioff()
            self.plt.show()
            return False
        self.plt.pause(0.001)
        return bool(self.plt.get_fignums())

    def close(self) -> None:
        if self.plt is None:
            cv2.destroyAllWindows()
        else:
            self.plt.close("all")


class FpsMeter:
    """Frames per second over the intervals between frames, smoothed (exponential moving average)."""

    def __init__(self, alpha: float = 0.1):
        self.alpha, self.last, self.fps = alpha, None, None

    def tick(self) -> float | None:
        now = time.perf_counter()
        if self.last is not None and now > self.last:
            rate = 1.0 / (now - self.last)
            self.fps = rate if self.fps is None else (1 - self.alpha) * self.fps + self.alpha * rate
        self.last = now
        return self.fps


# ---------------------------------------------------------------------------------------------------------------
# The loop

def run(args) -> dict:
    """`cnnlab live`: check the source and outputs, load the model, process; returns the summary."""
    if sum(x is not None for x in (args.camera, args.video, args.image)) > 1:
        raise UsageError("give one source: --camera N, --video FILE or --image FILE")
    if args.image is None and args.camera is None and args.video is None:
        args.camera = 0
    if args.image is not None and args.out and Path(args.out).suffix.lower() not in IMAGE_EXTS:
        raise UsageError(f"--out {args.out}: with --image, write an image ({', '.join(sorted(IMAGE_EXTS))})")
    if args.whole_image and args.image is None:
        raise UsageError("--whole-image classifies one image file as a face: give it with --image FILE")
    frame = read_image(args.image) if args.image is not None else None  # bad input fails before the model loads
    cap, name = (None, args.image) if frame is not None else open_capture(args.camera, args.video)
    try:
        window = open_window(args)
        pipe, info = build_pipeline(args)
    except Exception:
        if cap is not None:
            cap.release()
        raise
    if frame is not None:
        return run_image(args, frame, pipe, info, window)
    return run_stream(args, cap, name, pipe, info, window)


def open_window(args) -> Window | None:
    """A window unless --no-window, or a file goes in and --out/--log take the results; where no window can open,
    a still image still prints its result and a recording still records (with a note); else the error says how."""
    if args.no_window:
        return None
    if (args.image is not None or args.video is not None) and (args.out or args.log):
        return None
    try:
        return Window()
    except UsageError:
        if args.image is None and not (args.out or args.log):
            raise
        print("no display here: no window (results go to stdout and --out/--log)", file=sys.stderr)
        return None


def no_face_message(args, frame: np.ndarray, smallest: int) -> str:
    """Why no face was found in a still image; `smallest` is the detector's --min-face."""
    h, w = frame.shape[:2]
    if min(h, w) < 2 * smallest or min(h, w) <= 96:
        why = (f"the image is only {w}×{h} px; if it is already a face crop (like the 48×48 FER-2013 images), "
               "add --whole-image")
    else:
        why = (f"faces smaller than --min-face {smallest} px are not looked for (lower it for small faces), and "
               f"a face turned away or half hidden can be missed (try --detector "
               f"{'haar' if args.detector == 'yunet' else 'yunet'})")
    return f"--image {args.image}: no face found; {why}"


def run_image(args, frame: np.ndarray, pipe: Pipeline, info: dict, window: Window | None) -> dict:
    faces = pipe.whole(frame) if args.whole_image else pipe(frame)
    record = {"frame": 0, "faces": faces}
    print(json.dumps({"file": args.image, **record}))
    if not faces:
        raise DataError(no_face_message(args, frame, pipe.detector.min_face))
    draw(frame, faces, bars=not args.no_bars)
    if args.out:
        write_image(args.out, frame)
    summary = {"frames": 1, "fps": None, "frames_with_faces": int(bool(faces)), "faces": len(faces),
               "source": args.image, **info}
    if args.log:
        log = JsonLog(args.log)
        log.write(record)
        log.write({"summary": summary})
        log.close()
    if window:
        window.show(frame, wait=True)
        window.close()
    return summary


def run_stream(args, cap: cv2.VideoCapture, name: str, pipe: Pipeline, info: dict, window: Window | None) -> dict:
    """Frame by frame until the video ends, --duration/--max-frames, q/Esc in the window or Ctrl-C; the outputs
    are finished in every one of these cases."""
    video_fps = cap.get(cv2.CAP_PROP_FPS) if args.video is not None else None
    video_fps = video_fps if video_fps and 0 < video_fps < 1000 else (25.0 if args.video is not None else None)
    out = VideoOut(args.out, video_fps) if args.out else None
    log = JsonLog(args.log) if args.log else None
    meter, n, n_faces, with_faces = FpsMeter(), 0, 0, 0
    start = time.perf_counter()
    try:
        while args.max_frames is None or n < args.max_frames:
            elapsed = n / video_fps if video_fps else time.perf_counter() - start  # of video, or of camera time
            if args.duration is not None and elapsed >= args.duration:
                break
            ok, frame = cap.read()
            if not ok:
                break
            faces = pipe(frame)
            draw(frame, faces, meter.tick(), bars=not args.no_bars)
            n_faces += len(faces)
            with_faces += bool(faces)
            if out:
                out.write(frame, time.perf_counter() - start)
            if log:
                log.write({"frame": n, "faces": faces})
            n += 1
            if window and not window.show(frame):
                break
    except KeyboardInterrupt:  # Ctrl-C ends a camera recording: keep what was recorded
        print("stopped", file=sys.stderr)
    finally:
        cap.release()
        if window:
            window.close()
    seconds = time.perf_counter() - start
    summary = {"frames": n, "fps": round(n / seconds, 2) if seconds > 0 else None, "seconds": round(seconds, 2),
               "frames_with_faces": with_faces, "faces": n_faces, "source": name,
               "ms_per_frame": {k: round(1000 * v / max(n, 1), 2) for k, v in pipe.times.items()}, **info}
    if out:
        out.close()
        summary.update(out=str(args.out), out_fps=out.fps)
    if log:
        log.write({"summary": summary})
        log.close()
    if n == 0:
        raise DataError(f"{name}: no frames could be read")
    print(json.dumps({"summary": summary}))
    return summary
