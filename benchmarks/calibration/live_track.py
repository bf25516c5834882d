"""When is a face in this frame the same person as a track of the last frames? The smoother's appearance test.

`cnnlab live` averages a face's probabilities over a few frames (`--smooth`). A face continues a track when the
boxes overlap; but a different person can appear where the last one was, and must not inherit that person's
expression. This measures the correlation of two 48×48 crops (`cnnlab.live.track.appearance`) on FER-2013
validation faces (never trained on, never the test split), with YuNet as `cnnlab live` runs it:

- same person: consecutive frames of one face moving a few pixels a frame (`scene.frames`, 96-192 px), and
- different people: faces found in consecutive frames of `scene.still` (one new face per frame, 96-240 px),

and, for each threshold, the share of same-person pairs it would split and of different-person pairs it would
join. `MIN_SIMILARITY` in cnnlab/live/track.py takes its value from here. Then the effect end to end: the live
pipeline (`--smooth 5`, YuNet, the model) over the new-face-every-frame sequence, scored like
`live_accuracy.py`, with the appearance test, without it (boxes only, as before), and without smoothing.

    PYTHONPATH=src python -m benchmarks.calibration.live_track [--faces 400] [--model fer2013-vgg]

Writes benchmarks/results/live_track_cpu.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from benchmarks.common import FER, write
from benchmarks.faces import score_faces, val_faces

from cnnlab.live import scene
from cnnlab.live.detect import YuNetDetector, crop_faces, to_gray
from cnnlab.live.track import appearance

THRESHOLDS = (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)


def single_crop(det, frame):
    boxes = det.detect(frame)
    return appearance(crop_faces(to_gray(frame), boxes))[0] if len(boxes) == 1 else None


def pairs(crops) -> list[float]:
    """Correlations of consecutive crops (a frame without exactly one face breaks the chain)."""
    return [float(a @ b) for a, b in zip(crops, crops[1:]) if a is not None and b is not None]


def stream(model_ref: str, stills, labels, smooth: int, similarity: float | None) -> dict:
    """The live pipeline over the frames in turn (one stream): share of faces found, and right of those found."""
    import torch

    from cnnlab.data.fer2013 import CLASSES
    from cnnlab.live.model import Classifier, Pipeline, load_fer_model
    from cnnlab.live.track import Smoother
    model, ckpt, _ = load_fer_model(model_ref)
    pipe = Pipeline(Classifier(model, ckpt, torch.device("cpu"), "onnx"), YuNetDetector(), 0.0, smooth)
    pipe.smoother = Smoother(smooth, min_similarity=similarity)
    result = score_faces([pipe(frame) for frame, _ in stills],
                         [(box, CLASSES[int(label)]) for (_, box), label in zip(stills, labels)])
    return {k: result[k] for k in ("found", "right_of_found")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faces", type=int, default=400)
    ap.add_argument("--frames", type=int, default=30, help="frames of each moving face")
    ap.add_argument("--model", default="fer2013-vgg", help="shipped model name or run folder")
    ap.add_argument("--data", default=str(FER))
    args = ap.parse_args()
    cv2.setNumThreads(1)
    faces, labels = val_faces(Path(args.data), args.faces)
    det = YuNetDetector()  # cnnlab live's defaults
    rng = np.random.default_rng(0)
    same = []
    for k in range(0, len(faces), 4):  # a quarter of the faces, each a short moving clip
        clip = scene.frames([faces[k]], args.frames, scale=int(rng.integers(2, 5)), seed=k)
        same += pairs([single_crop(det, frame) for frame, _ in clip])
    stills = [scene.still(face, seed=30_000 + i) for i, face in enumerate(faces)]
    different = pairs([single_crop(det, frame) for frame, _ in stills])
    same, different = np.array(same), np.array(different)
    rows = [{"threshold": t, "same_person_split": round(float((same < t).mean()), 4),
             "different_people_joined": round(float((different >= t).mean()), 4)} for t in THRESHOLDS]
    for row in rows:
        print(row, file=sys.stderr)
    variants = [("5 frames, boxes and crops (default)", 5, None), ("5 frames, boxes only (before)", 5, -1.0),
                ("off (--smooth 1)", 1, None)]
    end_to_end = [{"smoothing": name, **stream(args.model, stills, labels, smooth, similarity)}
                  for name, smooth, similarity in variants]
    for row in end_to_end:
        print(row, file=sys.stderr)
    pct = (0, 1, 5, 50)
    write("live_track_cpu", {"same_person_pairs": len(same), "different_people_pairs": len(different),
                             "same_person_percentiles": {str(p): round(float(np.percentile(same, p)), 3) for p in pct},
                             "different_people_percentiles": {
                                 str(100 - p): round(float(np.percentile(different, 100 - p)), 3) for p in pct},
                             "thresholds": rows, "end_to_end": end_to_end}, kind="result",
          note="correlation of 48x48 crops of YuNet boxes (cnnlab live defaults); FER-2013 validation faces; "
               f"end to end: model {args.model}, one new validation face per frame")


if __name__ == "__main__":
    main()
