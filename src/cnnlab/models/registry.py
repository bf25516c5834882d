"""Model names -> constructors. Every constructor takes (num_classes, input_shape, mean, std, **hparams).

`resolve` turns a name and the user's options into the concrete keyword arguments stored in every checkpoint,
so `build(arch, **kwargs)` rebuilds exactly the trained model without re-running any budget search.
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING

from cnnlab.errors import UsageError

if TYPE_CHECKING:  # torch is imported by the model modules, when a model is built: `cnnlab models` starts at once
    from torch import nn

# name -> ("module:Class", fixed keyword arguments, the hyper-parameter that a --param-budget sizes)
MODELS: dict[str, tuple[str, dict, str | None]] = {
    "mlp": ("cnnlab.models.mlp:MLP", {}, "hidden"),
    "cnn": ("cnnlab.models.cnn:CNN", {}, "width"),
    "cnn-factorized": ("cnnlab.models.cnn:CNN", {"factorized": True}, "width"),
    "fer-vgg": ("cnnlab.models.fer:FerNet", {}, "width"),
    "resnet18": ("cnnlab.models.zoo:ResNet", {"depth": 18}, None),
    "resnet50": ("cnnlab.models.zoo:ResNet", {"depth": 50}, None),
    "mobilenetv2": ("cnnlab.models.zoo:MobileNetV2", {}, None),
    "mobilenetv2-cifar": ("cnnlab.models.zoo:MobileNetV2", {"cifar_stem": True}, None),
}


def register(name: str, target: str, fixed: dict | None = None, sized_by: str | None = None) -> None:
    MODELS[name] = (target, fixed or {}, sized_by)


def _constructor(arch: str):
    if arch not in MODELS:
        raise UsageError(f"unknown model {arch!r}; choose one of: {', '.join(sorted(MODELS))}")
    module, cls = MODELS[arch][0].split(":")
    return getattr(importlib.import_module(module), cls)


def build(arch: str, num_classes: int, input_shape, **kwargs) -> nn.Module:
    fixed = MODELS[arch][1] if arch in MODELS else {}
    constructor = _constructor(arch)
    accepted = inspect.signature(constructor).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            raise UsageError(f"model {arch!r} has no option {', '.join(unknown)} (it takes: "
                             f"{', '.join(k for k in accepted if k not in ('num_classes', 'input_shape'))})")
    return constructor(num_classes, list(input_shape), **{**fixed, **kwargs})


def resolve(arch: str, num_classes: int, input_shape, param_budget: int | None = None, **hparams) -> dict:
    """The keyword arguments for `build`. An `mlp` without a budget is sized to match the default `cnn`."""
    _constructor(arch)
    hparams = {k: v for k, v in hparams.items() if v is not None}
    sized_by = MODELS[arch][2]
    if arch == "mlp" and param_budget is None:
        normalisation = {k: v for k, v in hparams.items() if k in ("mean", "std")}
        param_budget = budget_of("cnn", num_classes, input_shape, **normalisation)
    if param_budget is not None:
        from cnnlab.models import budget
        if sized_by is None:
            raise UsageError(f"--param-budget is not supported for model {arch!r}")
        hparams[sized_by] = budget.fit(lambda s: build(arch, num_classes, input_shape, **{**hparams, sized_by: s}),
                                       int(param_budget))
    return hparams


def budget_of(arch: str, num_classes: int, input_shape, **hparams) -> int:
    import torch
    from cnnlab.models.common import count_params
    with torch.device("meta"):
        return count_params(build(arch, num_classes, input_shape, **hparams))
