"""Helpers shared by the benchmark scripts: the machine's description and writing a result file."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import torch

RESULTS = Path(__file__).parent / "results"


def machine(device: torch.device | str = "cpu", threads: bool = True) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {cpu}, {os.cpu_count()} cores, torch {torch.__version__}" + (
        f" ({torch.get_num_threads()} threads)" if threads else "")


def write(name: str, results, device="cpu", note: str = "", kind: str | None = None) -> Path:
    """benchmarks/results/<name>.json with the exact command and the machine; BENCHMARKS.md is made from these.
    `kind`: "speed" (how fast) or "result" (what a model reaches); unset, make_benchmarks_md.py tells by the
    columns (accuracy columns make a result)."""
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.json"
    cmd = " ".join(["python", *[a if " " not in a else repr(a) for a in sys.argv]])
    out.write_text(json.dumps({"name": name, **({"kind": kind} if kind else {}), "command": cmd,
                               "machine": machine(device), "note": note, "results": results}, indent=2) + "\n")
    print(json.dumps(results))
    return out
