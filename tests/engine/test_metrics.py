"""cnnlab.engine.metrics: torchmetrics' formulas and handling of empty classes, without its import."""

import json

import torch


def test_metrics_equal_torchmetrics():
    from torchmetrics.functional.classification import (multiclass_accuracy, multiclass_f1_score,
                                                        multiclass_precision, multiclass_recall)

    from cnnlab.engine.metrics import classification_metrics
    g = torch.Generator().manual_seed(0)
    for i in range(20):
        k = int(torch.randint(2, 9, (1,), generator=g))
        n = int(torch.randint(1, 80, (1,), generator=g))
        t = torch.randint(0, k - (i % 2), (n,), generator=g)  # every other case: the last class never occurs
        p = torch.randint(0, max(1, k - 2), (n,), generator=g)  # some classes never predicted
        m = classification_metrics(p, t, [str(i) for i in range(k)])
        assert abs(m["accuracy"] - float(multiclass_accuracy(p, t, num_classes=k, average="micro"))) < 1e-6
        for avg in ("macro", "weighted"):
            for name, f in (("precision", multiclass_precision), ("recall", multiclass_recall),
                            ("f1", multiclass_f1_score)):
                assert abs(m[f"{name}_{avg}"] - float(f(p, t, num_classes=k, average=avg))) < 1e-6, (name, avg)
        per = multiclass_recall(p, t, num_classes=k, average=None)
        assert all(abs(m["per_class"][str(i)]["recall"] - float(per[i])) < 1e-6 for i in range(k))
    m = classification_metrics(torch.tensor([0] * 412 + [1] * 588), torch.zeros(1000, dtype=torch.long), ["a", "b"])
    assert json.dumps(m["accuracy"]) == "0.412"  # not 0.41200000047683716
