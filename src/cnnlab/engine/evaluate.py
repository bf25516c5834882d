"""Evaluation with large batches: loss, accuracy and predictions of a model on a TensorData."""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from cnnlab.data.tensors import TensorData, to_float


def autocast(device: torch.device):
    """bf16 autocast on CUDA; full precision on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.inference_mode()
def predict_logits(model, images: torch.Tensor, device: torch.device, batch_size: int = 1024) -> torch.Tensor:
    """Logits (float32, on the CPU) for uint8 images [N, C, H, W]."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = to_float(images[i:i + batch_size].to(device, non_blocking=True), channels_last=True)
        with autocast(device):
            out.append(model(x).float().cpu())
    return torch.cat(out) if out else torch.empty(0)


def evaluate(model, data: TensorData, device: torch.device, batch_size: int = 1024) -> dict:
    """{"loss", "acc", "preds", "targets", "logits"} over the whole of `data`."""
    logits = predict_logits(model, data.images, device, batch_size)
    targets = data.labels.cpu()
    if len(targets) == 0:
        return {"loss": None, "acc": None, "preds": torch.empty(0, dtype=torch.long), "targets": targets, "logits": logits}
    preds = logits.argmax(1)
    return {"loss": float(F.cross_entropy(logits, targets)), "acc": float((preds == targets).float().mean()),
            "preds": preds, "targets": targets, "logits": logits}
