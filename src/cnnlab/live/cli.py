"""`cnnlab live` (camera, video or image) and `cnnlab serve` (the same in a browser page on localhost)."""

from __future__ import annotations

import argparse

from cnnlab.live import DEFAULT_MODEL

Formatter = argparse.ArgumentDefaultsHelpFormatter


def add_pipeline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", nargs="?", default=DEFAULT_MODEL, metavar="MODEL",
                   help="a shipped model's name, a run folder of 'cnnlab train fer2013', or a .pt, .h5 or .onnx "
                        "file that cnnlab wrote")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto = cuda when available")
    p.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"],
                   help="run the model in ONNX Runtime (faster on a CPU) or PyTorch; auto = onnx on the CPU")
    p.add_argument("--tta", choices=["none", "flip"],
                   help="test-time augmentation: flip = average each face with its mirror image "
                        "(default: what the model card says)")
    g = p.add_argument_group("faces")
    g.add_argument("--detector", default="yunet", choices=["yunet", "haar"],
                   help="face detector: YuNet (shipped ONNX, run by OpenCV) or OpenCV's Haar cascade (fallback)")
    g.add_argument("--detect-width", type=int, default=None,
                   help="detect on the frame downscaled to this width (0 = full size); default for a camera "
                        "or video 400 (yunet) or 320 (haar), 640 for --image")
    g.add_argument("--min-face", type=int, default=None,
                   help="smallest face, in pixels of the frame; default 40 (yunet) or 80 (haar)")
    g.add_argument("--margin", type=float, default=None,
                   help="widen each face box by this share of its width per side before the 48×48 crop; unset: "
                        "the model card's face_margin, else 0.0 (both detectors' boxes are made FER-2013-like)")
    g.add_argument("--cascade", default="default", choices=["default", "alt", "alt2"],
                   help="haar: OpenCV cascade haarcascade_frontalface_<name>.xml")
    g.add_argument("--scale-factor", type=float, default=1.1, help="haar: image-pyramid step (smaller finds more, slower)")
    g.add_argument("--min-neighbors", type=int, default=4, help="haar: hits needed to keep a face (higher: fewer false faces)")
    g.add_argument("--redetect", type=int, default=5,
                   help="haar: search the whole frame every N frames, only near the faces already found in between "
                        "(1 = always; yunet searches every frame)")
    g.add_argument("--smooth", type=int, default=5,
                   help="average each face's probabilities over its last N frames, so labels do not flicker "
                        "(a face continues a track when the boxes overlap and the crops look alike; 1 = off)")


def register(sub) -> None:
    p = sub.add_parser("live", help="faces and their expressions, live: camera, video file or image",
                       formatter_class=Formatter,
                       description="Detect faces, classify every face's expression and draw boxes, labels and "
                                   "probability bars. Examples: 'cnnlab live --duration 60 --out me.mp4' records "
                                   "one minute from the webcam; 'cnnlab live RUN_DIR --video in.mp4 --no-window "
                                   "--out out.mp4 --log out.jsonl'.")
    add_pipeline_options(p)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, help="camera index (OpenCV; /dev/videoN on Linux); the default source is camera 0")
    src.add_argument("--video", help="a video file instead of a camera")
    src.add_argument("--image", help="one image file instead of a camera")
    p.add_argument("--whole-image", action="store_true",
                   help="with --image: the image is a face crop (e.g. a FER-2013 image): classify it whole, no detection")
    p.add_argument("--out", help="write the annotated video (.mp4, .avi) or, with --image, image (.png, .jpg); "
                                 "a file in and --out/--log given: no window")
    p.add_argument("--log", help="write one JSON line per frame (box, label, probabilities per face), then a summary line")
    p.add_argument("--no-window", action="store_true", help="do not show a window (for machines without a display)")
    p.add_argument("--no-bars", action="store_true", help="draw boxes and labels only, no probability bars")
    p.add_argument("--duration", type=float, help="stop after this many seconds (of video, or of camera time)")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    p.set_defaults(func=run_live)

    s = sub.add_parser("serve", help="a browser page on localhost: webcam or photo, faces and expressions",
                       formatter_class=Formatter,
                       description="Serve a page that sends webcam frames (or an uploaded photo) to this server and "
                                   "draws the faces and expressions it gets back. Open the printed address.")
    add_pipeline_options(s)
    s.add_argument("--host", default="127.0.0.1", help="address to bind; only loopback addresses unless --allow-remote")
    s.add_argument("--port", type=int, default=8000, help="port (0 = any free port)")
    s.add_argument("--max-upload-mb", type=float, default=8.0, help="largest image a request may send (larger: HTTP 413)")
    s.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback --host (no authentication; browsers give the camera only to "
                        "localhost or https pages)")
    s.set_defaults(func=run_serve)


def run_live(args) -> int:
    from cnnlab.errors import UsageError
    from cnnlab.live.app import run
    for name in ("max_frames", "duration", "smooth", "redetect", "min_face"):
        v = getattr(args, name)
        if v is not None and v <= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be positive, got {v}")
    run(args)
    return 0


def run_serve(args) -> int:
    from cnnlab.live.web.server import serve
    serve(args)
    return 0
