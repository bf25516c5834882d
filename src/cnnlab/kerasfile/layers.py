"""The PyTorch layers that carry weights, the name of their Keras twin, and how the weights are laid out in each.

PyTorch keeps a convolution's kernel as [out, in, kh, kw] and a linear layer's as [out, in]; Keras as
[kh, kw, in, out] and [in, out]; a depthwise kernel is [channels, 1, kh, kw] in PyTorch, [kh, kw, channels, 1] in
Keras. Batch norm's four tensors only change names. The conversions are transposes, so a round trip is exact.
"""

from __future__ import annotations

import numpy as np
from torch import nn

# kind -> [(Keras weight name, PyTorch state-dict suffix, axes PyTorch -> Keras, axes Keras -> PyTorch)]
WEIGHTS = {
    "conv": [("kernel", "weight", (2, 3, 1, 0), (3, 2, 0, 1)), ("bias", "bias", None, None)],
    "depthwise": [("kernel", "weight", (2, 3, 0, 1), (2, 3, 0, 1)), ("bias", "bias", None, None)],
    "dense": [("kernel", "weight", (1, 0), (1, 0)), ("bias", "bias", None, None)],
    "batchnorm": [("gamma", "weight", None, None), ("beta", "bias", None, None),
                  ("moving_mean", "running_mean", None, None), ("moving_variance", "running_var", None, None)],
}


def kind_of(module: nn.Module) -> str | None:
    """'conv', 'depthwise', 'dense' or 'batchnorm' for a layer with weights; None for one without."""
    if isinstance(module, nn.Conv2d):
        depthwise = module.groups > 1 and module.groups == module.in_channels == module.out_channels
        return "depthwise" if depthwise else "conv"
    if isinstance(module, nn.Linear):
        return "dense"
    if isinstance(module, nn.BatchNorm2d):
        return "batchnorm"
    return None


def keras_name(path: str) -> str:
    """The Keras layer name of the PyTorch module at `path` (features.0.0 -> features_0_0): Keras forbids dots."""
    return path.replace(".", "_")


def weighted(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """(path, module, kind) of every layer of `model` with weights, in model order."""
    return [(path, m, kind) for path, m in model.named_modules() if (kind := kind_of(m))]


def to_keras(module: nn.Module, kind: str) -> dict[str, np.ndarray]:
    """The Keras weights (by Keras name) of one PyTorch layer."""
    out = {}
    for kname, tname, axes, _ in WEIGHTS[kind]:
        tensor = getattr(module, tname)
        if tensor is not None:
            a = tensor.detach().cpu().float().numpy()
            out[kname] = np.ascontiguousarray(a.transpose(axes) if axes else a)
    return out


def to_torch(arrays: dict[str, np.ndarray], kind: str) -> dict[str, np.ndarray]:
    """The PyTorch state-dict entries (by suffix) of one layer from its Keras weights (by Keras name)."""
    out = {}
    for kname, tname, _, axes in WEIGHTS[kind]:
        if kname in arrays:
            a = np.asarray(arrays[kname])
            out[tname] = np.ascontiguousarray(a.transpose(axes) if axes else a)
    return out
