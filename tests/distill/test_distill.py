"""Knowledge distillation: kd_loss by hand, teacher weights and modes, cached teacher logits, and the whole
teacher -> sweep -> compare pipeline on a slice of the real ../shared/data/cifar10 (ResNet-18 teacher at 32×32,
a small CNN student, so that it runs in about a minute on a CPU)."""

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
import torchvision
from PIL import Image

from cnnlab.cli import main
from cnnlab.distill import kd_loss
from cnnlab.distill.student import TeacherLogits, load_teacher
from cnnlab.distill.teacher import freeze_backbone
from cnnlab.errors import DataError, UsageError
from cnnlab.models import registry, zoo
from conftest import CIFAR, cnnlab

ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # on a small, busy CPU two threads contend and run several times slower
SLICE = ["--data", CIFAR, "--limit-train", "160", "--limit-test", "64", "--batch-size", "64", "--quiet"]
STUDENT = ["--model", "cnn", "--width", "8", "--epochs", "1", "--no-augment"]
GRID = ["--alphas", "0.5,1", "--taus", "4"]


def run(*args, check=True):
    return cnnlab(*args, env=ONE_THREAD, check=check)


# ---------------------------------------------------------------------------------------------------------------
# kd_loss

def softmax(z, t=1.0):
    e = [math.exp(v / t) for v in z]
    return [v / sum(e) for v in e]


def by_hand(zs, zt, y, alpha, tau, t2):
    total = 0.0
    for s, t, k in zip(zs, zt, y):
        hard = -math.log(softmax(s)[k])
        soft = -sum(p * math.log(q) for p, q in zip(softmax(t, tau), softmax(s, tau)))
        total += alpha * hard + (1 - alpha) * soft * (tau ** 2 if t2 else 1.0)
    return total / len(y)


ZS = [[1.0, 2.0, 0.5, -1.0], [0.1, -1.0, 2.0, 0.3], [3.0, 0.0, 0.0, 1.0]]
ZT = [[2.0, 1.0, 0.0, -2.0], [0.0, 0.0, 3.0, 1.0], [0.5, 2.5, -1.0, 0.0]]
Y = [1, 2, 0]


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("tau", [1.0, 2.5, 8.0])
@pytest.mark.parametrize("t2", [False, True])
def test_kd_loss_matches_hand_computation(alpha, tau, t2):
    got = kd_loss(torch.tensor(ZS), torch.tensor(ZT), torch.tensor(Y), alpha, tau, t2_scale=t2)
    assert got.shape == () and abs(float(got) - by_hand(ZS, ZT, Y, alpha, tau, t2)) < 1e-5


def test_kd_loss_small_cases_and_gradient():
    z0 = torch.zeros(1, 2)
    y = torch.tensor([0])
    ln2 = math.log(2)
    assert abs(float(kd_loss(z0, z0, y, 0.5, 2.0)) - ln2) < 1e-6  # both terms are ln 2
    assert abs(float(kd_loss(z0, z0, y, 0.5, 2.0, t2_scale=True)) - 2.5 * ln2) < 1e-6  # 0.5 ln2 + 0.5 * 4 ln2
    labels_only = float(kd_loss(torch.tensor(ZS), None, torch.tensor(Y), 1.0, 3.0))
    assert labels_only == pytest.approx(by_hand(ZS, ZT, Y, 1, 3, False))
    # d(soft)/dz_s = (softmax(z_s/tau) - softmax(z_t/tau)) / (tau * N): why tau² scaling keeps the pull constant
    zs = torch.tensor(ZS, requires_grad=True)
    tau = 4.0
    kd_loss(zs, torch.tensor(ZT), torch.tensor(Y), 0.0, tau).backward()
    expected = (torch.softmax(torch.tensor(ZS) / tau, 1) - torch.softmax(torch.tensor(ZT) / tau, 1)) / (tau * 3)
    assert torch.allclose(zs.grad, expected, atol=1e-6)


@pytest.mark.parametrize("alpha,tau", [(-0.1, 2.0), (1.5, 2.0), (0.5, 0.0), (0.5, -1.0)])
def test_kd_loss_rejects_bad_alpha_and_tau(alpha, tau):
    with pytest.raises(UsageError, match="--alpha|--tau"):
        kd_loss(torch.zeros(1, 3), torch.zeros(1, 3), torch.tensor([0]), alpha, tau)


