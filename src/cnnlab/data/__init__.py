"""Dataset formats. Each module (emnist, fer2013, cifar10) offers `load(root, split, cache, download_missing)`
returning a `TensorData`, `locate(root)` (the DataError `load` would raise for a folder without the dataset, without
reading it), plus NAME, SPLITS, MEAN and STD. Nothing here knows about models."""

from __future__ import annotations

import importlib
from types import ModuleType

from cnnlab.errors import UsageError

DATASETS = {"emnist": "cnnlab.data.emnist", "fer2013": "cnnlab.data.fer2013", "cifar10": "cnnlab.data.cifar10"}


def get(name: str) -> ModuleType:
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    return importlib.import_module(DATASETS[name])


def locate(name: str, root) -> None:
    from pathlib import Path
    get(name).locate(Path(root))


def load(name: str, root, split: str = "train", cache=None, download_missing: bool = False):
    return get(name).load(root, split, cache=cache, download_missing=download_missing)
