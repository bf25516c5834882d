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
    """The machine in one line (cnnlab.environment's description): the GPU of a CUDA `device`, else the CPU."""
    from cnnlab.environment import environment
    device = torch.device(device)
    env = environment(device if device.type == "cuda" else None)
    if device.type == "cuda":
        return f"GPU: {env['cuda_device']}, torch {env['torch']}, CUDA {env['cuda_version']}"
    cpu = env["cpu"] or platform.machine()
    # AVX2 or AVX512: CPU speed, bf16 above all, depends on it
    return f"CPU: {cpu} ({env['cpu_capability']}), {env['cores']} cores, torch {env['torch']}" + (
        f" ({env['threads']} threads)" if threads else "")


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
