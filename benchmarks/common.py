"""Helpers shared by the benchmark scripts: the machine's description and writing a result file."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import torch

# Where results are written; a check that must not touch the recorded figures (gpu_suite.py --smoke) points
# $CNNLAB_RESULTS_DIR elsewhere.
RESULTS = Path(os.environ.get("CNNLAB_RESULTS_DIR") or Path(__file__).parent / "results")


def machine(device: torch.device | str = "cpu", threads: bool = True) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}, torch {torch.__version__}, CUDA {torch.version.cuda}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    isa = torch.backends.cpu.get_cpu_capability()  # AVX2 or AVX512: CPU speed, bf16 above all, depends on it
    return f"CPU: {cpu} ({isa}), {os.cpu_count()} cores, torch {torch.__version__}" + (
        f" ({torch.get_num_threads()} threads)" if threads else "")


def write(name: str, results, device="cpu", note: str = "", kind: str | None = None, folder: Path | None = None,
          echo: bool = True, **extra) -> Path:
    """benchmarks/results/<name>.json (or folder/<name>.json) with the exact command and the machine; BENCHMARKS.md
    is made from these. `kind`: "speed" (how fast) or "result" (what a model reaches); unset, make_benchmarks_md.py
    tells by the columns (accuracy columns make a result). `extra` adds fields beside them (e.g. the versions of a
    GPU run)."""
    folder = Path(folder or RESULTS)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}.json"
    cmd = " ".join(["python", *[a if " " not in a else repr(a) for a in sys.argv]])
    from cnnlab.atomic import atomic_write_text
    atomic_write_text(out, json.dumps({"name": name, **({"kind": kind} if kind else {}), "command": cmd,
                                       "machine": machine(device), "note": note, **extra, "results": results},
                                      indent=2) + "\n")
    if echo:
        print(json.dumps(results))
    return out
