"""How long `cnnlab handin` takes for a budget, step by step: a speed check of the whole hand-in on this machine.

Builds the hand-in from nothing in a temporary folder (nothing reused) and reads each step's seconds from its
handin.json. Options after `--` go to `cnnlab handin` (here, where ImageNet weights cannot be downloaded:
`-- --teacher-weights none`, which trains the same ResNet-50 from random weights, so it takes the same time).

    PYTHONPATH=src python -m benchmarks.speed.handin_time [--budget cpu] [-- HANDIN OPTIONS]

Writes benchmarks/results/handin_time_<budget>_cpu.json.
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
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", default="cpu", choices=["quick", "cpu", "gpu"])
    args = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "handin"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cnnlab", "handin", "--out", str(out), "--budget", args.budget,
                        "--quiet", *extra], check=True)
        wall = time.perf_counter() - t0
        steps = json.loads((out / "handin.json").read_text())["steps"]
    rows = [{"step": s.get("title", name), "seconds": round(s["seconds"], 1)} for name, s in steps.items()
            if "seconds" in s]
    rows.append({"step": "whole hand-in (wall clock, with start-up)", "seconds": round(wall, 1)})
    write(f"handin_time_{args.budget}_cpu", rows, kind="speed",
          note=f"cnnlab handin --budget {args.budget} {' '.join(extra)} from nothing; load average {load:.1f} at "
               f"the start on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