# ---------------------------------------------------------------------------------------------------------------
# models and weights

def test_weights_from_a_local_resnet50_file(tmp_path):
    torch.manual_seed(1)
    sd = {k: (v + torch.randn_like(v) if v.is_floating_point() else v)
          for k, v in torchvision.models.resnet50().state_dict().items()}  # random values, torchvision key names
    path = tmp_path / "resnet50.pth"
    torch.save(sd, path)
    model = registry.build("resnet50", 10, [3, 32, 32])
    assert zoo.load_weights(model, str(path)) == str(path.resolve())
    mine = model.net.state_dict()
    assert all(torch.equal(mine[k], v) for k, v in sd.items() if not k.startswith("fc."))
    assert mine["fc.weight"].shape == (10, 2048)  # a new 10-way final layer, not the file's 1000-way one
    torch.save({"model": {f"module.{k}": v for k, v in sd.items()}}, tmp_path / "wrapped.pt")  # DDP / checkpoint form
    zoo.load_weights(registry.build("resnet50", 10, [3, 32, 32]), str(tmp_path / "wrapped.pt"))


def test_weights_of_another_architecture_name_the_keys(tmp_path):
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    with pytest.raises(DataError) as e:
        zoo.load_weights(registry.build("resnet50", 10, [3, 32, 32]), str(tmp_path / "r18.pth"))
    msg = str(e.value)
    assert "not resnet50 weights" in msg and "layer1.0.conv3.weight" in msg and "other shapes" in msg
    assert "layer1.0.conv1.weight [64, 64, 3, 3] vs [64, 64, 1, 1]" in msg
    with pytest.raises(UsageError, match="no such file"):
        zoo.load_weights(registry.build("resnet18", 10, [3, 32, 32]), str(tmp_path / "missing.pth"))
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="not a readable"):
        zoo.load_weights(registry.build("resnet18", 10, [3, 32, 32]), str(tmp_path / "junk.pth"))


def test_linear_probe_mode_gives_gradients_to_the_head_only():
    model = registry.build("resnet18", 10, [3, 32, 32], image_size=40)
    freeze_backbone(model)
    model(torch.rand(4, 3, 32, 32)).logsumexp(1).sum().backward()
    with_grad = {n for n, p in model.named_parameters() if p.grad is not None}
    assert with_grad == {"net.fc.weight", "net.fc.bias"}
    assert all(not p.requires_grad for n, p in model.named_parameters() if not n.startswith("net.fc."))


def test_backbone_learning_rate_scale_and_cifar_stem():
    from cnnlab.engine.config import TrainConfig
    from cnnlab.engine.train import make_optimizer
    model = registry.build("resnet18", 10, [3, 32, 32], backbone_lr_scale=0.1)
    opt = make_optimizer(TrainConfig(lr=0.2, optimizer="sgd"), model)
    lr_of = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    assert lr_of[id(model.net.fc.weight)] == pytest.approx(0.2)
    assert lr_of[id(model.net.layer4[1].conv2.weight)] == pytest.approx(0.02)
    assert len(lr_of) == sum(1 for _ in model.parameters())
    sizes = {}
    for name in ("mobilenetv2", "mobilenetv2-cifar"):
        m = registry.build(name, 10, [3, 32, 32]).eval()
        sizes[name] = m.net.features(torch.rand(1, 3, 32, 32)).shape[-1]
    assert sizes == {"mobilenetv2": 1, "mobilenetv2-cifar": 4}  # stride 1 early keeps 4×4 at the end


def test_teacher_logits_are_cached_without_augmentation():
    teacher = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5))
    x = torch.rand(6, 3, 2, 2)
    direct = teacher(x).detach()
    cached = TeacherLogits(teacher, 5, cache=True)
    assert torch.allclose(cached(x[:4], torch.tensor([0, 1, 2, 3])), direct[:4], atol=1e-6)
    assert cached.computed == 4
    again = cached(x[[5, 1, 2, 4]], torch.tensor([5, 1, 2, 4]))  # rows 1, 2 known; 5, 4 new
    assert cached.computed == 6 and torch.allclose(again, direct[[5, 1, 2, 4]], atol=1e-6)
    cached(x[:4], torch.tensor([0, 1, 2, 3]))
    assert cached.computed == 6
    fresh = TeacherLogits(teacher, 5, cache=False)
    fresh(x, torch.arange(6))
    fresh(x, torch.arange(6))
    assert fresh.computed == 12
    out = fresh(x, torch.arange(6))
    z_s = torch.zeros(6, 5, requires_grad=True)
    kd_loss(z_s, out, torch.zeros(6, dtype=torch.long), 0.5, 2.0).backward()  # usable in the student's graph
    assert z_s.grad is not None


