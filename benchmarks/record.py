"""Run a cnnlab command and record what it measured, with the exact command and the machine, for BENCHMARKS.md.

    PYTHONPATH=src python -m benchmarks.record NAME -- compare emnist --data ../shared/data/emnist-byclass-reduced \
        --out runs/emnist
    PYTHONPATH=src python -m benchmarks.record NAME --existing -- train fer2013 ... --out runs/fer   (a finished run)
    PYTHONPATH=src python -m benchmarks.record NAME --speed -- train cifar10 --epochs 1 ...   (a speed check)

Reads the run folder given by --out: comparison.json (compare), sweep.json (distill sweep) or metrics.json (train).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from benchmarks.common import machine, write

from cnnlab.engine.runfolder import RunFolder


def summary(out: Path) -> dict:
    for name in ("comparison.json", "sweep.json"):
        if (out / name).exists():
            return json.loads((out / name).read_text())
    m = json.loads(RunFolder(out).metrics.read_text())
    keep = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "params_total", "best_epoch", "train_seconds",
            "images_per_second", "num_samples")
    return {**{k: m[k] for k in keep if k in m},
            "recall_per_class": {c: round(v["recall"], 4) for c, v in m["per_class"].items()}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("--existing", action="store_true", help="the run already finished: only read its results")
    ap.add_argument("--note", default="", help="what a reader needs beside the command (environment, data slice)")
    ap.add_argument("--speed", action="store_true",
                    help="a speed check (a run too short to learn anything): "
                         "BENCHMARKS.md shows its time and throughput, not its accuracy")
    argv = sys.argv[1:]
    if "--" not in argv:
        ap.error("put the cnnlab command after --")
    split = argv.index("--")
    args, cmd = ap.parse_args(argv[:split]), argv[split + 1:]
    out = Path(cmd[cmd.index("--out") + 1])
    if not args.existing:
        subprocess.run([sys.executable, "-m", "cnnlab", *cmd], check=True)
    config = RunFolder(out).config
    config = config if config.exists() else next(out.glob(f"*/{RunFolder.CONFIG}"), None)
    device = json.loads(config.read_text())["environment"].get("cuda_device") if config else None
    results = summary(out)
    write(args.name, results, note=args.note, kind="speed" if args.speed else None, echo=False,
          command="cnnlab " + " ".join(cmd),
          machine=f"GPU: {device}" if device else machine("cpu", threads=not args.existing))
    print(json.dumps(results)[:2000])


if __name__ == "__main__":
    main()
