"""Does more test-time augmentation than the flip pay? Validation accuracy and macro-F1 of a FER-2013 model (a
run folder's best.pt, a .pt file or a shipped model's name) with no TTA, the flip average, and the flip average over
the image shifted by ±`--shift` pixels too (10 views: as many as ten-crop), plus the CPU time per face of each, on
the validation split the model's own config carved from train. The test split is not looked at.

    PYTHONPATH=src python -m benchmarks.calibration.fer_tta fer2013-vgg [--shift 2] [--data ../shared/data/fer2013]

Writes benchmarks/results/fer_tta_cpu.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from benchmarks.common import FER, write
from benchmarks.fer_scoring import FLIP, NONE, probabilities

from cnnlab.engine.config import TrainConfig
from cnnlab.engine.metrics import classification_metrics
from cnnlab.engine.train import load_splits
from cnnlab.errors import DataError, UsageError
from cnnlab.runs import load_model


def model_and_validation(ref: str, data: str | Path):
    """(model in eval mode, its checkpoint, its validation split): the split the model's training config carved
    from train (its seed and fraction; the checkpoint keeps that config), read from the FER-2013 folder `data`."""
    model, ckpt = load_model(ref, torch_only="the views are made in PyTorch")
    cfg = TrainConfig.from_dict({**ckpt["config"], "data": str(data)})
    _, val, _ = load_splits(cfg)
    return model, ckpt, val


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a FER-2013 run folder, a .pt file or a shipped model's name")
    ap.add_argument("--shift", type=int, default=2)
    ap.add_argument("--data", default=str(FER), help="the FER-2013 folder (default: %(default)s)")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    try:
        model, ckpt, val = model_and_validation(args.model, args.data)
    except (UsageError, DataError) as e:
        ap.error(str(e))
    s = args.shift
    moves = [(0, 0), (-s, 0), (s, 0), (0, -s), (0, s)]
    variants = {"none": NONE, "flip": FLIP,
                f"flip + shifts of {s} px (10 views)": [(dy, dx, f) for dy, dx in moves for f in (False, True)]}
    rows = []
    for name, views in variants.items():
        t = time.perf_counter()
        p = probabilities(model, val.images, views, channels_last=True)
        seconds = time.perf_counter() - t
        m = classification_metrics(p.argmax(1), val.labels, val.classes)
        rows.append({"tta": name, "views": len(views), "val_accuracy": round(m["accuracy"], 4),
                     "val_f1_macro": round(m["f1_macro"], 4), "cpu_ms_per_face": round(1000 * seconds / len(val), 3)})
        print(rows[-1], file=sys.stderr)
    write("fer_tta_cpu", rows, kind="result",
          note=f"{args.model} (epoch {ckpt.get('epoch')}) on its validation split ({len(val)} faces); "
               f"ms per face in batches of 512, PyTorch; load average {load:.1f} at the start on {os.cpu_count()} "
               "cores (above 2: other jobs shared the CPU)")


if __name__ == "__main__":
    main()