# ---------------------------------------------------------------------------------------------------------------
# The pipeline on a slice of the real CIFAR-10: teacher (probe, fine-tune) -> sweep -> compare

@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    torch.manual_seed(7)
    sd = {k: (v + 0.01 * torch.randn_like(v) if v.is_floating_point() and "running_var" not in k else v)
          for k, v in torchvision.models.resnet18().state_dict().items()}
    path = tmp_path_factory.mktemp("weights") / "resnet18-random.pth"
    torch.save(sd, path)
    return path, sd


@pytest.fixture(scope="module")
def pipeline(weights_file, tmp_path_factory):
    """`distill compare` from nothing: linear probe, fine-tuning (backbone at --backbone-lr-scale), the sweep with
    the tau²-scaled loss, the student without a teacher, the table. Then `distill sweep` on its own over the same
    folder: with --resume it reuses the finished runs and prints its table."""
    out = tmp_path_factory.mktemp("distill")
    w = str(weights_file[0])
    compare = run("distill", "compare", "--out", out, "--teacher-arch", "resnet18", "--weights", w,
                  "--image-size", "32", "--probe-epochs", "3", "--backbone-lr-scale", "0.2", "--t2-scale", *GRID,
                  *STUDENT, *SLICE)
    sweep = run("distill", "sweep", "--teacher", out / "teacher-finetune", *GRID, "--t2-scale", *STUDENT, "--out",
                out / "sweep", "--resume", *SLICE)
    return out, sweep.stdout, compare.stdout


@pytest.mark.data
@pytest.mark.slow
def test_linear_probe_run_folder_keeps_the_backbone(pipeline, weights_file, tmp_path, capsys):
    run_dir = pipeline[0] / "teacher-probe"
    for f in ("config.json", "history.csv", "best.pt", "last.pt", "metrics.json", "teacher.json",
              "plots/curves.png", "plots/confusion_matrix.png"):
        assert (run_dir / f).exists(), f
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["params_trainable"] == 512 * 10 + 10 and m["num_samples"] == 64 and m["feature_seconds"] > 0
    assert len((run_dir / "history.csv").read_text().strip().splitlines()) == 1 + 3
    best = torch.load(run_dir / "best.pt", weights_only=False)
    assert best["arch"] == "resnet18" and best["dataset"] == "cifar10" and best["model_kwargs"]["image_size"] == 32
    sd = weights_file[1]
    backbone = {k[len("net."):]: v for k, v in best["model"].items()
                if k.startswith("net.") and not k.startswith("net.fc.")}
    assert backbone.keys() == {k for k in sd if not k.startswith("fc.")}
    assert all(torch.equal(v, sd[k]) for k, v in backbone.items())  # frozen: exactly the file's weights
    assert best["model"]["net.fc.weight"].shape == (10, 512)
    # cnnlab eval works on the teacher's run folder like on any run
    from cnnlab.data import cifar10
    test = cifar10.load(CIFAR, "test")
    for i in range(4):
        folder = tmp_path / "imgs" / test.classes[int(test.labels[i])]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(test.images[i].permute(1, 2, 0).numpy()).save(folder / f"{i}.png")
    capsys.readouterr()
    assert main(["eval", str(run_dir), "--images", str(tmp_path / "imgs")]) == 0
    e = json.loads(capsys.readouterr().out)
    assert e["num_samples"] == 4 and e["classes"] == test.classes


@pytest.mark.data
@pytest.mark.slow
def test_finetune_trains_everything_with_a_lower_backbone_rate(pipeline, weights_file):
    run_dir = pipeline[0] / "teacher-finetune"
    info = json.loads((run_dir / "teacher.json").read_text())
    assert info["mode"] == "finetune" and info["backbone_lr_scale"] == 0.2  # --backbone-lr-scale
    last = torch.load(run_dir / "last.pt", weights_only=False)
    lrs = sorted({g["initial_lr"] for g in last["optimizer"]["param_groups"]})
    assert lrs == pytest.approx([0.002, 0.01])  # the FINETUNE recipe's lr 0.01, the backbone's 0.2 times that
    conv1 = last["model"]["net.conv1.weight"]
    assert not torch.equal(conv1, weights_file[1]["conv1.weight"])  # the backbone moved
    assert json.loads((run_dir / "metrics.json").read_text())["params_trainable"] == 11_181_642


