"""Helpers shared by the benchmark scripts: where things are, timing, the machine's description and writing a result
file with the command that produced it."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"  # the folder holding the datasets
FER = DATA / "fer2013"
# Where results are written; a check that must not touch the recorded figures (gpu_suite.py --smoke) points
# $CNNLAB_RESULTS_DIR elsewhere.
RESULTS = Path(os.environ.get("CNNLAB_RESULTS_DIR") or Path(__file__).parent / "results")


# -- timing ----------------------------------------------------------------------------------------------------------

def timed(fn, steps: int = 1, warmup: int = 0, device=None) -> float:
    """Seconds that fn(warmup), ..., fn(warmup + steps - 1) take, after fn(0), ..., fn(warmup - 1) untimed; a CUDA
    `device` is synchronised when the clock starts and when it stops."""
    import torch
    cuda = device is not None and torch.device(device).type == "cuda"
    for i in range(warmup):
        fn(i)
    if cuda:
        torch.cuda.synchronize()
    t = time.perf_counter()
    for i in range(warmup, warmup + steps):
        fn(i)
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - t


def step(model, opt, x, y, device) -> None:
    """One training step as the engine takes it: autocast (bf16 on CUDA), cross-entropy, backward, optimiser step."""
    import torch.nn.functional as F

    from cnnlab.engine.evaluate import autocast
    with autocast(device):
        loss = F.cross_entropy(model(x).float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def run_once(src: Path, argv: list[str]) -> dict | None:
    """`python -m cnnlab ARGV` with PYTHONPATH=src: wall seconds and the child's user/system CPU seconds; None when
    the command fails in that tree."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-m", "cnnlab", *argv], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        return None
    return {"wall": wall, "user": usage.ru_utime, "sys": usage.ru_stime}


def median(runs: list[dict | None], key: str) -> float | None:
    """Median of `key` over the runs of run_once that did not fail."""
    values = [r[key] for r in runs if r is not None]
    return round(statistics.median(values), 2) if values else None


# -- results ---------------------------------------------------------------------------------------------------------

def machine(device="cpu", threads: bool = True) -> str:
    """The machine in one line (cnnlab.environment's description): the GPU of a CUDA `device`, else the CPU."""
    import torch

    from cnnlab.environment import environment
    device = torch.device(device)
    env = environment(device if device.type == "cuda" else None)
    if device.type == "cuda":
        return f"GPU: {env['cuda_device']}, torch {env['torch']}, CUDA {env['cuda_version']}"
    cpu = env["cpu"] or platform.machine()
    # AVX2 or AVX512: CPU speed, bf16 above all, depends on it
    return f"CPU: {cpu} ({env['cpu_capability']}), {env['cores']} cores, torch {env['torch']}" + (
        f" ({env['threads']} threads)" if threads else "")


def command() -> str:
    """This process's command line as it was typed: `python -m benchmarks.KIND.NAME ARGS` for a module."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    head = ["-m", spec.name] if spec is not None and spec.name != "__main__" else sys.argv[:1]
    return " ".join(["python", *head, *[a if " " not in a else repr(a) for a in sys.argv[1:]]])


def write(name: str, results, device="cpu", note: str = "", kind: str | None = None, folder: Path | None = None,
          echo: bool = True, **extra) -> Path:
    """benchmarks/results/<name>.json (or folder/<name>.json) with the exact command and the machine; BENCHMARKS.md
    is made from these. `kind`: "speed" (how fast) or "result" (what a model reaches); unset, make_benchmarks_md.py
    tells by the columns (accuracy columns make a result). `extra` adds fields beside them (e.g. the versions of a
    GPU run) or replaces them (the command of a cnnlab run)."""
    folder = Path(folder or RESULTS)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}.json"
    from cnnlab.atomic import atomic_write_text
    atomic_write_text(out, json.dumps({"name": name, **({"kind": kind} if kind else {}), "command": command(),
                                       "machine": machine(device), "note": note, **extra, "results": results},
                                      indent=2) + "\n")
    if echo:
        print(json.dumps(results))
    return out
