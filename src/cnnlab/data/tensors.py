"""Datasets as uint8 tensors: decoded once, cached on disk, split, moved to the device, augmented in batches.

Every dataset module returns a `TensorData`: `images` uint8 [N, C, H, W] (upright, as a person sees them),
`labels` int64 [N], and the class names. Models receive `images / 255` as float; normalisation lives inside the
model, so checkpoints, predict, export and live all preprocess the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch

from cnnlab.atomic import atomic_torch_save


@dataclass
class TensorData:
    images: torch.Tensor  # uint8 [N, C, H, W]
    labels: torch.Tensor  # int64 [N]
    classes: list[str]

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def input_shape(self) -> list[int]:
        return list(self.images.shape[1:])

    def subset(self, index: torch.Tensor) -> "TensorData":
        return TensorData(self.images[index], self.labels[index], self.classes)

    def to(self, device) -> "TensorData":
        return TensorData(self.images.to(device, non_blocking=True), self.labels.to(device, non_blocking=True),
                          self.classes)

    def counts(self) -> list[int]:
        return torch.bincount(self.labels, minlength=len(self.classes)).tolist()


# ---------------------------------------------------------------------------------------------------------------
# Decode once, cache on disk.

def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """`--cache-dir`, else $CNNLAB_CACHE_DIR, else ~/.cache/cnnlab. Never next to the (read-only) data."""
    if override:
        return Path(override)
    return Path(os.environ.get("CNNLAB_CACHE_DIR") or Path.home() / ".cache" / "cnnlab")


def _fingerprint(files: list[Path]) -> str:
    h = hashlib.sha1()
    for f in sorted(files):
        st = f.stat()
        h.update(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def cached(name: str, files: list[Path], decode: Callable[[], TensorData], cache: str | None = None) -> TensorData:
    """Return `decode()`, from the cache when the source files (path, size, mtime) have not changed."""
    key = f"{name}-{_fingerprint(files)}.pt"
    path = cache_dir(cache) / key
    if path.exists():
        try:
            d = torch.load(path, weights_only=True)
            return TensorData(d["images"], d["labels"], list(d["classes"]))
        except Exception:  # a damaged cache entry is rebuilt, never trusted
            path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    data = decode()
    try:
        atomic_torch_save({"images": data.images, "labels": data.labels, "classes": data.classes}, path)
        saved = f"cached in {path}, so the next run reads it at once"
    except OSError:
        saved = f"not cached ({path.parent} is not writable; --cache-dir or $CNNLAB_CACHE_DIR picks another folder)"
    seconds = time.perf_counter() - t0
    if seconds > SLOW:
        print(f"{name}: decoded {len(data):,} images once in {seconds:.0f} s; {saved}", file=sys.stderr, flush=True)
    return data


SLOW = 2.0  # seconds: a step that takes longer says what it did (and a progress bar shows while it runs)


# ---------------------------------------------------------------------------------------------------------------
# Splits.

def stratified_split(labels: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (train, val): `fraction` of every class goes to val (at least one where a class has 2+ samples)."""
    if not 0.0 <= fraction < 1.0:
        from cnnlab.errors import UsageError
        raise UsageError(f"--val-fraction must be in [0, 1), got {fraction}")
    g = torch.Generator().manual_seed(seed)
    train, val = [], []
    for c in torch.unique(labels):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        n_val = int(round(len(idx) * fraction))
        if fraction > 0 and n_val == 0 and len(idx) >= 2:
            n_val = 1
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return torch.cat(train).sort().values, torch.cat(val).sort().values


def limit(data: TensorData, n: int | None, seed: int) -> TensorData:
    """A seeded random subset of n samples (all when n is None or larger than the data)."""
    if n is None or n >= len(data):
        return data
    g = torch.Generator().manual_seed(seed)
    return data.subset(torch.randperm(len(data), generator=g)[:n].sort().values)


# ---------------------------------------------------------------------------------------------------------------
# Batches on the device.

def to_float(images: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    x = images.float().div_(255)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def batch_indices(n: int, batch_size: int, shuffle: bool, seed: int = 0, epoch: int = 0,
                  rank: int = 0, world: int = 1, drop_last: bool = False) -> list[torch.Tensor]:
    """The epoch's batches of sample indices; with `world` > 1 each rank gets its own shard of every batch.

    The order is a pure function of (seed, epoch), so a resumed run and every DDP rank agree on it.
    """
    if shuffle:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    else:
        order = torch.arange(n)
    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    if drop_last and batches and len(batches[-1]) < batch_size:
        batches.pop()
    if world > 1:
        batches = [b[rank::world] for b in batches]
        batches = [b for b in batches if len(b)]
    return batches


def iterate(data: TensorData, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Plain in-order batches (evaluation)."""
    for i in range(0, len(data), batch_size):
        yield data.images[i:i + batch_size], data.labels[i:i + batch_size]


def describe(data: TensorData) -> str:
    return json.dumps({"samples": len(data), "shape": data.input_shape, "classes": len(data.classes)})
