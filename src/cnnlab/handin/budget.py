"""The three budgets of a hand-in (templates/budgets.json): `quick` (minutes on a CPU, for tests and CI), `cpu`
(a 2-core CPU: 12 minutes measured on an AVX-512 one, BENCHMARKS.md) and `gpu` (the full-size experiments). The
notebooks read theirs from $CNNLAB_BUDGET, which `cnnlab handin` sets."""

from __future__ import annotations

import json
import os
from importlib import resources

from cnnlab.errors import UsageError

NAMES = ("quick", "cpu", "gpu")


def all_budgets() -> dict:
    return json.loads((resources.files("cnnlab.handin") / "templates" / "budgets.json").read_text(encoding="utf-8"))


def settings(name: str) -> dict:
    if name not in NAMES:
        raise UsageError(f"--budget {name!r}: choose one of {', '.join(NAMES)}")
    return all_budgets()[name]


def current() -> str:
    """$CNNLAB_BUDGET; else quick when $CNNLAB_QUICK=1 (`cnnlab notebooks --quick`); else gpu when CUDA is there,
    cpu otherwise (a notebook opened by hand in Jupyter or Colab)."""
    name = os.environ.get("CNNLAB_BUDGET")
    if name:
        settings(name)  # a clear error for a wrong name
        return name
    if os.environ.get("CNNLAB_QUICK", "0") == "1":
        return "quick"
    import torch
    return "gpu" if torch.cuda.is_available() else "cpu"
