"""How long `cnnlab demo` (the README's first command, after the install) takes on this machine, from nothing.

Runs the demo in a new temporary folder (no finished run to reuse, an empty dataset cache), on the CPU as a user
without a GPU would, and reads each model's training time from the demo's comparison.json. Time it on an idle
machine: the load average at the start is recorded in the note.

    PYTHONPATH=src python -m benchmarks.speed.demo_time [--epochs 6]

Writes benchmarks/results/demo_time_cpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import write


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, help="epochs per model (default: the demo's own)")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    epochs = ["--epochs", str(args.epochs)] if args.epochs else []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        t0 = time.perf_counter()
        # an empty dataset cache, as on a new machine
        env = {**os.environ, "CNNLAB_CACHE_DIR": str(Path(tmp) / "cache")}
        subprocess.run([sys.executable, "-m", "cnnlab", "demo", "--out", str(out), "--device", "cpu", "--quiet",
                        *epochs], check=True, stdout=subprocess.DEVNULL, env=env)
        wall = time.perf_counter() - t0
        comparison = json.loads((out / "comparison.json").read_text())
    n = comparison["epochs"]
    rows = [{"step": f"train {m['model']} ({n} epoch{'s' if n != 1 else ''})", "seconds": round(m["train_seconds"], 1)}
            for m in comparison["models"]]
    rows.append({"step": "whole demo (wall clock: start-up, data, training, evaluation, report)",
                 "seconds": round(wall, 1)})
    write("demo_time_cpu", rows, kind="speed",
          note=f"cnnlab demo --device cpu {' '.join(epochs)} from nothing (new folder, empty cache); load average "
               f"{load:.1f} at the start on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
