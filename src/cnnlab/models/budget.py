"""Size a model to a parameter budget: find the integer width whose parameter count is closest to it."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from cnnlab.models.common import count_params


def fit(build: Callable[[int], nn.Module], budget: int, lo: int = 1, hi: int = 65536) -> int:
    """The size s in [lo, hi] minimising |params(build(s)) - budget| (params grow with s: binary search)."""
    def params(s: int) -> int:
        with torch.device("meta"):  # shapes only: no memory is allocated
            return count_params(build(s))

    while hi - lo > 1:
        mid = (lo + hi) // 2
        if params(mid) < budget:
            lo = mid
        else:
            hi = mid
    return min((lo, hi), key=lambda s: abs(params(s) - budget))
