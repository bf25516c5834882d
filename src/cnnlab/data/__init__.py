"""Dataset formats. Each module (emnist, fer2013, cifar10) offers `load(root, split, cache, download_missing)`
returning a `TensorData`, `locate(root)` (the DataError `load` would raise for a folder without the dataset, without
reading it), plus NAME, SPLITS, MEAN and STD. Nothing here knows about models.

DATASETS registers every dataset once: the command line's choices (cli.DATASETS) and the modules of the recipes
(experiments.MODULES) are made from it."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import NamedTuple

from cnnlab.errors import UsageError


class Registered(NamedTuple):
    loader: str  # the module of data/ that reads it
    recipes: str  # the module of experiments/ with its recipes (named, not imported: experiments/ is floors above)


DATASETS = {"emnist": Registered("cnnlab.data.emnist", "cnnlab.experiments.emnist"),
            "fer2013": Registered("cnnlab.data.fer2013", "cnnlab.experiments.fer"),
            "cifar10": Registered("cnnlab.data.cifar10", "cnnlab.experiments.distill")}


def get(name: str) -> ModuleType:
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    return importlib.import_module(DATASETS[name].loader)


def locate(name: str, root) -> None:
    from pathlib import Path
    get(name).locate(Path(root))


def load(name: str, root, split: str = "train", cache=None, download_missing: bool = False):
    return get(name).load(root, split, cache=cache, download_missing=download_missing)
