"""What distillation gains on FER-2013 at equal epochs and recipe: a student taught by a teacher against students
of the same architecture, recipe and epochs trained on the labels alone. Accuracy and macro-F1 (flip TTA, fp32) on
the shared validation split and on PublicTest, and the noise of each difference: the paired standard error of a
difference of two accuracies on the same n faces, sqrt(b + c - (b - c)^2 / n) / n, where b and c count the faces
only one of the two models gets right.

    PYTHONPATH=src python -m benchmarks.ablation.fer_distill --student runs/fer-kd \
        --alone runs/fer-teacher-s1 runs/fer-teacher-s2

Writes benchmarks/results/fer_distill_cpu.json (or --result NAME).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from benchmarks.ablation.fer_ensemble import probabilities
from benchmarks.common import FER, write

from cnnlab.engine.config import TrainConfig
from cnnlab.engine.metrics import classification_metrics
from cnnlab.engine.train import load_splits
from cnnlab.experiments.fer import CPU
from cnnlab.runs import load_model


def paired_se(right_a: torch.Tensor, right_b: torch.Tensor) -> float:
    n = len(right_a)
    b = int((right_a & ~right_b).sum())
    c = int((~right_a & right_b).sum())
    return math.sqrt(max(b + c - (b - c) ** 2 / n, 0.0)) / n


def describe(ref: str, ckpt: dict) -> dict:
    """Epochs and seed of a model (its checkpoint's config), the machine it was trained on (the card beside a shipped
    .pt says), and the teacher of a distilled one (distill.json of a run folder, or the card)."""
    cfg = ckpt.get("config") or {}
    info = {"model": ref, "epochs": cfg.get("epochs"), "seed": cfg.get("seed")}
    folder, card = Path(ref), Path(ref).with_suffix(".json")
    shipped = json.loads(card.read_text()) if folder.suffix == ".pt" and card.exists() else {}
    if machine := shipped.get("training", {}).get("machine"):
        info["trained_on"] = machine
    if (folder / "distill.json").exists():
        kd = json.loads((folder / "distill.json").read_text())
        info |= {k: kd.get(k) for k in ("teacher", "alpha", "tau", "t2_scale", "teacher_targets", "teacher_views")}
    elif "teacher" in shipped:
        teacher = shipped["teacher"]
        info |= {"teacher": ",".join(teacher["models"])} | {k: teacher.get(k) for k in
                                                            ("alpha", "tau", "t2_scale", "teacher_targets",
                                                             "teacher_views")}
    return info


def splits(data: str):
    """The validation split every FER run shares (seed 0's carve of train) and PublicTest."""
    cfg = TrainConfig.from_dict({**TrainConfig().to_dict(), **CPU, "dataset": "fer2013", "data": data,
                                 "seed": 0, "split_seed": 0})
    _, val, test = load_splits(cfg)
    return val, test


def score(ref: str, val, test, right: dict) -> dict:
    """describe(ref), its role (distilled when it names a teacher, else alone), and its accuracy and macro-F1 on
    val and test; right[(ref, split)]: which faces it gets right."""
    model, ckpt = load_model(ref)
    model.eval()
    row = describe(ref, ckpt)
    row["role"] = "distilled" if row.get("teacher") else "alone"
    for name, data in (("val", val), ("test", test)):
        pred = probabilities(model, data.images, True).argmax(1)
        m = classification_metrics(pred, data.labels, data.classes)
        row |= {f"{name}_accuracy": round(m["accuracy"], 4), f"{name}_f1_macro": round(m["f1_macro"], 4)}
        right[(ref, name)] = pred == data.labels
    return row


def difference(a: str, b: str, right: dict) -> dict:
    """Accuracy of a minus accuracy of b on each split, with its paired standard error."""
    diff = {"model": f"{a} - {b}", "role": "difference"}
    for name in ("val", "test"):
        ra, rb = right[(a, name)], right[(b, name)]
        diff |= {f"{name}_accuracy": round(float(ra.float().mean() - rb.float().mean()), 4),
                 f"{name}_paired_se": round(paired_se(ra, rb), 4)}
    return diff


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--student", required=True, help="the distilled student's run folder")
    ap.add_argument("--alone", "--against", nargs="+", required=True, dest="alone",
                    help="the models the student is compared with: students trained on the labels alone, or other "
                         "distilled ones (a row is 'distilled' when its run folder or card names a teacher)")
    ap.add_argument("--data", default=str(FER))
    ap.add_argument("--result", default="fer_distill_cpu", help="the result's name in benchmarks/results")
    args = ap.parse_args()
    val, test = splits(args.data)
    right, rows = {}, []
    for ref in [args.student, *args.alone]:
        rows.append(score(ref, val, test, right))
        print(rows[-1], file=sys.stderr)
    for ref in args.alone:
        rows.append(difference(args.student, ref, right))
        print(rows[-1], file=sys.stderr)
    write(args.result, rows, kind="result",
          note=f"flip TTA, fp32; validation: {len(val)} faces (seed 0's carve of train, shared by all runs); "
               f"test: PublicTest, {len(test)} faces, reported only (no choice read it)")


if __name__ == "__main__":
    main()
