"""Frames per second of `cnnlab live`, end to end at 640×480: decode a video frame, detect faces, classify them,
draw. The videos hold real FER-2013 test faces (upscaled ×3, moving a little) on a plain background, with 1 and
with 4 faces. Prints JSON and writes benchmarks/results/live_fps_cpu.json.

Besides frames/s (wall clock, which depends on whatever else the machine runs), it reports the CPU time per frame
of this process, and the load average, so numbers taken on a busy machine can be read.

`--sweep` instead measures the face detector's settings on FER test faces pasted one per 640×480 frame: share of
faces found, false boxes per frame, milliseconds per frame, and the crop margin that best matches FER's crops.

    PYTHONPATH=src python -m benchmarks.speed.live_fps [--model fer2013-vgg|RUN_DIR] [--frames 200] [--faces 1 4]
    PYTHONPATH=src python -m benchmarks.speed.live_fps --sweep [--sweep-faces 200]

Without --model it uses the shipped fer2013-vgg if present, else a fer-vgg (width 24) with random weights
(speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.common import FER, write

from cnnlab.live import scene
from cnnlab.live.annotate import draw
from cnnlab.live.detect import HaarDetector, crop_faces
from cnnlab.live.options import DEFAULTS, DETECTORS


def classifier(ref: str | None, backend: str, width: int):
    import torch

    from cnnlab.live.model import Classifier, load_fer_model
    from cnnlab.runs import shipped_cards
    if ref is None and any(c["name"] == "fer2013-vgg" for c in shipped_cards()):
        ref = "fer2013-vgg"
    if ref is not None:
        model, ckpt, _ = load_fer_model(ref)
        return Classifier(model, ckpt, torch.device("cpu"), backend), ref
    from cnnlab.data.fer2013 import CLASSES, MEAN, SHAPE, STD
    from cnnlab.models import registry
    kwargs = {"mean": MEAN, "std": STD, "width": width}
    model = registry.build("fer-vgg", len(CLASSES), SHAPE, **kwargs)
    ckpt = {"arch": "fer-vgg", "classes": CLASSES, "num_classes": len(CLASSES), "input_shape": SHAPE,
            "model_kwargs": kwargs}
    return Classifier(model, ckpt, torch.device("cpu"), backend), f"fer-vgg width {width}, random weights"


def run_video(path: Path, pipe, warmup: int = 10) -> dict:
    """Process every frame of `path` like `cnnlab live --video` (without writing); time after `warmup` frames."""
    cap = cv2.VideoCapture(str(path))
    stages = {"decode": 0.0, "detect+classify": 0.0, "draw": 0.0}
    n, faces, start_wall, start_cpu = 0, 0, None, None
    while True:
        if n == warmup:
            stages = dict.fromkeys(stages, 0.0)
            pipe.times = dict.fromkeys(pipe.times, 0.0)
            faces, start_wall, start_cpu = 0, time.perf_counter(), time.process_time()
        t0 = time.perf_counter()
        ok, frame = cap.read()
        if not ok:
            break
        t1 = time.perf_counter()
        found = pipe(frame)
        t2 = time.perf_counter()
        draw(frame, found, 30.0)
        t3 = time.perf_counter()
        stages["decode"] += t1 - t0
        stages["detect+classify"] += t2 - t1
        stages["draw"] += t3 - t2
        faces += len(found)
        n += 1
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    timed = n - warmup
    ms = {k: round(1000 * v / timed, 2) for k, v in {**stages, **pipe.times}.items()}
    return {"frames": timed, "fps": round(timed / wall, 1), "cpu_ms_per_frame": round(1000 * cpu / timed, 2),
            "faces_per_frame": round(faces / timed, 2),
            "ms_per_frame": ms}


def fps(args) -> None:
    from cnnlab.live.model import make_pipeline
    from cnnlab.live.options import FaceOptions
    clf, model_name = classifier(args.model, args.backend, args.width)
    options = FaceOptions(detector=args.detector, detect_width=args.detect_width, min_face=args.min_face,
                          cascade=args.cascade, scale_factor=args.scale_factor, min_neighbors=args.min_neighbors,
                          smooth=args.smooth)  # unset sizes: cnnlab live's defaults for a stream
    detector = make_pipeline(options, clf, 0.0).detector
    results = []
    faces, _ = scene.fer_faces(args.data, 8 * max(args.faces))
    faces = [faces[i] for i in scene.detectable(faces, detector, max(args.faces))]  # faces the detector finds
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.faces:
            video = Path(tmp) / f"faces{n}.mp4"
            scene.write_video(video, (f for f, _ in scene.frames(faces[:n], args.frames + 10)), fps=30)
            for redetect in (args.redetect if args.detector == "haar" else [1]):  # yunet: every frame
                pipe = make_pipeline(dataclasses.replace(options, redetect=redetect), clf, 0.0)
                r = run_video(video, pipe)
                results.append({"faces": n, "size": "640x480", "redetect": redetect, **r})
                print(json.dumps(results[-1]), file=sys.stderr)
    haar = (f" (cascade {args.cascade} scaleFactor {args.scale_factor} minNeighbors {args.min_neighbors})"
            if args.detector == "haar" else "")
    note = (f"model: {model_name}, backend {clf.backend}, tta {clf.tta}; detector {args.detector}{haar} detect-width "
            f"{detector.detect_width} min-face {detector.min_face}; smooth {args.smooth}; load average at start "
            f"{os.getloadavg()[0]:.2f}; cv2 {cv2.__version__}")
    name = "live_fps_cpu" + ("" if args.detector == "yunet" else f"_{args.detector}")
    write(name, results, kind="speed", note=note)


def sweep(args) -> None:
    """Detector settings on FER faces, one per frame at a random-looking but fixed place."""
    faces, _ = scene.fer_faces(args.data, args.sweep_faces)
    frames = []
    for k, face in enumerate(faces):
        frame, boxes = next(scene.frames([face], 1, seed=k, jitter=0))
        frames.append((cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), boxes[0], face))
    results = []
    grid = itertools.product(["default", "alt2"], [1.1, 1.2], [3, 4, 5], [320, 640], [80])
    for cascade, sf, mn, width, min_face in grid:
        det = HaarDetector(cascade, sf, mn, width, min_face)
        found, false, seconds, ratios, diffs = 0, 0, 0.0, [], {m: [] for m in (0.0, 0.05, 0.1, 0.15)}
        for gray, (x, y, s, _), face in frames:
            t = time.perf_counter()
            boxes = det.detect(gray)
            seconds += time.perf_counter() - t
            hits = [b for b in boxes if x <= b[0] + b[2] / 2 <= x + s and y <= b[1] + b[3] / 2 <= y + s]
            found += bool(hits)
            false += len(boxes) - min(len(hits), 1)
            if hits:
                ratios.append(s / hits[0][2])
                for m in diffs:  # how close the crop is to the original 48×48 face
                    diffs[m].append(np.abs(crop_faces(gray, np.array(hits[:1]), m)[0, 0].astype(float) - face).mean())
        n = len(frames)
        results.append({"cascade": cascade, "scale_factor": sf, "min_neighbors": mn, "detect_width": width,
                        "min_face": min_face, "found": round(found / n, 3), "false_per_frame": round(false / n, 3),
                        "ms_per_frame": round(1000 * seconds / n, 2),
                        "margin_median": round((float(np.median(ratios)) - 1) / 2, 3) if ratios else None,
                        "crop_abs_diff": {str(m): round(float(np.mean(v)), 1) for m, v in diffs.items() if v}})
        print(json.dumps(results[-1]), file=sys.stderr)
    write("live_detector_sweep_cpu", results, note=f"{n} FER-2013 test faces (×3, 144 px) in 640×480 frames; "
                                                   f"load average at start {os.getloadavg()[0]:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--model",
                    help="shipped model name or run folder (default: fer2013-vgg if shipped, else random weights)")
    ap.add_argument("--width", type=int, default=24, help="fer-vgg width when no trained model is used")
    ap.add_argument("--backend", default="onnx", choices=["onnx", "torch"], help="model runtime")
    ap.add_argument("--data", default=str(FER), help="FER-2013 folder (DIR/test/<class>/*.jpg)")
    ap.add_argument("--frames", type=int, default=200, help="timed frames per video (after 10 warm-up frames)")
    ap.add_argument("--faces", type=int, nargs="+", default=[1, 4], help="faces per frame")
    ap.add_argument("--redetect", type=int, nargs="+", default=[5, 1], help="full-frame detection every N frames")
    ap.add_argument("--smooth", type=int, default=DEFAULTS.smooth,
                    help="probability smoothing over N frames (as cnnlab live)")
    ap.add_argument("--detector", default=DEFAULTS.detector, choices=DETECTORS, help="face detector (as cnnlab live)")
    ap.add_argument("--cascade", default=DEFAULTS.cascade, help="Haar cascade")
    ap.add_argument("--scale-factor", type=float, default=DEFAULTS.scale_factor, help="cascade scale factor")
    ap.add_argument("--min-neighbors", type=int, default=DEFAULTS.min_neighbors, help="cascade min neighbours")
    ap.add_argument("--detect-width", type=int, help="detection width (default: cnnlab live's for the detector)")
    ap.add_argument("--min-face", type=int, help="smallest face in pixels (default: cnnlab live's for the detector)")
    ap.add_argument("--sweep", action="store_true", help="measure the detector settings instead")
    ap.add_argument("--sweep-faces", type=int, default=200, help="FER test faces in the sweep")
    args = ap.parse_args()
    sweep(args) if args.sweep else fps(args)


if __name__ == "__main__":
    main()
