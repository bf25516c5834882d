"""The best model of a practical question: chosen by validation accuracy, written as a Keras .h5 (cnnlab.export)
beside a best_model.json saying where it came from, checked on real test images as Keras opens it and as cnnlab
reads it back."""

from __future__ import annotations

from pathlib import Path

import torch

from cnnlab.atomic import atomic_write_json

H5 = "best_model.h5"
RECORD = "best_model.json"
TOLERANCE = 1e-3  # largest probability difference between Keras and PyTorch accepted for a trained model (fp32)


def val_accuracy(ref: str) -> float | None:
    """The validation accuracy stored with a run's best checkpoint (or a shipped model's)."""
    from cnnlab.engine.runfolder import saved_val_accuracy
    from cnnlab.runs import checkpoint_path
    return saved_val_accuracy(checkpoint_path(ref))


def save(out: Path, question: str, ref: str, label: str, why: str, images: torch.Tensor,
         metrics: dict | None = None) -> dict:
    """Export `ref` (run folder or shipped name) as out/best_model.h5, a Keras model checked on `images` (uint8
    test images, the model's input shape) as Keras opens it and as cnnlab reads it back; record it."""
    from cnnlab import export
    from cnnlab.runs import load_model
    out = Path(out)
    model, ckpt = load_model(ref)
    check = export.export_h5(model, ckpt, out / H5, images, TOLERANCE)
    record = {"question": question, "source": str(ref), "label": label, "why": why, "h5": str(out / H5),
              "arch": ckpt["arch"], "dataset": ckpt.get("dataset"), "classes": list(ckpt["classes"]),
              "input_shape": list(ckpt["input_shape"]), "val_accuracy": ckpt.get("val_acc"),
              "test_accuracy": (metrics or {}).get("accuracy"), "test_images": (metrics or {}).get("num_samples"),
              "keras_layers": check["keras_layers"],
              "load_check": {k: check[k] for k in ("images", "agreement", "max_abs_diff", "roundtrip_max_abs_diff",
                                                   "keras")}}
    atomic_write_json(out / RECORD, record)
    return record


@torch.inference_mode()
def agreement(ref: str, images: torch.Tensor, keras_probabilities) -> str:
    """How Keras' probabilities on uint8 `images` [N, C, H, W] compare with cnnlab's model `ref` (one pass, no
    TTA), as a sentence."""
    from cnnlab.runs import load_model
    model, _ = load_model(ref)
    want = model(images.float() / 255).softmax(1).numpy()
    same = float((keras_probabilities.argmax(1) == want.argmax(1)).mean())
    return (f"same class as cnnlab on {same:.1%} of {len(want)} test images, probabilities within "
            f"{abs(keras_probabilities - want).max():.1g}")
