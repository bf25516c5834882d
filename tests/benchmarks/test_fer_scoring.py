"""benchmarks/fer_scoring.py: the shifted views and the probabilities averaged over them, what a row says of a
shipped model (its teacher and the machine it trained on, from the card beside the .pt) and the paired standard
error of a difference of two accuracies."""

import json
import math

import torch

from benchmarks.fer_scoring import FLIP, describe, difference, paired_se, probabilities, shifted


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


def test_shifted_moves_the_image_and_repeats_the_border():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert torch.equal(shifted(x, 0, 0), x)
    down_right = shifted(x, 1, 2)
    assert torch.equal(down_right[..., 1:, 2:], x[..., :3, :2])  # content moved by (1, 2)
    assert torch.equal(down_right[..., 0, 2:], x[..., 0, :2])  # the top row repeated into the gap
    assert torch.equal(down_right[..., 1:, 0], x[..., :3, 0])  # the left column repeated into the gap
    assert torch.equal(shifted(shifted(x, 0, -1), 0, 1)[..., 1:], x[..., 1:])  # left, then right: all but column 0


def test_probabilities_average_the_softmax_of_every_view():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3)).eval()
    images = torch.randint(0, 256, (5, 1, 8, 8), dtype=torch.uint8)
    views = [(0, 0, False), (0, 0, True), (1, -1, True)]
    x = images.float() / 255
    want = sum(model(shifted(x.flip(-1) if f else x, dy, dx)).softmax(1) for dy, dx, f in views) / 3
    got = probabilities(model, images, views)
    assert torch.allclose(got, want, atol=1e-6)
    assert torch.allclose(got.sum(1), torch.ones(5))


def test_the_flip_average_is_the_mean_of_the_face_and_its_mirror_in_either_memory_format():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.Linear(144, 7)).eval()
    images = torch.randint(0, 256, (600, 1, 8, 8), dtype=torch.uint8)  # more than one batch of 512
    x = images.float() / 255
    want = (model(x).softmax(1) + model(x.flip(-1)).softmax(1)) / 2
    assert torch.allclose(probabilities(model, images, FLIP), want, atol=1e-6)
    assert torch.allclose(probabilities(model, images, FLIP, channels_last=True), want, atol=1e-6)
