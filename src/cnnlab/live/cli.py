"""`cnnlab live` (camera, video or image) and `cnnlab serve` (the same in a browser page on localhost)."""

from __future__ import annotations

import argparse

from cnnlab.clikit import nonneg_float, nonneg_int, port, positive_float, positive_int
from cnnlab.live.options import BACKENDS, CASCADES, DEFAULTS, DETECTORS, TTAS

Formatter = argparse.ArgumentDefaultsHelpFormatter


def add_pipeline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", nargs="?", default=DEFAULTS.model, metavar="MODEL",
                   help="a shipped model's name, a run folder of 'cnnlab train fer2013', or a .pt, .h5 or .onnx "
                        "file that cnnlab wrote")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto = cuda when available")
    p.add_argument("--backend", default=DEFAULTS.backend, choices=BACKENDS,
                   help="run the model in ONNX Runtime (faster on a CPU) or PyTorch; auto = onnx on the CPU")
    p.add_argument("--tta", choices=TTAS, default=DEFAULTS.tta,
                   help="test-time augmentation: flip = average each face with its mirror image "
                        "(default: what the model card says)")
    g = p.add_argument_group("faces")
    g.add_argument("--detector", default=DEFAULTS.detector, choices=DETECTORS,
                   help="face detector: YuNet (shipped ONNX, run by OpenCV) or OpenCV's Haar cascade (fallback)")
    g.add_argument("--detect-width", type=nonneg_int, default=DEFAULTS.detect_width,
                   help="detect on the frame downscaled to this width (0 = full size); default for a camera "
                        "or video 400 (yunet) or 320 (haar), 640 for a still image (--image, a photo on the page)")
    g.add_argument("--min-face", type=positive_int, default=DEFAULTS.min_face,
                   help="smallest face, in pixels of the frame; default 40 (yunet) or 80 (haar)")
    g.add_argument("--margin", type=nonneg_float, default=DEFAULTS.margin,
                   help="widen each face box by this share of its width per side before the 48×48 crop; unset: "
                        "the model card's face_margin, else 0.0 (both detectors' boxes are made FER-2013-like)")
    g.add_argument("--cascade", default=DEFAULTS.cascade, choices=CASCADES,
                   help="haar: OpenCV cascade haarcascade_frontalface_<name>.xml")
    g.add_argument("--scale-factor", type=pyramid_step, default=DEFAULTS.scale_factor,
                   help="haar: image-pyramid step (smaller finds more, slower)")
    g.add_argument("--min-neighbors", type=nonneg_int, default=DEFAULTS.min_neighbors,
                   help="haar: hits needed to keep a face (higher: fewer false faces)")
    g.add_argument("--redetect", type=positive_int, default=DEFAULTS.redetect,
                   help="haar: search the whole frame every N frames, only near the faces already found in between "
                        "(1 = always; yunet searches every frame)")
    g.add_argument("--smooth", type=positive_int, default=DEFAULTS.smooth,
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
    src.add_argument("--camera", type=nonneg_int,
                     help="camera index (OpenCV; /dev/videoN on Linux); the default source is camera 0")
    src.add_argument("--video", help="a video file instead of a camera")
    src.add_argument("--image", help="one image file instead of a camera")
    p.add_argument("--whole-image", action="store_true",
                   help="with --image: the image is a face crop (e.g. a FER-2013 image): "
                        "classify it whole, no detection")
    p.add_argument("--out", help="write the annotated video (.mp4, .avi) or, with --image, image (.png, .jpg); "
                                 "a file in and --out/--log given: no window")
    p.add_argument("--log", help="write one JSON line per frame (its time; box, label, probabilities per face), then "
                                 "a summary line")
    p.add_argument("--csv", help="with --video or --camera: write the table of the expressions, one row per face per "
                                 "frame (frame, time_s, face, x, y, w, h, label, one probability column per class)")
    p.add_argument("--chart", help="with --video or --camera: write the chart of each face's expressions over time "
                                   "(.png, .svg or .pdf)")
    p.add_argument("--no-window", action="store_true", help="do not show a window (for machines without a display)")
    p.add_argument("--no-bars", action="store_true", help="draw boxes and labels only, no probability bars")
    p.add_argument("--duration", type=positive_float, help="stop after this many seconds (of video, or of camera time)")
    p.add_argument("--max-frames", type=positive_int, help="stop after this many frames")
    p.set_defaults(func=run_live)

    s = sub.add_parser("serve", help="a browser page on localhost: webcam or photo, faces and expressions",
                       formatter_class=Formatter,
                       description="Serve a page that sends webcam frames (or an uploaded photo) to this server and "
                                   "draws the faces and expressions it gets back. Open the printed address.")
    add_pipeline_options(s)
    s.add_argument("--host", default="127.0.0.1", help="address to bind; only loopback addresses unless --allow-remote")
    s.add_argument("--port", type=port, default=8000, help="port (0 = any free port)")
    s.add_argument("--max-upload-mb", type=positive_float, default=8.0,
                   help="largest image a request may send (larger: HTTP 413)")
    s.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback --host (no authentication; browsers give the camera only to "
                        "localhost or https pages)")
    s.set_defaults(func=run_serve)


def pyramid_step(text: str) -> float:
    """--scale-factor: the Haar image pyramid's step, a number > 1."""
    v = positive_float(text)
    if v <= 1:
        raise argparse.ArgumentTypeError(f"must be a number > 1, got {text}")
    return v


def run_live(args) -> int:
    from cnnlab.live.app import run
    run(args)
    return 0


def run_serve(args) -> int:
    from cnnlab.live.web.server import serve
    serve(args)
    return 0