@pytest.mark.data
@pytest.mark.slow
def test_sweep_outputs(pipeline):
    out, sweep_stdout, _ = pipeline
    s = json.loads((out / "sweep" / "sweep.json").read_text())
    assert [(r["alpha"], r["tau"]) for r in s["runs"]] == [(0.5, 4.0), (1.0, 4.0)]
    for r in s["runs"]:
        assert {"alpha", "tau", "val_accuracy", "accuracy", "f1_macro", "epochs", "seconds"} <= set(r)
        assert r["epochs"] == 1 and 0 <= r["val_accuracy"] <= 1
        m = json.loads((out / "sweep" / f"alpha{r['alpha']:g}-tau{r['tau']:g}" / "metrics.json").read_text())
        assert m["accuracy"] == r["accuracy"] and m["num_samples"] == 64
    # the choice reads validation accuracy, never test accuracy
    assert s["chosen_by"] == "val_accuracy"
    assert s["best"]["val_accuracy"] == max(r["val_accuracy"] for r in s["runs"])
    d = json.loads((out / "sweep" / "alpha0.5-tau4" / "distill.json").read_text())
    assert d["alpha"] == 0.5 and d["tau"] == 4.0 and d["teacher_logits_cached"] is True
    assert d["teacher"] == str(out / "teacher-finetune") and d["t2_scale"] is True and s["t2_scale"] is True
    md = (out / "sweep" / "sweep.md").read_text()
    assert "soft term scaled by tau²" in md
    assert "| alpha \\ tau | 4 |" in md and md.count(f"**{s['best']['val_accuracy']:.4f}**") == 1 and "(best)" in md
    assert md in sweep_stdout + "\n"
    assert (out / "sweep" / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.data
@pytest.mark.slow
def test_compare_table(pipeline):
    out, _, stdout = pipeline
    t = json.loads((out / "comparison.json").read_text())
    names = [m["model"] for m in t["models"]]
    assert names[0] == "teacher (linear probe)" and names[1] == "teacher (fine-tuned)"
    assert names[2].startswith("student, distilled") and names[3] == "student, no teacher"
    for m in t["models"]:
        assert 0 <= m["accuracy"] <= 1 and m["inference_images_per_second"] > 0 and m["params"] > 0
        assert {"precision_macro", "recall_macro", "train_seconds"} <= set(m)
    assert t["models"][2]["run"] == t["best"]["run"]  # same epochs: the sweep's best run is the student
    assert t["models"][3]["params"] == t["models"][2]["params"] < t["models"][1]["params"]
    assert (out / "student-no-teacher" / "distill.json").exists()
    assert json.loads((out / "student-no-teacher" / "distill.json").read_text())["teacher"] == "none"
    assert "| model | accuracy | macro precision | macro recall |" in stdout and "Why they differ" in stdout
    assert t["distilled_from"] == "finetune" and t["t2_scale"] is True
    assert stdout == (out / "comparison.md").read_text() + "\n"
    for m in t["models"]:  # the table carries each run's metrics.json
        metrics = json.loads((Path(m["run"]) / "metrics.json").read_text())
        assert (m["accuracy"], m["precision_macro"], m["params"]) == (metrics["accuracy"], metrics["precision_macro"],
                                                                      metrics["params_total"])
        assert f"| {m['model']} | {m['accuracy']:.4f} | {m['precision_macro']:.4f} |" in stdout


@pytest.mark.data
@pytest.mark.slow
def test_compare_distilled_from_the_probe_with_shorter_sweeps(pipeline, weights_file, tmp_path):
    """--distill-from linear-probe and --sweep-epochs below --epochs: the sweep learns from the probe, then the
    best pair is trained again for --epochs as the distilled student. Finished teachers are reused (--resume)."""
    out = tmp_path / "compare"
    for stage in ("teacher-probe", "teacher-finetune"):
        shutil.copytree(pipeline[0] / stage, out / stage)
    stamps = {stage: (out / stage / "metrics.json").stat().st_mtime_ns
              for stage in ("teacher-probe", "teacher-finetune")}
    student = [a if a != "1" else "2" for a in STUDENT]  # --epochs 2
    assert student != STUDENT
    r = run("distill", "compare", "--out", out, "--resume", "--teacher-arch", "resnet18", "--weights", weights_file[0],
            "--image-size", "32", "--probe-epochs", "3", "--distill-from", "linear-probe", "--sweep-epochs", "1",
            "--alphas", "0.5", "--taus", "2", *student, *SLICE)
    assert {stage: (out / stage / "metrics.json").stat().st_mtime_ns for stage in stamps} == stamps  # not retrained
    probe = str(out / "teacher-probe")
    sweep = json.loads((out / "sweep" / "sweep.json").read_text())
    assert sweep["teacher"] == probe and sweep["epochs"] == 1 and sweep["t2_scale"] is False
    assert json.loads((out / "sweep" / "alpha0.5-tau2" / "distill.json").read_text())["teacher"] == probe
    d = json.loads((out / "student" / "distill.json").read_text())
    assert (d["teacher"], d["alpha"], d["tau"]) == (probe, 0.5, 2.0)
    epochs = {name: len((out / name / "history.csv").read_text().strip().splitlines()) - 1
              for name in ("sweep/alpha0.5-tau2", "student", "student-no-teacher")}
    assert epochs == {"sweep/alpha0.5-tau2": 1, "student": 2, "student-no-teacher": 2}
    t = json.loads((out / "comparison.json").read_text())
    assert t["distilled_from"] == "linear-probe" and t["epochs"] == 2
    assert t["models"][2]["run"] == str(out / "student") and t["models"][2]["epochs"] == 2
    assert "student, distilled (alpha 0.5, tau 2)" == t["models"][2]["model"]
    assert r.stdout == (out / "comparison.md").read_text() + "\n"


@pytest.mark.data
@pytest.mark.slow
def test_compare_resume_refuses_a_sweep_made_with_other_settings(pipeline, weights_file, tmp_path):
    """--resume over a folder whose sweep learnt from the fine-tuned teacher, with the tau²-scaled loss: asking for
    the probe as teacher, or for the loss without tau², must not reuse that sweep (its table would be wrong)."""
    out = tmp_path / "again"
    for stage in ("teacher-probe", "teacher-finetune", "sweep"):
        shutil.copytree(pipeline[0] / stage, out / stage)
    common = ["distill", "compare", "--out", out, "--resume", "--teacher-arch", "resnet18", "--weights",
              weights_file[0], "--image-size", "32", "--probe-epochs", "3", *GRID, *STUDENT, *SLICE]
    for other, said in ((["--distill-from", "linear-probe", "--t2-scale"], "teacher="), ([], "t2_scale=")):
        r = run(*common, *other, check=False)
        assert r.returncode == 2 and r.stderr.startswith("error: --resume: ") and said in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1 and not (out / "comparison.json").exists()


@pytest.mark.data
@pytest.mark.slow
def test_sweep_resume_refuses_finished_runs_of_a_changed_teacher(pipeline, tmp_path):
    """`distill sweep --resume` reuses a finished (alpha, tau) run only if the teacher's files are the ones it was
    trained against: after the teacher folder is trained again (here: another model's weights copied in), one line
    and exit 2, and nothing is retrained or rewritten."""
    teacher = tmp_path / "teacher"
    shutil.copytree(pipeline[0] / "teacher-finetune", teacher)
    args = ["distill", "sweep", "--teacher", teacher, "--alphas", "0.5", "--taus", "4", *STUDENT, "--out",
            tmp_path / "sweep", *SLICE]
    run(*args)
    metrics = tmp_path / "sweep" / "alpha0.5-tau4" / "metrics.json"
    stamp = metrics.stat().st_mtime_ns
    assert len(json.loads(metrics.with_name("distill.json").read_text())["teacher_sha256"]) == 1
    run(*args, "--resume")  # the same teacher: reused
    assert metrics.stat().st_mtime_ns == stamp
    for f in ("best.pt", "last.pt"):
        shutil.copy(pipeline[0] / "teacher-probe" / f, teacher / f)
    r = run(*args, "--resume", check=False)
    assert r.returncode == 2 and "sha256 differ" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert metrics.stat().st_mtime_ns == stamp


@pytest.mark.data
@pytest.mark.slow
def test_bad_teacher_and_options_are_refused(pipeline, tmp_path, capsys):
    """Through the real command line, in this process (these fail before any training)."""
    def fails(*argv):
        code = main([str(a) for a in argv])
        return code, capsys.readouterr().err

    classes = [f"c{i}" for i in range(10)]
    cnn = registry.build("cnn", 62, [1, 28, 28])
    torch.save({"model": cnn.state_dict(), "arch": "cnn", "num_classes": 62, "classes": [str(i) for i in range(62)],
                "input_shape": [1, 28, 28], "dataset": "emnist", "model_kwargs": {}}, tmp_path / "emnist.pt")
    code, err = fails("distill", "student", "--teacher", tmp_path / "emnist.pt", "--out", tmp_path / "s", *SLICE)
    assert code == 2 and "emnist model" in err and "cifar10" in err and not (tmp_path / "s").exists()
    teacher = pipeline[0] / "teacher-probe"
    with pytest.raises(UsageError, match="classes"):
        load_teacher(str(teacher), "cifar10", classes, [3, 32, 32])
    five = registry.build("resnet18", 5, [3, 32, 32])
    torch.save({"model": five.state_dict(), "arch": "resnet18", "num_classes": 5, "classes": classes[:5],
                "input_shape": [3, 32, 32], "dataset": "cifar10", "model_kwargs": {}}, tmp_path / "five.pt")
    with pytest.raises(UsageError, match="5 classes"):
        load_teacher(str(tmp_path / "five.pt"), "cifar10", classes, [3, 32, 32])
    code, err = fails("distill", "student", "--teacher", teacher, "--alpha", "1.5", "--out", tmp_path / "a", *SLICE)
    assert code == 2 and err.startswith("error: --alpha must be in [0, 1]")
    code, err = fails("distill", "sweep", "--teacher", teacher, "--taus", "2,0", "--out", tmp_path / "w", *SLICE)
    assert code == 2 and "--tau must be positive" in err
    code, err = fails("distill", "teacher", "--weights", tmp_path / "emnist.pt", "--arch", "resnet18", "--out",
                      tmp_path / "t", *SLICE)
    assert code == 2 and "not resnet18 weights" in err and "missing keys: bn1.bias" in err and "unexpected keys" in err
    for command, said in (("teacher", "a teacher starts from --weights"), ("compare", "fine-tune one student")):
        code, err = fails("distill", command, "--init", teacher, "--out", tmp_path / command, *SLICE)
        assert code == 2 and said in err and err.count("\n") == 1 and not (tmp_path / command).exists(), err


@pytest.mark.data
@pytest.mark.slow
def test_distilled_student_under_torchrun(pipeline, tmp_path):
    import os
    import subprocess
    import sys

    from conftest import ROOT
    run_dir = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **ONE_THREAD}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                        "-m", "cnnlab", "distill", "student", "--teacher", str(pipeline[0] / "teacher-finetune"),
                        "--alpha", "0.5", "--tau", "2", "--device", "cpu", "--out", str(run_dir),
                        *map(str, STUDENT), *map(str, SLICE)], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((run_dir / "config.json").read_text())["world_size"] == 2
    assert json.loads((run_dir / "distill.json").read_text())["alpha"] == 0.5
    assert json.loads((run_dir / "metrics.json").read_text())["num_samples"] == 64


def test_linear_probe_features_follow_the_runs_precision():
    """The probe's frozen features are computed under the run's --precision, as the student's teacher is."""
    from cnnlab.distill.teacher import frozen_features
    from cnnlab.engine.evaluate import autocast
    torch.manual_seed(0)
    model = torch.nn.Module()
    model.features = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten())
    images = torch.randint(0, 256, (10, 3, 8, 8), dtype=torch.uint8)
    x = images.float().div(255).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        fp32 = model.features(x)
        with autocast(torch.device("cpu"), "bf16"):
            bf16 = model.features(x).float()
    assert (bf16 - fp32).abs().max() > 1e-4
    cpu = torch.device("cpu")
    torch.testing.assert_close(frozen_features(model, images, cpu, 4, quiet=True, precision="bf16"), bf16)
    torch.testing.assert_close(frozen_features(model, images, cpu, 4, quiet=True, precision="fp32"), fp32)
