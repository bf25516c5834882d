"""Atomic writes: write a temporary file beside the target, then rename it onto the target. A killed process
never leaves half a file, and what was saved before stays intact. The temporary name keeps the suffix, so
writers that pick a format from it (matplotlib, OpenCV, ONNX) work on it too."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path


def temp_path(path: str | os.PathLike) -> Path:
    """`.NAME.tmpPID.SUFFIX` beside `path` (its folder is created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def atomic_torch_save(obj, path) -> None:
    import torch
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
