"""Evaluation with large batches: loss, accuracy and predictions of a model on a TensorData."""

from __future__ import annotations

import contextlib
import functools

import torch
import torch.nn.functional as F

from cnnlab.data.tensors import TensorData, to_float
from cnnlab.engine.config import PRECISIONS, TTAS


CPU_BATCH = 128


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN runs bf16 on this CPU with AVX-512 (natively with AVX-512 BF16 or AMX). Elsewhere (AVX2 only)
    bf16 is emulated: about ten times slower than fp32 (BENCHMARKS.md, fer_train_speed)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def uses_bf16(device: torch.device, precision: str = "auto") -> bool:
    """auto: bf16 on CUDA, fp32 on the CPU; fast: bf16 on CUDA and on a CPU where it is fast; bf16, fp32: as said."""
    if precision not in PRECISIONS:
        from cnnlab.errors import UsageError
        raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if device.type == "cuda":
        return precision != "fp32"
    return device.type == "cpu" and (precision == "bf16" or (precision == "fast" and cpu_has_fast_bf16()))


def autocast(device: torch.device, precision: str = "auto"):
    """bf16 autocast where `uses_bf16` says so; else full precision."""
    if uses_bf16(device, precision):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.inference_mode()
def predict_logits(model, images: torch.Tensor, device: torch.device, batch_size: int = 1024,
                   tta: str = "none", precision: str = "auto") -> torch.Tensor:
    """Logits (float32, on the CPU) for uint8 images [N, C, H, W], under `autocast(device, precision)`.

    tta='flip': the log of the mean softmax of each image and its mirror image (so softmax of the result is
    the averaged probability, and argmax the averaged prediction). On a CPU batches are at most CPU_BATCH images:
    larger ones only spill out of the caches (measured: 1.4x slower at 1024 than at 128 on a 2-core EPYC)."""
    if tta not in TTAS:
        from cnnlab.errors import UsageError
        raise UsageError(f"--tta must be one of {', '.join(TTAS)}, not {tta!r}")
    device = torch.device(device)
    if device.type == "cpu":
        batch_size = min(batch_size, CPU_BATCH)
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = to_float(images[i:i + batch_size].to(device, non_blocking=True), channels_last=True)
        with autocast(device, precision):
            if tta == "flip":
                p = model(torch.cat([x, x.flip(-1)])).float().softmax(1)
                out.append(((p[: len(x)] + p[len(x):]) / 2).clamp_min(1e-12).log().cpu())
            else:
                out.append(model(x).float().cpu())
    return torch.cat(out) if out else torch.empty(0)


def evaluate(model, data: TensorData, device: torch.device, batch_size: int = 1024, tta: str = "none",
             precision: str = "auto") -> dict:
    """{"loss", "acc", "preds", "targets", "logits"} over the whole of `data`."""
    logits = predict_logits(model, data.images, device, batch_size, tta, precision)
    targets = data.labels.cpu()
    if len(targets) == 0:
        return {"loss": None, "acc": None, "preds": torch.empty(0, dtype=torch.long), "targets": targets,
                "logits": logits}
    preds = logits.argmax(1)
    return {"loss": float(F.cross_entropy(logits, targets)), "acc": float((preds == targets).float().mean()),
            "preds": preds, "targets": targets, "logits": logits}
