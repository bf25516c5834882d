"""Which YuNet settings find the most faces: detection width and score threshold, measured on validation faces.

FER-2013 validation faces (10% of train, seed 0: never trained on, never the test split) are pasted one per
noisy 640×480 frame at a random place and size (`cnnlab.live.scene.still`, the frames `live_accuracy.py` makes
from test faces), written to an MJPG video and read back, as `cnnlab live --video` sees them. YuNet runs on each
frame at every width; a face is found when a box of at least `--min-face` pixels has its centre in the pasted face,
and every other box is a false one. The score threshold only filters YuNet's boxes after its non-maximum
suppression (which keeps higher scores first), so one low-threshold run per width gives every threshold.

    PYTHONPATH=src python -m benchmarks.calibration.live_detect [--faces 1000] [--widths 320 400 480 640]

Writes benchmarks/results/live_detect_cpu.json. The defaults of `cnnlab live` (--detect-width, the YuNet score)
take their values from here; ms_per_frame is a speed check (benchmarks/speed/live_fps.py measures the frame rate).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2

from benchmarks.common import FER, write
from benchmarks.faces import val_faces

from cnnlab.live import scene
from cnnlab.live.detect import YuNetDetector

SCORES = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faces", type=int, default=1000)
    ap.add_argument("--widths", type=int, nargs="+", default=[320, 400, 480, 640])
    ap.add_argument("--min-face", type=int, default=40, help="as `cnnlab live --min-face` (YuNet box width, px)")
    ap.add_argument("--data", default=str(FER))
    args = ap.parse_args()
    cv2.setNumThreads(1)
    faces, _ = val_faces(Path(args.data), args.faces)
    stills = [scene.still(face, seed=20_000 + i) for i, face in enumerate(faces)]
    with tempfile.TemporaryDirectory() as tmp:  # through the codec, as `live --video` reads them
        video = Path(tmp) / "faces.avi"
        scene.write_video(video, (frame for frame, _ in stills), fps=30)
        cap = cv2.VideoCapture(str(video))
        frames = [cap.read()[1] for _ in stills]
        cap.release()
    rows = []
    for width in args.widths:
        det = YuNetDetector(detect_width=width, min_face=0, score=min(SCORES))
        det.raw(frames[0])  # first call sets the input size
        t0 = time.perf_counter()
        raws = [det.raw(frame) for frame in frames]
        ms = 1000 * (time.perf_counter() - t0) / len(frames)
        for threshold in SCORES:
            found = false = 0
            for raw, (_, (x, y, s, _)) in zip(raws, stills):
                raw = raw[(raw[:, 14] >= threshold) & (raw[:, 2] >= args.min_face)]
                hit = scene.centre_in(raw, (x, y, s, s))
                found += bool(hit.any())
                false += int(len(raw) - min(hit.sum(), 1))
            rows.append({"detect_width": width, "score": threshold, "found": round(found / len(frames), 4),
                         "false_boxes_per_frame": round(false / len(frames), 4), "ms_per_frame": round(ms, 2)})
            print(rows[-1], file=sys.stderr)
    write("live_detect_cpu", rows, kind="result",
          note=f"{len(frames)} FER-2013 validation faces (never trained on), one per noisy 640x480 frame at 96-240 px, "
               f"through an MJPG video; YuNet boxes of at least {args.min_face} px; ms_per_frame is a speed check "
               "of YuNet alone (1 OpenCV thread)")


if __name__ == "__main__":
    main()
