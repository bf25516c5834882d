"""The package a user would pick instead of cnnlab, measured on the same faces: PyPI `fer` (mini-Xception with
OpenCV's Haar cascade, its defaults) on (1) the FER-2013 PublicTest images, each given to it as one face, and
(2) the 300 frames of benchmarks/calibration/live_accuracy.py (its own face detector), scored the same way as cnnlab.

`fer` needs TensorFlow, so it runs in a virtual environment of its own (benchmarks/peers/peer_fer_worker.py):

    python3 -m venv /tmp/fervenv && /tmp/fervenv/bin/pip install tensorflow
    /tmp/fervenv/bin/pip install --no-deps fer==25.10.3 facenet-pytorch
    echo $PWD/.venv/lib/python3.11/site-packages > /tmp/fervenv/lib/python3.11/site-packages/zz_cnnlab.pth
    PYTHONPATH=src python -m benchmarks.peers.peer_fer --python /tmp/fervenv/bin/python

(fer's own dependencies would pull a CUDA build of torch for facenet-pytorch; the .pth lends it cnnlab's torch,
OpenCV and matplotlib instead.) Writes benchmarks/results/peer_fer_cpu.json. Caveat: which FER-2013 images
`fer`'s model was trained on is not published; PublicTest may be among them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import torch

from benchmarks.common import FER, write
from benchmarks.faces import score, stills

from cnnlab.data.fer2013 import CLASSES
from cnnlab.engine.metrics import classification_metrics
from cnnlab.live import scene


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", required=True, help="the Python of a virtual environment with `fer` installed")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--data", default=str(FER))
    args = ap.parse_args()
    test = Path(args.data) / "test"
    files = [(p, c) for c in CLASSES for p in sorted((test / c).glob("*.[jp][pn]g"))]
    frames, labels = stills(args.data, args.frames)  # the frames of live_accuracy.py
    with tempfile.TemporaryDirectory() as tmp:
        listing, video, out = Path(tmp) / "files.txt", Path(tmp) / "faces.avi", Path(tmp) / "out.json"
        listing.write_text("\n".join(str(p.resolve()) for p, _ in files))
        scene.write_video(video, (frame for frame, _ in frames), fps=30)
        worker = Path(__file__).with_name("peer_fer_worker.py")
        subprocess.run([args.python, str(worker), str(listing), str(video), str(out)], check=True)
        peer = json.loads(out.read_text())
        log = Path(tmp) / "log.jsonl"
        log.write_text("\n".join(json.dumps(f) for f in peer["frames"]))
        live = score(log, [(box, label) for (_, box), label in zip(frames, labels)])
    truth = torch.tensor([CLASSES.index(c) for _, c in files])
    pred = torch.tensor([CLASSES.index(c) if c in CLASSES else -1 for c in peer["crops"]])
    unanswered = int((pred < 0).sum())
    pred = torch.where(pred < 0, (truth + 1) % len(CLASSES), pred)  # no answer counts as a wrong one
    m = classification_metrics(pred, truth, CLASSES)
    result = {"package": f"fer {peer['fer_version']}", "test_images": len(files),
              "accuracy": round(m["accuracy"], 4),
              "f1_macro": round(m["f1_macro"], 4), "unanswered": unanswered,
              "recall_per_class": {c: round(v["recall"], 3) for c, v in m["per_class"].items()},
              "live_frames": live["frames"], "live_found": live["found"], "live_right_of_found": live["right_of_found"],
              "live_false_boxes_per_frame": live["false_boxes_per_frame"],
              "ms_per_test_image": round(1000 * peer["crop_seconds"] / len(files), 2),
              "ms_per_frame": round(1000 * peer["frame_seconds"] / max(len(peer["frames"]), 1), 2)}
    write("peer_fer_cpu", result, kind="result",
          note="PyPI fer with its defaults (Haar cascade, mini-Xception), TensorFlow on the CPU; test images given "
               "whole as the face (face_rectangles); live frames as in live_accuracy (FER-2013 PublicTest faces, "
               "one per 640x480 frame, MJPG video). Its training images are not published: PublicTest may be "
               "among them")


if __name__ == "__main__":
    main()
