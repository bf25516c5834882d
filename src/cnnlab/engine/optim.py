"""What changes the weights besides the loss: the optimiser, its learning-rate schedule, the loss's class
weights, and the moving average of the weights."""

from __future__ import annotations

import math

import torch

from cnnlab.data.tensors import TensorData
from cnnlab.engine.config import TrainConfig


def make_optimizer(cfg: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """Weight decay (L2) on weights only, not on biases and batch-norm parameters.

    A model may carry `lr_scales`, {parameter-name prefix: factor} (first match wins), e.g. a pretrained backbone
    at a tenth of the head's learning rate; the schedule then scales every group alike."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    scales = getattr(model, "lr_scales", None)
    if scales:
        factor = {id(p): next((f for k, f in scales.items() if n.startswith(k)), 1.0)
                  for n, p in model.named_parameters()}
        groups = [{**g, "params": [p for p in g["params"] if factor[id(p)] == f], "lr": cfg.lr * f}
                  for f in sorted(set(factor.values()), reverse=True) for g in groups]
        groups = [g for g in groups if g["params"]]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)


def make_schedule(cfg: TrainConfig, opt, steps_per_epoch: int):
    """'cosine': linear warm-up then cosine decay, stepped every batch; 'plateau': halve on a flat val accuracy."""
    if cfg.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=3)
    if cfg.schedule == "none":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    total = max(1, cfg.epochs * steps_per_epoch)
    warm = max(1, int(cfg.warmup_epochs * steps_per_epoch))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))
    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def class_weights(cfg: TrainConfig, train: TensorData, device) -> torch.Tensor | None:
    """Loss weight per class: 'balanced' = n / (k · n_c) (every class weighs the same in total), 'sqrt' = the same
    with the square root of n_c (halfway, in log terms, between none and balanced), both with mean count 1."""
    if cfg.class_weights == "none":
        return None
    counts = torch.bincount(train.labels.cpu(), minlength=len(train.classes)).float().clamp(min=1)
    w = 1 / counts if cfg.class_weights == "balanced" else 1 / counts.sqrt()
    return (w * counts.sum() / (w * counts).sum()).to(device)


def make_ema(cfg: TrainConfig, model: torch.nn.Module):
    """An exponential moving average of the weights and batch-norm statistics, updated after every step."""
    if not cfg.ema:
        return None
    from torch.optim.swa_utils import AveragedModel
    return AveragedModel(model, multi_avg_fn=WarmEMA(cfg.ema), use_buffers=True)


class WarmEMA:
    """The moving average's update: decay min(decay, (1 + t) / (10 + t)) at optimiser step t (`step`, set by the
    loop), so the average follows the weights closely while they change fast at the start, and a short run's
    average is not its random init."""

    def __init__(self, decay: float):
        self.decay, self.step = decay, 0

    def __call__(self, averaged: list[torch.Tensor], current: list[torch.Tensor], _n_averaged) -> None:
        decay = min(self.decay, (1 + self.step) / (10 + self.step))
        if torch.is_floating_point(averaged[0]):
            torch._foreach_lerp_(averaged, current, 1 - decay)
        else:  # integer buffers (batch-norm's num_batches_tracked): the current value
            for a, c in zip(averaged, current):
                a.copy_(c)
