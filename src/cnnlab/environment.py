"""The machine and the versions a result was made with, described once: a run's config.json, the hand-in's index
page and every benchmark result take what they show from `environment()`."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def environment(device=None, packages: tuple[str, ...] = ()) -> dict:
    """Versions (cnnlab, torch, torchvision, python, and those of `packages`: None for one not installed), the git
    commit of the source, the CPU (name, instruction set torch uses, cores, memory, torch's threads) and the GPU
    (`device`, by default the first; None without CUDA)."""
    import torch
    import torch.distributed as dist
    import torchvision

    import cnnlab
    cuda = torch.cuda.is_available()
    return {"cnnlab": cnnlab.__version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
            "python": platform.python_version(), "platform": platform.platform(), "git_commit": git_commit(),
            "cuda_device": torch.cuda.get_device_name(device if device is not None else 0) if cuda else None,
            "cuda_version": torch.version.cuda, "cuda_devices": torch.cuda.device_count() if cuda else 0,
            "distributed_backend": dist.get_backend() if dist.is_available() and dist.is_initialized() else None,
            "cpu": cpu_name(), "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cores": os.cpu_count(),
            "memory_gib": memory_gib(), "threads": torch.get_num_threads(),
            "packages": {name: package_version(name) for name in packages}}


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                              text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_name() -> str | None:
    """The CPU's model name from /proc/cpuinfo, else what the platform says, else None."""
    try:
        return next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")) or platform.processor() or None
    except (OSError, StopIteration):
        return platform.processor() or None


def memory_gib() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (ValueError, OSError, AttributeError):
        return None


def package_version(name: str) -> str | None:
    """The installed version of package `name`, from its metadata (without importing it: keras without
    KERAS_BACKEND would look for TensorFlow); None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return None
