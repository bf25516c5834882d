"""The assignment's questions as compositions of data, models and the engine; each dataset's named recipes."""

from __future__ import annotations

import importlib

from cnnlab.data import DATASETS
from cnnlab.errors import UsageError

MODULES = {name: registered.recipes for name, registered in DATASETS.items()}  # dataset: the module of its recipes


def recipes(dataset: str) -> dict[str, dict]:
    """{recipe name: TrainConfig fields} of a dataset: its RECIPES, or {"default": DEFAULTS}; {} for none."""
    try:
        module = importlib.import_module(MODULES[dataset])
    except (KeyError, ModuleNotFoundError):
        return {}
    if hasattr(module, "RECIPES"):
        return {k: dict(v) for k, v in module.RECIPES.items()}
    return {"default": dict(module.DEFAULTS)} if hasattr(module, "DEFAULTS") else {}


def default_recipe(dataset: str) -> str | None:
    """The recipe used when none is named: the module's default_recipe() (e.g. gpu with CUDA), else the only one."""
    module = importlib.import_module(MODULES[dataset]) if dataset in MODULES else None
    if module is not None and hasattr(module, "default_recipe"):
        return module.default_recipe()
    names = list(recipes(dataset))
    return names[0] if names else None


def defaults(dataset: str, recipe: str | None = None) -> dict:
    """The TrainConfig fields of a dataset's recipe (its default recipe when `recipe` is None), with "recipe" set."""
    table = recipes(dataset)
    if not table:
        return {}
    name = recipe or default_recipe(dataset)
    if name not in table:
        raise UsageError(f"--recipe must be one of {', '.join(table)} for {dataset}, not {recipe!r}")
    return {**table[name], "recipe": name}
