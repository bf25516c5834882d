"""The alpha/tau sweep of the FER-2013 student (issue 24): the sweep.json of `cnnlab distill sweep --dataset fer2013`
runs, with and without --t2-scale, as one result. The pair is chosen on validation accuracy (the epoch each short
run kept); test accuracy (PublicTest) is reported beside it and chooses nothing.

    PYTHONPATH=src python -m benchmarks.ablation.fer_distill_sweep runs/fer-sweep runs/fer-sweep-t2 \
        --made-by "cnnlab distill sweep ..." --made-by "cnnlab distill sweep --t2-scale ..."

Writes benchmarks/results/fer_distill_sweep_cpu.json; the commands of the sweeps are in its `made_by` field.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from benchmarks.common import write


def rows_of(folder: Path) -> list[dict]:
    sweep = json.loads((folder / "sweep.json").read_text())
    if sweep.get("chosen_by") != "val_accuracy":
        raise SystemExit(f"{folder / 'sweep.json'}: not chosen on validation accuracy; run the sweep again "
                         "(with --resume it reuses its runs)")
    return [{"t2_scale": sweep["t2_scale"], "alpha": r["alpha"], "tau": r["tau"], "epochs": r["epochs"],
             "val_accuracy": round(r["val_accuracy"], 4), "test_accuracy": round(r["accuracy"], 4),
             "test_f1_macro": round(r["f1_macro"], 4)} for r in sweep["runs"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sweeps", nargs="+", type=Path, help="folders of `cnnlab distill sweep` runs (sweep.json)")
    ap.add_argument("--made-by", action="append", default=[], help="the command that made a sweep (recorded)")
    args = ap.parse_args()
    rows = [row for folder in args.sweeps for row in rows_of(folder)]
    best = max(rows, key=lambda r: r["val_accuracy"])
    for r in rows:
        r["chosen"] = r is best
    first = json.loads((args.sweeps[0] / "sweep.json").read_text())["runs"][0]["run"]
    n = json.loads((Path(first) / "config.json").read_text())["samples"]["val"]  # the faces every run shares
    se = math.sqrt(best["val_accuracy"] * (1 - best["val_accuracy"]) / n)
    teacher = json.loads((args.sweeps[0] / "sweep.json").read_text())["teacher"]
    write("fer_distill_sweep_cpu", rows, kind="result",
          note=f"teacher {teacher} (mean of probabilities, flip), logits of the stored training images "
               f"(--teacher-targets clean); {rows[0]['epochs']}-epoch students of the cpu recipe, seed 0; chosen on "
               f"validation ({n:,} faces: the standard error of one accuracy is {se:.4f}, so "
               "differences of a point or so are within the noise); test = PublicTest, reported only",
          sweeps=[str(folder) for folder in args.sweeps], made_by=args.made_by)


if __name__ == "__main__":
    main()
