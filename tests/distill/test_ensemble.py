"""Distillation on FER-2013: an ensemble of FER models teaches a student (issue 24).

The members are the shipped model and copies of it with perturbed weights (distinct models, real outputs); the
images are real FER-2013 training faces.
"""

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from cnnlab.data import fer2013
from cnnlab.distill import kd_loss
from cnnlab.distill.ensemble import CleanTargets, Ensemble
from cnnlab.distill.student import TeacherLogits, make_loss
from cnnlab.runs import load_model
from conftest import FER, ROOT, cnnlab


@pytest.fixture(scope="module")
def faces():
    """64 real training faces (uint8 [64, 1, 48, 48]) and their labels."""
    data = fer2013.load(str(FER), "train")
    rows = torch.arange(0, len(data), len(data) // 64)[:64]
    return data.images[rows], data.labels[rows]


@pytest.fixture(scope="module")
def members():
    """Three different FER models: the shipped one and two with noise added to every weight."""
    out = []
    for k in range(3):
        model, _ = load_model("fer2013-vgg")
        if k:
            g = torch.Generator().manual_seed(k)
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(torch.randn(p.shape, generator=g) * 0.05 * p.abs().mean())
        out.append(model.eval())
    return out


@pytest.mark.data
def test_ensemble_is_the_average_of_its_members_probabilities_with_flip(faces, members):
    x = faces[0].float() / 255
    with torch.no_grad():
        by_hand = sum(F.softmax(m(v), 1) for m in members for v in (x, x.flip(-1))) / 6
        ensemble = Ensemble(members, flip=True)
        probs = F.softmax(ensemble(x), 1)
        single = [F.softmax(m(x), 1) for m in members]
    torch.testing.assert_close(probs, by_hand, atol=1e-6, rtol=1e-5)
    # the members differ, so the ensemble is none of them
    assert all((probs - s).abs().max() > 1e-3 for s in single)
    # and a mirrored face gets the same probabilities from the flip-averaged ensemble
    with torch.no_grad():
        torch.testing.assert_close(F.softmax(ensemble(x.flip(-1)), 1), probs, atol=1e-5, rtol=1e-4)
    # without flip, one member is that member
    with torch.no_grad():
        torch.testing.assert_close(F.softmax(Ensemble(members[:1], flip=False)(x), 1), single[0], atol=1e-6, rtol=1e-5)


@pytest.mark.data
def test_cached_clean_targets_give_the_loss_of_the_teacher_run_on_each_batch(faces, members):
    images, labels = faces
    ensemble = Ensemble(members, flip=True)
    cached = CleanTargets(ensemble, images, batch_size=24, precision="fp32")
    live = TeacherLogits(ensemble, 7, cache=False)
    rows = torch.tensor([5, 17, 3, 40, 63, 0, 22])
    x = images[rows].float() / 255
    student = torch.randn(len(rows), 7, requires_grad=True)
    w = torch.rand(7) + 0.5
    for alpha, tau, t2 in [(0.5, 4.0, False), (0.1, 2.0, True), (0.0, 1.0, False)]:
        a = make_loss(cached, alpha, tau, t2, w)(student, labels[rows], x, rows)
        b = make_loss(live, alpha, tau, t2, w)(student, labels[rows], x, rows)
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
        assert a.item() == pytest.approx(kd_loss(student, live(x, rows), labels[rows], alpha, tau, t2, w).item(),
                                         rel=1e-5)
    assert cached.computed == len(images)
    # an augmented view looks its row up: the teacher does not run again
    assert torch.equal(cached(torch.zeros_like(x), rows), cached.store[rows])


def test_hard_term_takes_the_recipes_class_weights():
    z, y = torch.randn(9, 7), torch.randint(0, 7, (9,))
    w = torch.rand(7) + 0.1
    assert kd_loss(z, None, y, 1.0, 1.0, weight=w).item() == pytest.approx(F.cross_entropy(z, y, weight=w).item())
    assert kd_loss(z, None, y, 1.0, 1.0).item() == pytest.approx(F.cross_entropy(z, y).item())


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_student_of_an_ensemble_on_fer2013_through_the_cli(tmp_path):
    out = tmp_path / "student"
    args = ["distill", "student", "--dataset", "fer2013", "--teacher", "fer2013-vgg,fer2013-vgg", "--teacher-flip",
            "--teacher-targets", "clean", "--alpha", "0.3", "--tau", "2", "--data", FER, "--out", out,
            "--limit-train", 300, "--limit-test", 100, "--epochs", 1, "--width", 8]
    cnnlab(*args)
    info = json.loads((out / "distill.json").read_text())
    assert info["teacher"] == "fer2013-vgg,fer2013-vgg" and info["teacher_flip"] is True
    assert info["teacher_targets"] == "clean" and info["alpha"] == 0.3 and info["tau"] == 2.0
    assert info["hard_term_class_weights"] == "sqrt"  # the fer2013 cpu recipe's, used by the hard term
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["dataset"] == "fer2013" and cfg["model"] == "fer-vgg" and cfg["recipe"] == "cpu"
    assert json.loads((out / "metrics.json").read_text())["num_samples"] == 100
    # a resume with another way of computing the teacher's targets is refused
    r = cnnlab(*args[:8], "augmented", *args[9:], "--resume", check=False)
    assert r.returncode == 2 and "teacher_targets" in r.stderr
    r = cnnlab(*args[:3], "mnist", *args[4:], check=False)
    assert r.returncode == 2 and "--dataset" in r.stderr
    # shipped, its model card says who taught it
    ship = subprocess.run([sys.executable, str(ROOT / "scripts" / "ship_model.py"), out, "kd-test", "--command", "x",
                           "--data", FER.parent, "--to", tmp_path / "shipped"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert ship.returncode == 0, ship.stderr
    card = json.loads((tmp_path / "shipped" / "kd-test.json").read_text())
    assert card["teacher"]["models"] == ["fer2013-vgg", "fer2013-vgg"] and "mirror" in card["teacher"]["ensemble"]
    assert (card["teacher"]["alpha"], card["teacher"]["tau"], card["teacher"]["teacher_targets"]) == (0.3, 2.0, "clean")


@pytest.mark.data
def test_the_teacher_on_augmented_batches_runs_in_the_students_precision(faces, members):
    """--teacher-targets augmented: the teacher runs under the run's precision (bf16 where the student trains in
    bf16), as the clean targets do; it once ran in fp32 whatever the run said, at several times the cost."""
    from cnnlab.distill.student import teacher_logits
    from cnnlab.engine.config import TrainConfig
    from cnnlab.engine.evaluate import autocast
    images, _ = faces
    x = images[:16].float() / 255
    ensemble = Ensemble(members, flip=True)
    with torch.inference_mode():
        fp32 = ensemble(x)
        with autocast(x.device, "bf16"):
            bf16 = ensemble(x).float()
    assert (bf16 - fp32).abs().max() > 1e-4  # the two precisions are told apart on these faces
    live = TeacherLogits(ensemble, 7, cache=False, precision="bf16")
    torch.testing.assert_close(live(x, torch.arange(16)), bf16, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(TeacherLogits(ensemble, 7, cache=False, precision="fp32")(x, torch.arange(16)), fp32)
    # and the run's precision reaches it from the config
    cfg = TrainConfig(dataset="fer2013", data=str(FER), precision="bf16", augment={"flip": True})
    assert teacher_logits(cfg, "fer2013-vgg", flip=True).precision == "bf16"
