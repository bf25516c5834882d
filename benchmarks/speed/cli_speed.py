"""How long a user waits for cnnlab commands: start-up of the light commands, and `cnnlab eval` of the shipped
FER-2013 model on the FER-2013 test split; this checkout against an older commit, interleaved, so both see the
same machine load.

    PYTHONPATH=src python -m benchmarks.speed.cli_speed --before 0feea9f [--repeats 5] [--eval-repeats 2]

Each command runs as its own process (`python -m cnnlab ...`, PYTHONPATH pointing at the tree's src/); wall time
and the process's user and system CPU seconds (os.wait4) are the medians over the repeats. The decoded dataset
cache is warmed first, so `eval` measures a second run (the first decode of a dataset is a separate, one-time
cost that now shows a progress bar).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from benchmarks.common import FER, ROOT, median, run_once, write


def commands(data: str, cache: str) -> dict[str, list[str]]:
    return {
        "--help": ["--help"],
        "models": ["models"],
        "theory layers": ["theory", "layers", "CONV3-8 ReLU POOL-2 CONV3-16 ReLU POOL-2 FLATTEN FC-10"],
        "train emnist --help": ["train", "emnist", "--help"],
        "eval fer2013-vgg (3,589 test images)": ["eval", "fer2013-vgg", "--data", data, "--cache-dir", cache],
    }


def tree_at(commit: str, dest: Path) -> Path:
    """src/ of `commit` unpacked into dest (git archive), for PYTHONPATH."""
    archive = dest / "src.tar"
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), commit, "src"], cwd=ROOT, check=True)
    with tarfile.open(archive) as t:
        t.extractall(dest, filter="data")
    return dest / "src"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the commit to compare with (e.g. the one before the change)")
    ap.add_argument("--repeats", type=int, default=5, help="runs of each light command per tree")
    ap.add_argument("--eval-repeats", type=int, default=2, help="runs of the eval command per tree")
    ap.add_argument("--data", default=str(FER))
    ap.add_argument("--name", default="cli_speed_cpu")
    args = ap.parse_args()
    before_commit = subprocess.run(["git", "rev-parse", "--short", args.before], cwd=ROOT, check=True,
                                   capture_output=True, text=True).stdout.strip()
    after_commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                                  capture_output=True, text=True).stdout.strip()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": tree_at(args.before, Path(tmp)), "after": ROOT / "src"}
        cache = str(Path(tmp) / "cache")
        cmds = commands(args.data, cache)
        run_once(trees["after"], cmds["eval fer2013-vgg (3,589 test images)"])  # decode once into the cache
        rows = []
        for name, argv in cmds.items():
            n = args.eval_repeats if argv[0] == "eval" else args.repeats
            runs = {"before": [], "after": []}
            for _ in range(n):
                for label in ("before", "after"):
                    runs[label].append(run_once(trees[label], argv))
            row = {"command": f"cnnlab {name}"}
            for label in ("before", "after"):
                for key in ("wall", "user", "sys"):
                    row[f"{label}_{key}_s"] = median(runs[label], key)
            rows.append(row)
            print(row, flush=True)
    load_end = os.getloadavg()[0]
    write(args.name, rows, kind="speed",
          note=f"before = commit {before_commit}, after = {after_commit}; medians of {args.repeats} runs "
               f"({args.eval_repeats} for eval), before and after interleaved; wall, user and system seconds of "
               f"the whole process; load average {load_start:.1f} at the start, {load_end:.1f} at the end, on "
               f"{os.cpu_count()} cores (the commands themselves use up to 2 threads: a load well above that means "
               "other jobs shared the CPU and wall times are inflated)")


if __name__ == "__main__":
    main()
