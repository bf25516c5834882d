"""Atomic writes: write a temporary file beside the target, then rename it onto the target. A killed process
never leaves half a file, and what was saved before stays intact. The temporary name keeps the suffix, so
writers that pick a format from it (matplotlib, OpenCV, ONNX) work on it too."""

from __future__ import annotations

import contextlib
import json
import math
import os
import struct
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
    atomic_write_text(path, json.dumps(short_floats(obj), indent=2) + "\n")


def short_floats(obj):
    """`obj` with every float that is exactly a float32 value (a number that came out of a tensor) written with the
    fewest digits that give back that float32: 0.412, not 0.41200000047683716. Other floats are unchanged."""
    if isinstance(obj, float):
        return _short_float32(obj)
    if isinstance(obj, dict):
        return {k: short_floats(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [short_floats(v) for v in obj]
    return obj


def _float32(v: float) -> float:
    return struct.unpack("f", struct.pack("f", v))[0]


def _short_float32(v: float) -> float:
    if not math.isfinite(v) or abs(v) > 3.4e38 or _float32(v) != v:
        return v
    for digits in range(1, 10):
        short = float(f"{v:.{digits}g}")
        if _float32(short) == v:
            return short
    return v


def atomic_torch_save(obj, path) -> None:
    import torch
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
