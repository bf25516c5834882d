"""Classification metrics in the metrics.json schema (docs/run-folder.md), from the confusion matrix.

The formulas and the handling of empty classes are torchmetrics' (tests/engine/test_metrics.py checks them
against torchmetrics on random data): precision, recall and F1 of a class with a zero denominator are 0; the macro
average leaves out classes that occur in neither the targets nor the predictions; the weighted average weights
by support. They are computed here from exact counts because importing torchmetrics costs several seconds (it
imports torchvision and every metric family), which every `cnnlab eval` and training start paid.
"""

from __future__ import annotations

import torch


def _divide(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den != 0, num / den.clamp(min=1e-300), torch.zeros_like(num))


def classification_metrics(preds: torch.Tensor, targets: torch.Tensor, classes: list[str]) -> dict:
    """`preds` and `targets` are class indices [N]. Per-class support is reported so a reader can tell which
    classes the macro averages cover."""
    k = len(classes)
    preds, targets = preds.cpu().long(), targets.cpu().long()
    cm = torch.bincount(targets * k + preds, minlength=k * k).reshape(k, k)  # rows true, columns predicted
    c = cm.double()
    tp, support, predicted = c.diag(), c.sum(1), c.sum(0)
    fp, fn = predicted - tp, support - tp
    per = {"precision": _divide(tp, predicted), "recall": _divide(tp, support), "f1": _divide(2 * tp, 2 * tp + fp + fn)}
    present = ((tp + fp + fn) > 0).double()
    out = {
        "split": None,
        "num_samples": int(len(targets)),
        "classes": list(classes),
        "accuracy": float(_divide(tp.sum(), c.sum())),
    }
    for avg, weights in (("macro", present), ("weighted", support)):
        for name in ("precision", "recall", "f1"):
            out[f"{name}_{avg}"] = float(_divide((weights * per[name]).sum(), weights.sum()))
    out["per_class"] = {name: {"precision": float(per["precision"][i]), "recall": float(per["recall"][i]),
                               "f1": float(per["f1"][i]), "support": int(support[i])} for i, name in enumerate(classes)}
    out["confusion_matrix"] = cm.tolist()
    return out
