"""What the cheap teacher targets cost (issue 24): FER students identical but for `--teacher-targets`: the first
taught by the teacher run on every augmented batch it sees, the others by a cheaper way (`clean`: the teacher's
logits of the stored training images, computed once; `views`: its logits of N stored augmented views, computed
once). Accuracy and macro-F1 (flip TTA, fp32) on the shared validation split and on PublicTest, each cheap student's
difference from the first with its paired standard error (fer_distill.py), and the mean seconds an epoch took (a
speed check).

    PYTHONPATH=src python -m benchmarks.ablation.fer_distill_targets \
        models/fer2013-distilled/fer2013-kd30-augmented.pt models/fer2013-distilled/fer2013-kd30-clean.pt \
        models/fer2013-distilled/fer2013-kd30-views.pt

Writes benchmarks/results/fer_distill_targets_cpu.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.common import FER, write
from benchmarks.fer_scoring import describe, difference, score, splits

from cnnlab.engine.runfolder import RunFolder
from cnnlab.runs import load_model

SAME = ("teacher", "alpha", "tau", "t2_scale")  # describe()'s fields the two students must share


def epoch_seconds(ref: str) -> float:
    """Mean training seconds of an epoch: metrics.json of a run folder, or the card beside a kept .pt."""
    path = Path(ref)
    if path.is_dir():
        metrics = json.loads(RunFolder(path).metrics.read_text())
        seconds = metrics["train_seconds"]
        epochs = json.loads(RunFolder(path).config.read_text())["epochs"]
    else:
        training = json.loads(path.with_suffix(".json").read_text())["training"]
        seconds, epochs = training["train_seconds"], training["epochs"]
    return round(seconds / epochs, 1)


def check_students(refs: list[str]) -> None:
    """The first student is taught on augmented batches; all differ in --teacher-targets (and --teacher-views) alone
    (their teacher options and every recorded setting)."""
    info = []
    for ref in refs:
        _, ckpt = load_model(ref)
        described = describe(ref, ckpt)
        info.append((described.get("teacher_targets"), {k: described.get(k) for k in SAME}, ckpt.get("config") or {}))
    if info[0][0] != "augmented":
        raise SystemExit(f"{refs[0]}: trained with --teacher-targets {info[0][0]}, not augmented (it comes first)")
    targets = [t for t, _, _ in info]
    if len(set(targets)) != len(targets):
        raise SystemExit(f"two students share --teacher-targets: {', '.join(map(str, targets))}")
    (_, kd_a, cfg_a) = info[0]
    for ref, (_, kd, cfg) in zip(refs[1:], info[1:]):
        changed = sorted(k for k in SAME if kd_a[k] != kd[k])
        changed += sorted(k for k in cfg_a if k not in ("out", "resume", "environment") and cfg_a[k] != cfg.get(k))
        if changed:
            raise SystemExit(f"{refs[0]} and {ref} differ in more than --teacher-targets: {', '.join(changed)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("augmented", help="the student taught on each augmented batch (run folder or kept .pt)")
    ap.add_argument("cheap", nargs="+", help="the same student taught by cheaper targets (clean, views)")
    ap.add_argument("--data", default=str(FER))
    args = ap.parse_args()
    refs = [args.augmented, *args.cheap]
    check_students(refs)
    val, test = splits(args.data)
    right, rows = {}, []
    for ref in refs:
        rows.append(score(ref, "student", val, test, right) | {"epoch_seconds": epoch_seconds(ref)})
        print(rows[-1], file=sys.stderr)
    for ref in args.cheap:
        rows.append(difference(args.augmented, ref, right))
        print(rows[-1], file=sys.stderr)
    write("fer_distill_targets_cpu", rows, kind="result",
          note=f"flip TTA, fp32; validation: {len(val)} faces (seed 0's carve of train); test: PublicTest, "
               f"{len(test)} faces, reported only; epoch_seconds: mean training seconds of an epoch, a speed check "
               "(bf16, 2 threads, the CPU shared at times with nice'd test runs)")


if __name__ == "__main__":
    main()
