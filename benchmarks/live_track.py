"""When is a face in this frame the same person as a track of the last frames? The smoother's appearance test.

`cnnlab live` averages a face's probabilities over a few frames (`--smooth`). A face continues a track when the
boxes overlap; but a different person can appear where the last one was, and must not inherit that person's
expression. This measures the correlation of two 48×48 crops (`cnnlab.live.detect.appearance`) on FER-2013
validation faces (never trained on, never the test split), with YuNet as `cnnlab live` runs it:

- same person: consecutive frames of one face moving a few pixels a frame (`scene.frames`, 96-192 px), and
- different people: faces found in consecutive frames of `scene.still` (one new face per frame, 96-240 px),

and, for each threshold, the share of same-person pairs it would split and of different-person pairs it would
join. `MIN_SIMILARITY` in cnnlab/live/detect.py takes its value from here.

    PYTHONPATH=src python benchmarks/live_track.py [--faces 400]

Writes benchmarks/results/live_track_cpu.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import write  # noqa: E402
from live_crop import DATA, val_faces  # noqa: E402

from cnnlab.live import scene  # noqa: E402
from cnnlab.live.detect import YuNetDetector, appearance, crop_faces, to_gray  # noqa: E402

THRESHOLDS = (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)


def single_crop(det, frame):
    boxes = det.detect(frame)
    return appearance(crop_faces(to_gray(frame), boxes))[0] if len(boxes) == 1 else None


def pairs(crops) -> list[float]:
    """Correlations of consecutive crops (a frame without exactly one face breaks the chain)."""
    return [float(a @ b) for a, b in zip(crops, crops[1:]) if a is not None and b is not None]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faces", type=int, default=400)
    ap.add_argument("--frames", type=int, default=30, help="frames of each moving face")
    ap.add_argument("--data", default=str(DATA))
    args = ap.parse_args()
    cv2.setNumThreads(1)
    faces, _ = val_faces(Path(args.data), args.faces)
    det = YuNetDetector()  # cnnlab live's defaults
    rng = np.random.default_rng(0)
    same = []
    for k in range(0, len(faces), 4):  # a quarter of the faces, each a short moving clip
        clip = scene.frames([faces[k]], args.frames, scale=int(rng.integers(2, 5)), seed=k)
        same += pairs([single_crop(det, frame) for frame, _ in clip])
    different = pairs([single_crop(det, scene.still(face, seed=30_000 + i)[0]) for i, face in enumerate(faces)])
    same, different = np.array(same), np.array(different)
    rows = [{"threshold": t, "same_person_split": round(float((same < t).mean()), 4),
             "different_people_joined": round(float((different >= t).mean()), 4)} for t in THRESHOLDS]
    for row in rows:
        print(row, file=sys.stderr)
    pct = (0, 1, 5, 50)
    write("live_track_cpu", {"same_person_pairs": len(same), "different_people_pairs": len(different),
                             "same_person_percentiles": {str(p): round(float(np.percentile(same, p)), 3) for p in pct},
                             "different_people_percentiles": {str(100 - p): round(float(np.percentile(different, 100 - p)), 3)
                                                              for p in pct},
                             "thresholds": rows}, kind="result",
          note="correlation of 48x48 crops of YuNet boxes (cnnlab live defaults); FER-2013 validation faces")


if __name__ == "__main__":
    main()
