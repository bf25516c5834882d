"""What the clean-target shortcut costs (issue 24): two FER students identical but for `--teacher-targets`, one
taught by the teacher run on every augmented batch it sees, one by the teacher's logits of the stored training
images, computed once. Accuracy and macro-F1 (flip TTA, fp32) on the shared validation split and on PublicTest, the
difference with its paired standard error (fer_distill.py), and the median seconds an epoch took (a speed check).

    PYTHONPATH=src python -m benchmarks.ablation.fer_distill_targets runs/fer-kd30-augmented runs/fer-kd30-clean

Writes benchmarks/results/fer_distill_targets_cpu.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

from benchmarks.ablation.fer_distill import difference, score, splits
from benchmarks.common import FER, write

from cnnlab.engine.runfolder import RunFolder


def epoch_seconds(run: str) -> float:
    with RunFolder(Path(run)).history.open() as f:
        return round(statistics.median(float(r["seconds"]) for r in csv.DictReader(f)), 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("augmented", help="run folder of the student taught on each augmented batch")
    ap.add_argument("clean", help="run folder of the same student taught by the logits of the stored images")
    ap.add_argument("--data", default=str(FER))
    args = ap.parse_args()
    kinds = {}
    for run, want in ((args.augmented, "augmented"), (args.clean, "clean")):
        kd = json.loads((Path(run) / "distill.json").read_text())
        if kd.get("teacher_targets") != want:
            raise SystemExit(f"{run}: trained with --teacher-targets {kd.get('teacher_targets')}, not {want}")
        kinds[want] = {k: v for k, v in kd.items() if k not in ("teacher_targets", "teacher_logits_cached")}
    config = {run: json.loads((Path(run) / "config.json").read_text()) for run in (args.augmented, args.clean)}
    changed = sorted(k for k in config[args.augmented] if k not in ("out", "resume")
                     and config[args.augmented][k] != config[args.clean].get(k))
    if kinds["augmented"] != kinds["clean"] or changed:
        raise SystemExit(f"the two runs differ in more than --teacher-targets: {changed or 'the teacher options'}")
    val, test = splits(args.data)
    right, rows = {}, []
    for run in (args.augmented, args.clean):
        rows.append(score(run, "student", val, test, right) | {"epoch_seconds": epoch_seconds(run)})
        print(rows[-1], file=sys.stderr)
    rows.append(difference(args.augmented, args.clean, right))
    print(rows[-1], file=sys.stderr)
    write("fer_distill_targets_cpu", rows, kind="result",
          note=f"flip TTA, fp32; validation: {len(val)} faces (seed 0's carve of train); test: PublicTest, "
               f"{len(test)} faces, reported only; epoch_seconds: median seconds of an epoch in history.csv, a "
               "speed check (bf16, 2 threads, the CPU shared at times with nice'd test runs)")


if __name__ == "__main__":
    main()
