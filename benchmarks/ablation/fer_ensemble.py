"""FER-2013 teachers for distillation: each member and their ensemble (the mean of the members' probabilities, each
on the face and its mirror) on the validation split every member shares (seed 0's carve of train, as the shipped
model's; members of other seeds are trained with --set split_seed=0). Validation is what choices read; PublicTest
is reported beside it and chooses nothing. Also times the teacher's forward pass on a training batch against one
training step of the student, the figure that decides whether its logits are cached.

    PYTHONPATH=src python -m benchmarks.ablation.fer_ensemble fer2013-vgg runs/fer-teacher-s1 runs/fer-teacher-s2

Writes benchmarks/results/fer_ensemble_cpu.json (accuracy) and fer_teacher_cost_cpu.json (speed check); --result and
--cost-result name them otherwise (another ensemble beside the first).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

from benchmarks.common import FER, write
from benchmarks.fer_scoring import FLIP, NONE, probabilities, shared_config

from cnnlab.data.tensors import to_float
from cnnlab.distill.ensemble import Ensemble
from cnnlab.engine.evaluate import autocast
from cnnlab.engine.metrics import classification_metrics
from cnnlab.engine.train import load_splits
from cnnlab.experiments.fer import CPU
from cnnlab.runs import load_model


def scores(probs: torch.Tensor, data) -> dict:
    m = classification_metrics(probs.argmax(1), data.labels, data.classes)
    return {"accuracy": round(m["accuracy"], 4), "f1_macro": round(m["f1_macro"], 4)}


def teacher_cost(members, student_ref: str, batch: torch.Tensor, repeats: int = 5) -> dict:
    """Seconds of the ensemble's forward pass (bf16 where fast, as the student trains) on one batch, against one
    training step of a student of the same architecture."""
    teacher = Ensemble(members, flip=True)
    student, _ = load_model(student_ref)
    student.train()
    opt = torch.optim.SGD(student.parameters(), lr=1e-3)
    x = to_float(batch, channels_last=True)
    y = torch.zeros(len(x), dtype=torch.long)

    def forward():
        with torch.inference_mode(), autocast(x.device, "fast"):
            teacher(x)

    def step():
        with autocast(x.device, "fast"):
            loss = F.cross_entropy(student(x).float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    result = {}
    for name, fn in (("teacher_forward_s", forward), ("student_step_s", step)):
        fn()
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        result[name] = round((time.perf_counter() - t0) / repeats, 4)
    result["ratio"] = round(result["teacher_forward_s"] / result["student_step_s"], 2)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("members", nargs="+", help="run folders or shipped names of the ensemble's members")
    ap.add_argument("--data", default=str(FER))
    ap.add_argument("--result", default="fer_ensemble_cpu", help="name of the accuracy result (default %(default)s)")
    ap.add_argument("--cost-result", default="fer_teacher_cost_cpu",
                    help="name of the speed check of the teacher's cost (default %(default)s)")
    args = ap.parse_args()
    train, val, test = load_splits(shared_config(args.data))
    members = [load_model(ref)[0].eval() for ref in args.members]
    rows, val_probs, test_probs = [], [], []
    for ref, model in zip(args.members, members):
        row = {"model": ref}
        for tag, views in (("single", NONE), ("flip", FLIP)):
            pv, pt = probabilities(model, val.images, views), probabilities(model, test.images, views)
            row |= {f"val_{k}_{tag}": v for k, v in scores(pv, val).items()}
            row |= {f"test_{k}_{tag}": v for k, v in scores(pt, test).items()}
        val_probs.append(pv)  # the flip average's, the ensemble's input
        test_probs.append(pt)
        rows.append(row)
        print(row, file=sys.stderr)
    ens = {"model": f"ensemble of {len(members)} (mean probability, flip)"}
    ens |= {f"val_{k}_flip": v for k, v in scores(sum(val_probs) / len(members), val).items()}
    ens |= {f"test_{k}_flip": v for k, v in scores(sum(test_probs) / len(members), test).items()}
    rows.append(ens)
    print(ens, file=sys.stderr)
    write(args.result, rows, kind="result",
          note=f"validation: {len(val)} faces (seed 0's carve of train, shared by every member); test: PublicTest, "
               f"{len(test)} faces, reported only; fp32")
    batch = train.images[:CPU["batch_size"]]
    cost = teacher_cost(members, args.members[0], batch)
    print(cost, file=sys.stderr)
    write(args.cost_result, [{"batch": len(batch), "members": len(members), "flip": True, **cost}],
          kind="speed", note=f"speed check; load average {os.getloadavg()[0]:.1f} when measured")


if __name__ == "__main__":
    main()
