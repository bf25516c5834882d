"""Classification metrics with torchmetrics, in the metrics.json schema of DESIGN.md."""

from __future__ import annotations

import torch
from torchmetrics.functional.classification import (multiclass_accuracy, multiclass_confusion_matrix,
                                                    multiclass_f1_score, multiclass_precision, multiclass_recall)


def classification_metrics(preds: torch.Tensor, targets: torch.Tensor, classes: list[str]) -> dict:
    """`preds` and `targets` are class indices [N]. Classes absent from both count as 0 in macro averages
    only where torchmetrics says so; per-class support is reported so a reader can tell."""
    k = len(classes)
    preds, targets = preds.cpu().long(), targets.cpu().long()
    args = dict(num_classes=k)
    per_p = multiclass_precision(preds, targets, average=None, **args)
    per_r = multiclass_recall(preds, targets, average=None, **args)
    per_f = multiclass_f1_score(preds, targets, average=None, **args)
    support = torch.bincount(targets, minlength=k)
    out = {
        "split": None,
        "num_samples": int(len(targets)),
        "classes": list(classes),
        "accuracy": float(multiclass_accuracy(preds, targets, average="micro", **args)),
    }
    for avg in ("macro", "weighted"):
        out[f"precision_{avg}"] = float(multiclass_precision(preds, targets, average=avg, **args))
        out[f"recall_{avg}"] = float(multiclass_recall(preds, targets, average=avg, **args))
        out[f"f1_{avg}"] = float(multiclass_f1_score(preds, targets, average=avg, **args))
    out["per_class"] = {c: {"precision": float(per_p[i]), "recall": float(per_r[i]), "f1": float(per_f[i]),
                            "support": int(support[i])} for i, c in enumerate(classes)}
    out["confusion_matrix"] = multiclass_confusion_matrix(preds, targets, **args).tolist()
    return out
