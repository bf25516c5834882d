"""What distillation gains on FER-2013 at equal epochs and recipe: a student taught by a teacher against students
of the same architecture, recipe and epochs trained on the labels alone. Accuracy and macro-F1 (flip TTA, fp32) on
the shared validation split and on PublicTest, and the noise of each difference (its paired standard error; the
scoring is benchmarks/fer_scoring.py's).

    PYTHONPATH=src python -m benchmarks.ablation.fer_distill --student runs/fer-kd \
        --alone runs/fer-teacher-s1 runs/fer-teacher-s2

Writes benchmarks/results/fer_distill_cpu.json (or --result NAME).
"""

from __future__ import annotations

import argparse
import sys

from benchmarks.common import FER, write
from benchmarks.fer_scoring import difference, score, splits


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
