"""The assignment's questions as compositions of data, models and the engine; each dataset's default recipe."""

from __future__ import annotations

import importlib

RECIPES = {"emnist": "cnnlab.experiments.emnist", "fer2013": "cnnlab.experiments.fer", "cifar10": "cnnlab.experiments.distill"}


def defaults(dataset: str) -> dict:
    """The dataset's default hyper-parameters (TrainConfig fields); {} for a dataset without a recipe module."""
    try:
        return dict(importlib.import_module(RECIPES[dataset]).DEFAULTS)
    except (KeyError, ModuleNotFoundError, AttributeError):
        return {}
