"""--teacher-targets views: the teacher runs once on stored augmented views, the student's batches are drawn from them.

The teacher is an ensemble of the shipped FER model and a perturbed copy; the images are real FER-2013 faces.
"""

import copy
import json
import shutil

import pytest
import torch

from cnnlab.data import fer2013
from cnnlab.data.tensors import to_float
from cnnlab.distill.ensemble import Ensemble
from cnnlab.distill.views import ViewTargets, fingerprint, load_or_make
from cnnlab.runs import checkpoint_path, load_model
from conftest import FER, ROOT, cnnlab

AUGMENT = {"degrees": 10.0, "scale": 0.1, "crop_pad": 4, "flip": True, "erase": 0.5}


@pytest.fixture(scope="module")
def faces():
    data = fer2013.load(str(FER), "train")
    return data.images[:40]


@pytest.fixture(scope="module")
def teacher():
    """The shipped model and a copy with every weight scaled by 1.05, averaged over each face and its mirror."""
    shipped = load_model("fer2013-vgg")[0].eval()
    scaled = copy.deepcopy(shipped)
    with torch.no_grad():
        for p in scaled.parameters():
            p.mul_(1.05)
    return Ensemble([shipped, scaled], flip=True)


@pytest.mark.data
def test_each_row_gets_one_of_its_views_and_the_teachers_logits_of_that_view(faces, teacher):
    views = ViewTargets(teacher, faces, AUGMENT, views=3, seed=7, flip_invariant=True, batch_size=16,
                        precision="fp32")
    assert views.images.shape == (3, *faces.shape) and views.logits.shape == (3, len(faces), 7)
    assert views.computed == 3 * len(faces)
    # the views are augmented (no two alike, none the stored image) and stored unflipped: the flip comes later
    assert not torch.equal(views.images[0], views.images[1]) and not torch.equal(views.images[0], faces)
    assert views.flip_later and "flip" not in views.key["augment"]
    with torch.inference_mode():
        torch.testing.assert_close(views.logits[2, 5:9], teacher(to_float(views.images[2, 5:9])), atol=1e-5,
                                   rtol=1e-5)

    rows = torch.tensor([0, 5, 5, 39, 12, 20, 21, 22])
    x = views.augment_fn(rows, torch.Generator().manual_seed(1))
    z = views(x, rows)
    with torch.inference_mode():
        torch.testing.assert_close(z, teacher(x), atol=1e-4, rtol=1e-4)  # the logits of what the student sees
    for i, r in enumerate(rows.tolist()):  # each image is one of its row's views, or its mirror
        candidates = [to_float(views.images[v, r]) for v in range(3)]
        assert any(torch.equal(x[i], c) or torch.equal(x[i], c.flip(-1)) for c in candidates)
    with pytest.raises(RuntimeError, match="rows other than"):
        views(x, rows.flip(0))


@pytest.mark.data
def test_a_teacher_that_tells_a_mirror_apart_sees_the_flip_in_its_views(faces, teacher):
    single = Ensemble(list(teacher.members[:1]), flip=False)
    views = ViewTargets(single, faces, AUGMENT, views=2, seed=0, flip_invariant=False, batch_size=16,
                        precision="fp32")
    assert not views.flip_later and views.key["augment"]["flip"] is True
    rows = torch.arange(10)
    x = views.augment_fn(rows, torch.Generator().manual_seed(3))
    with torch.inference_mode():
        torch.testing.assert_close(views(x, rows), single(x), atol=1e-5, rtol=1e-5)


@pytest.mark.data
def test_stored_views_are_reused_only_when_made_the_same_way(tmp_path, faces, teacher):
    path = tmp_path / "teacher-views.pt"

    def make(model, seed=7):
        return lambda stored: ViewTargets(model, faces, AUGMENT, 2, seed, True, precision="fp32", stored=stored)
    first = load_or_make(path, make(teacher))
    assert first.computed and path.exists()
    again = load_or_make(path, make(teacher))
    assert again.computed == 0 and torch.equal(again.images, first.images) and torch.equal(again.logits, first.logits)
    assert load_or_make(path, make(teacher, seed=8)).computed  # another seed: made anew
    other = Ensemble([teacher.members[0]], flip=True)
    assert fingerprint(other) != fingerprint(teacher)
    assert load_or_make(path, make(other)).computed  # another teacher: made anew


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_student_on_teacher_views_through_the_cli(tmp_path):
    out, teacher = tmp_path / "student", tmp_path / "teacher.pt"
    shutil.copy(checkpoint_path("fer2013-vgg"), teacher)
    args = ["distill", "student", "--dataset", "fer2013", "--teacher", teacher, "--teacher-flip",
            "--teacher-targets", "views", "--teacher-views", 2, "--alpha", "0.3", "--tau", "2", "--data", FER,
            "--out", out, "--limit-train", 300, "--limit-test", 100, "--epochs", 1, "--width", 8]
    r = cnnlab(*args)
    assert "2 augmented views" in r.stderr and f"teacher views: saved to {out}" in r.stderr
    info = json.loads((out / "distill.json").read_text())
    assert info["teacher_targets"] == "views" and info["teacher_views"] == 2
    assert (out / "teacher-views.pt").exists() and (out / "metrics.json").exists()
    # a second start in the same folder is refused before the teacher's work; resuming with other views too
    r = cnnlab(*args, check=False)
    assert r.returncode == 2 and "already holds a run" in r.stderr and "augmented views" not in r.stderr
    r = cnnlab(*args[:10], 3, *args[11:], "--resume", check=False)
    assert r.returncode == 2 and "teacher_views" in r.stderr
    r = cnnlab(*args[:10], 0, *args[11:], check=False)
    assert r.returncode == 2 and "--teacher-views" in r.stderr
    # a new run with other epochs starts from the finished run's views, copied into its --out
    other = tmp_path / "student-2"
    other.mkdir()
    shutil.copy(out / "teacher-views.pt", other / "teacher-views.pt")
    again = [other if a == out else a for a in args]
    again[again.index("--epochs") + 1] = 2
    r = cnnlab(*again)
    assert f"teacher views: read from {other}" in r.stderr and "saved to" not in r.stderr
    # the teacher's file changed since (another model under the same name): a resume is refused
    assert len(info["teacher_sha256"]) == 1
    shutil.copy(ROOT / "models" / "fer2013-teachers" / "fer2013-teacher-s1.pt", teacher)
    r = cnnlab(*args, "--resume", check=False)
    assert r.returncode == 2 and "sha256 differ" in r.stderr and len(r.stderr.strip().splitlines()) == 1
