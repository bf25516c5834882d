"""Checkpoints: written atomically, and checked on load so a checkpoint of another model says so."""

from __future__ import annotations

from pathlib import Path

import torch

from cnnlab.atomic import atomic_torch_save, atomic_write_json, atomic_write_text
from cnnlab.errors import DataError

__all__ = ["atomic_torch_save", "atomic_write_json", "atomic_write_text", "load_checkpoint", "build_from_checkpoint"]

# What every checkpoint holds (runfolder.checkpoint writes them): the weights, and what rebuilds their model.
CHECKPOINT_KEYS = ("model", "arch", "num_classes", "classes", "input_shape")


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no checkpoint here; train first (cnnlab train ... --out {path.parent})")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise DataError(f"{path}: not a readable checkpoint ({e.__class__.__name__}); "
                        "train again or restore it") from None
    missing = [k for k in CHECKPOINT_KEYS if k not in ckpt]
    if missing:
        raise DataError(f"{path}: not a cnnlab checkpoint (missing {missing}); give a run folder made by cnnlab train")
    return ckpt


def build_from_checkpoint(ckpt: dict, path: Path | str = "checkpoint"):
    """Rebuild the model of a checkpoint and load its weights; a mismatch names the differing keys."""
    from cnnlab.models import registry
    model = registry.build(ckpt["arch"], ckpt["num_classes"], ckpt["input_shape"], **ckpt.get("model_kwargs", {}))
    try:
        result = model.load_state_dict(ckpt["model"], strict=False)
    except RuntimeError as e:  # same names, other shapes
        raise DataError(f"{path}: the weights do not fit model {ckpt['arch']!r} ({str(e).splitlines()[1].strip()}...); "
                        "the checkpoint belongs to another model") from None
    if result.missing_keys or result.unexpected_keys:
        raise DataError(f"{path}: the weights do not fit model {ckpt['arch']!r} (missing {result.missing_keys[:5]}, "
                        f"unexpected {result.unexpected_keys[:5]}); the checkpoint belongs to another model")
    return model.eval()
