"""FER-2013 models scored as the FER benchmarks (ablation/fer_*.py, calibration/fer_tta.py) share it: the validation
split every FER run shares and PublicTest, a model's probabilities averaged over test-time views (the face, its
mirror, shifted copies), its accuracy and macro-F1 on both splits, and the paired standard error of a difference
of two accuracies on the same n faces, sqrt(b + c - (b - c)^2 / n) / n, where b and c count the faces only one of
the two models gets right."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from cnnlab.data.tensors import to_float
from cnnlab.engine.config import TrainConfig
from cnnlab.engine.metrics import classification_metrics
from cnnlab.engine.train import load_splits
from cnnlab.experiments.fer import CPU
from cnnlab.runs import load_model

# A view is (dy, dx, mirrored): the face moved by (dy, dx) pixels, then mirrored left-right or not.
NONE = [(0, 0, False)]
FLIP = [(0, 0, False), (0, 0, True)]  # the flip average `cnnlab eval` and the live demo use


def shared_config(data: str) -> TrainConfig:
    """The `cpu` recipe's config with seed 0's split of the FER-2013 folder `data`: load_splits of it gives the
    validation split every FER run shares."""
    return TrainConfig.from_dict({**TrainConfig().to_dict(), **CPU, "dataset": "fer2013", "data": data,
                                  "seed": 0, "split_seed": 0})


def splits(data: str):
    """The validation split every FER run shares (seed 0's carve of train) and PublicTest."""
    _, val, test = load_splits(shared_config(data))
    return val, test


def shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """x moved by (dy, dx) pixels, the border repeated into the gap."""
    if dy == dx == 0:
        return x
    p = max(abs(dy), abs(dx))
    h, w = x.shape[-2:]
    xp = F.pad(x, (p, p, p, p), mode="replicate")
    return xp[..., p - dy:p - dy + h, p - dx:p - dx + w]


@torch.inference_mode()
def probabilities(model, images: torch.Tensor, views=FLIP, channels_last: bool = False) -> torch.Tensor:
    """The mean of the model's softmax over `views` of the uint8 `images`, in batches of 512 (fp32; channels-last
    memory when asked, as the timing of fer_tta measures it)."""
    out = []
    for i in range(0, len(images), 512):
        x = to_float(images[i:i + 512], channels_last=channels_last)
        p = sum(model(shifted(x.flip(-1) if flip else x, dy, dx)).softmax(1) for dy, dx, flip in views)
        out.append(p / len(views))
    return torch.cat(out)


def paired_se(right_a: torch.Tensor, right_b: torch.Tensor) -> float:
    n = len(right_a)
    b = int((right_a & ~right_b).sum())
    c = int((~right_a & right_b).sum())
    return math.sqrt(max(b + c - (b - c) ** 2 / n, 0.0)) / n


def describe(ref: str, ckpt: dict) -> dict:
    """Epochs and seed of a model (its checkpoint's config), the machine it was trained on (the card beside a shipped
    .pt says), and the teacher of a distilled one (distill.json of a run folder, or the card)."""
    cfg = ckpt.get("config") or {}
    info = {"model": ref, "epochs": cfg.get("epochs"), "seed": cfg.get("seed")}
    folder, card = Path(ref), Path(ref).with_suffix(".json")
    shipped = json.loads(card.read_text()) if folder.suffix == ".pt" and card.exists() else {}
    if machine := shipped.get("training", {}).get("machine"):
        info["trained_on"] = machine
    if "soup" in shipped:  # weights averaged, not trained: its config is the first ingredient's
        info |= {"epochs": None, "seed": None, "soup": ",".join(shipped["soup"]["models"])}
    if (folder / "distill.json").exists():
        kd = json.loads((folder / "distill.json").read_text())
        info |= {k: kd.get(k) for k in ("teacher", "alpha", "tau", "t2_scale", "teacher_targets", "teacher_views")}
    elif "teacher" in shipped:
        teacher = shipped["teacher"]
        info |= {"teacher": ",".join(teacher["models"])} | {k: teacher.get(k) for k in
                                                            ("alpha", "tau", "t2_scale", "teacher_targets",
                                                             "teacher_views")}
    return info


def score(ref: str, val, test, right: dict) -> dict:
    """describe(ref), its role (distilled when it names a teacher, else alone), and its accuracy and macro-F1 on
    val and test with the flip average; right[(ref, split)]: which faces it gets right."""
    model, ckpt = load_model(ref)
    row = describe(ref, ckpt)
    row["role"] = "distilled" if row.get("teacher") else "alone"
    for name, data in (("val", val), ("test", test)):
        pred = probabilities(model, data.images, FLIP).argmax(1)
        m = classification_metrics(pred, data.labels, data.classes)
        row |= {f"{name}_accuracy": round(m["accuracy"], 4), f"{name}_f1_macro": round(m["f1_macro"], 4)}
        right[(ref, name)] = pred == data.labels
    return row


def difference(a: str, b: str, right: dict) -> dict:
    """Accuracy of a minus accuracy of b on each split, with its paired standard error."""
    diff = {"model": f"{a} - {b}", "role": "difference"}
    for name in ("val", "test"):
        ra, rb = right[(a, name)], right[(b, name)]
        diff |= {f"{name}_accuracy": round(float(ra.float().mean() - rb.float().mean()), 4),
                 f"{name}_paired_se": round(paired_se(ra, rb), 4)}
    return diff
