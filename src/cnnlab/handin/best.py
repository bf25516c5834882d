"""The best model of a practical question: chosen by validation accuracy, written as .h5 (cnnlab.export) beside
a best_model.json saying where it came from, then loaded back and compared with its source on real images."""

from __future__ import annotations

from pathlib import Path

import torch

from cnnlab.atomic import atomic_write_json

H5 = "best_model.h5"
RECORD = "best_model.json"


def val_accuracy(ref: str) -> float | None:
    """The validation accuracy stored with a run's best checkpoint (or a shipped model's)."""
    from cnnlab.runs import checkpoint_path
    ckpt = torch.load(checkpoint_path(ref), map_location="cpu", weights_only=False)
    return ckpt.get("val_acc")


@torch.inference_mode()
def max_difference(ref: str, h5: Path, images: torch.Tensor) -> float:
    """Largest |p_source - p_h5| of the class probabilities on `images` (uint8, the model's input shape)."""
    from cnnlab.export import load_h5
    from cnnlab.runs import load_model
    source, _ = load_model(ref)
    loaded, _ = load_h5(h5)
    x = images.float() / 255
    return float((source(x).softmax(1) - loaded(x).softmax(1)).abs().max())


def save(out: Path, question: str, ref: str, label: str, why: str, images: torch.Tensor, metrics: dict | None = None) -> dict:
    """Export `ref` (run folder or shipped name) as out/best_model.h5, check it on `images`, record it."""
    from cnnlab import export
    from cnnlab.runs import load_model
    out = Path(out)
    model, ckpt = load_model(ref)
    result = export.export_h5(model, ckpt, out / H5)
    diff = max_difference(ref, out / H5, images)
    record = {"question": question, "source": str(ref), "label": label, "why": why, "h5": str(out / H5),
              "arch": ckpt["arch"], "dataset": ckpt.get("dataset"), "classes": list(ckpt["classes"]),
              "val_accuracy": ckpt.get("val_acc"), "test_accuracy": (metrics or {}).get("accuracy"),
              "test_images": (metrics or {}).get("num_samples"), "tensors": result["tensors"],
              "load_check": {"images": len(images), "max_abs_diff": diff}}
    atomic_write_json(out / RECORD, record)
    return record
