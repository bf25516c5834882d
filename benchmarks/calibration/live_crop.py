"""Which crop of a YuNet face box makes the expression classifier most accurate: measured, not guessed.

FER-2013 validation faces (10% of train, seed 0: never trained on, never the test split) are pasted at a random
place and size into noisy 640×480 frames (`cnnlab.live.scene.still`). YuNet runs on each frame as `cnnlab live`
runs it (on a copy YUNET_WIDTH px wide); for every found face we know the true FER crop, so we can

1. fit the geometry: the true crop's side, and its centre's offset, in units of YuNet's box (medians), and
2. score candidate crops with a FER model: accuracy (and mean |pixel difference| to the original 48×48 face) of
   the true crop (the ceiling), YuNet's own box, the fitted square, a grid around it, and an eye-landmark crop,
   each with its difference from the fitted square and that difference's paired standard error (the same faces).

    PYTHONPATH=src python -m benchmarks.calibration.live_crop [--model fer2013-vgg|RUN_DIR] [--faces 700]

Writes benchmarks/results/live_crop_cpu.json. YUNET_CROP in cnnlab/live/detect.py took its values from here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import FER, write
from benchmarks.faces import val_faces
from benchmarks.fer_scoring import paired_se

from cnnlab.live import scene
from cnnlab.live.detect import YUNET_SCORE, YUNET_WIDTH, YuNetDetector, crop_faces, to_gray


def square(cx, cy, side):
    return np.round(np.stack([cx - side / 2, cy - side / 2, side, side], -1)).astype(int)


def eye_crop(f: np.ndarray, k: float, up: float) -> np.ndarray:
    """A square of side k·(eye distance) centred `up`·(eye distance) below the eyes' midpoint."""
    (rx, ry), (lx, ly) = f[4:6], f[6:8]
    d = np.hypot(lx - rx, ly - ry)
    return square((rx + lx) / 2, (ry + ly) / 2 + up * d, k * d)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="fer2013-vgg", help="shipped model name or run folder")
    ap.add_argument("--faces", type=int, default=700)
    ap.add_argument("--data", default=str(FER))
    args = ap.parse_args()
    from cnnlab.live.model import Classifier, load_fer_model
    model, ckpt, _ = load_fer_model(args.model)
    clf = Classifier(model, ckpt, torch.device("cpu"), "onnx")
    faces, labels = val_faces(Path(args.data), args.faces)
    det = YuNetDetector(min_face=0)  # cnnlab live's width and score
    found = []  # (gray frame, true box, raw YuNet row, face, label)
    for i, (face, label) in enumerate(zip(faces, labels)):
        frame, (x, y, s, _) = scene.still(face, seed=10_000 + i)
        raw = det.raw(frame)
        hit = np.nonzero(scene.centre_in(raw, (x, y, s, s)))[0]
        if len(hit):
            found.append((to_gray(frame), np.array([x, y, s, s]), raw[hit[0]], face, label))
    print(f"YuNet found {len(found)} of {len(faces)} faces", file=sys.stderr)
    raw = np.stack([f[2] for f in found])
    true = np.stack([f[1] for f in found]).astype(np.float64)
    w, h = raw[:, 2], raw[:, 3]
    fit = {"scale": float(np.median(true[:, 2] / w)),
           "dx": float(np.median((true[:, 0] + true[:, 2] / 2 - raw[:, 0] - w / 2) / w)),
           "dy": float(np.median((true[:, 1] + true[:, 3] / 2 - raw[:, 1] - h / 2) / h))}
    eyes = np.hypot(raw[:, 6] - raw[:, 4], raw[:, 7] - raw[:, 5])
    eye_fit = {"k": float(np.median(true[:, 2] / eyes)),
               "up": float(np.median((true[:, 1] + true[:, 3] / 2 - (raw[:, 5] + raw[:, 7]) / 2) / eyes))}

    def box_crop(scale, dx, dy):
        return square(raw[:, 0] + w / 2 + dx * w, raw[:, 1] + h / 2 + dy * h, scale * w)

    candidates = {"true FER crop (ceiling)": true.astype(int), "YuNet box as it is": raw[:, :4].round().astype(int),
                  "fitted square": box_crop(**fit),
                  "eye landmarks (fitted)": np.stack([eye_crop(r, **eye_fit) for r in raw])}
    grid = {}
    for ds in (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1):  # a grid around the fit
        for dy in (-0.06, -0.03, 0.0, 0.03, 0.06):
            name = f"square scale {ds:.2f}x fit, dy {fit['dy'] + dy:+.3f}"
            grid[name] = {"scale": ds * fit["scale"], "dx": fit["dx"], "dy": fit["dy"] + dy}
            candidates[name] = box_crop(**grid[name])
    y = np.array([f[4] for f in found])
    right, pixels = {}, {}
    for name, boxes in candidates.items():
        crops = np.concatenate([crop_faces(g, b[None], 0.0) for (g, *_), b in zip(found, boxes)])
        right[name] = torch.from_numpy(clf(crops).argmax(1) == y)
        pixels[name] = float(np.mean([np.abs(c[0].astype(float) - f[3]).mean() for c, f in zip(crops, found)]))
    fitted, rows = right["fitted square"], []
    for name, r in right.items():
        rows.append({"crop": name, "accuracy": round(float(r.double().mean()), 4),
                     "pixel_abs_diff": round(pixels[name], 2),
                     "minus_fitted": round(float((r.double() - fitted.double()).mean()), 4),
                     "minus_fitted_se": round(paired_se(r, fitted), 4)})
        print(rows[-1], file=sys.stderr)
    best = max((r for r in rows if r["crop"] in grid), key=lambda r: r["accuracy"])
    write("live_crop_cpu", {"faces": len(faces), "found": len(found), "fit": {k: round(v, 4) for k, v in fit.items()},
                            "eye_fit": {k: round(v, 4) for k, v in eye_fit.items()},
                            "best_of_grid": {**best, **{k: round(v, 4) for k, v in grid[best["crop"]].items()}},
                            "candidates": rows},
          note=f"model {args.model}; FER-2013 validation faces (never trained on) pasted at 96-240 px into noisy "
               f"640x480 frames; YuNet on a {YUNET_WIDTH}-px-wide copy, score {YUNET_SCORE}")


if __name__ == "__main__":
    main()
