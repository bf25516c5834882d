"""benchmarks/ablation/fer_distill.py: what a row says of a shipped model (its teacher and the machine it trained
on, from the card beside the .pt) and the paired standard error of a difference of two accuracies."""

import json
import math

import torch

from benchmarks.ablation.fer_distill import describe, difference, paired_se


def test_describe_reads_the_card_beside_a_shipped_model(tmp_path):
    pt = tmp_path / "student.pt"
    pt.write_bytes(b"")
    card = {"training": {"machine": "NVIDIA H200"},
            "teacher": {"models": ["a.pt", "b.pt"], "alpha": 0.1, "tau": 2.0, "t2_scale": False,
                        "teacher_targets": "views", "teacher_views": 8}}
    pt.with_suffix(".json").write_text(json.dumps(card))
    row = describe(str(pt), {"config": {"epochs": 140, "seed": 3}})
    assert row == {"model": str(pt), "epochs": 140, "seed": 3, "trained_on": "NVIDIA H200", "teacher": "a.pt,b.pt",
                   "alpha": 0.1, "tau": 2.0, "t2_scale": False, "teacher_targets": "views", "teacher_views": 8}


def test_describe_of_a_model_without_a_card_names_no_machine_or_teacher(tmp_path):
    row = describe(str(tmp_path / "alone.pt"), {"config": {"epochs": 80, "seed": 1}})
    assert row == {"model": str(tmp_path / "alone.pt"), "epochs": 80, "seed": 1}


def test_paired_se_and_difference():
    a = torch.tensor([True, True, False, True, False, True])   # 4 of 6 right
    b = torch.tensor([True, False, True, True, False, False])  # 3 of 6 right; only a: 2 faces, only b: 1
    assert paired_se(a, b) == math.sqrt(2 + 1 - (2 - 1) ** 2 / 6) / 6
    assert paired_se(a, a) == 0.0
    row = difference("A", "B", {("A", "val"): a, ("B", "val"): b, ("A", "test"): b, ("B", "test"): a})
    assert row["val_accuracy"] == round(1 / 6, 4) and row["test_accuracy"] == round(-1 / 6, 4)
    assert row["val_paired_se"] == row["test_paired_se"] == round(paired_se(a, b), 4)
