"""The training engine on the real EMNIST sample shipped in the package (written out as idx files)."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT, cnnlab

SMALL = ["--limit-train", "1500", "--limit-test", "400", "--batch-size", "128", "--quiet"]


def history(run):
    with open(run / "history.csv") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def cnn_run(emnist_sample, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "cnn"
    cnnlab("train", "emnist", "--data", emnist_sample, "--out", run, "--model", "cnn", "--epochs", "2", *SMALL)
    return run


def test_run_folder_contract(cnn_run):
    for f in ("config.json", "history.csv", "best.pt", "last.pt", "metrics.json", "plots/curves.png",
              "plots/confusion_matrix.png"):
        assert (cnn_run / f).exists(), f
    assert any((cnn_run / "tb").iterdir())
    rows = history(cnn_run)
    assert list(rows[0]) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr",
                             "seconds"]
    assert len(rows) == 2
    m = json.loads((cnn_run / "metrics.json").read_text())
    assert m["split"] == "test" and m["num_samples"] == 400 and len(m["classes"]) == 62
    assert np.asarray(m["confusion_matrix"]).sum() == 400
    assert abs(np.trace(np.asarray(m["confusion_matrix"])) / 400 - m["accuracy"]) < 1e-6
    assert m["accuracy"] > 0.3  # 2 epochs on 1,350 images of 62 classes: far above chance (1.6%)
    best = torch.load(cnn_run / "best.pt", weights_only=False)
    assert {"model", "arch", "num_classes", "classes", "input_shape", "config"} <= set(best)
    # best.pt is the epoch with the best validation accuracy
    val = [float(r["val_acc"]) for r in rows]
    assert m["best_epoch"] == 1 + int(np.argmax(val))
    cfg = json.loads((cnn_run / "config.json").read_text())
    assert cfg["seed"] == 0 and cfg["environment"]["torch"] == torch.__version__


def test_tensorboard_scalars(cnn_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(cnn_run / "tb"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"loss/train", "loss/test", "accuracy/train", "accuracy/test", "loss/val", "accuracy/val"} <= tags
    assert len(acc.Scalars("loss/train")) == 2


def test_refuses_to_overwrite_a_run(cnn_run, emnist_sample):
    before = (cnn_run / "best.pt").read_bytes()
    r = cnnlab("train", "emnist", "--data", emnist_sample, "--out", cnn_run, "--epochs", "1", *SMALL, check=False)
    assert r.returncode == 2 and "--resume" in r.stderr
    assert (cnn_run / "best.pt").read_bytes() == before


def test_resume_after_interruption_matches_uninterrupted_run(emnist_sample, tmp_path):
    common = ["train", "emnist", "--data", emnist_sample, "--model", "cnn", "--epochs", "2", "--checkpoint-steps", "3",
              *SMALL]
    cnnlab(*common, "--out", tmp_path / "full")
    cnnlab(*common, "--out", tmp_path / "cut", "--max-steps", "5")  # stops mid-epoch 1 (11 steps an epoch)
    state = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)
    assert (state["epoch"], state["step"], state["global_step"]) == (0, 5, 5)
    assert not (tmp_path / "cut" / "metrics.json").exists()
    cnnlab(*common, "--out", tmp_path / "cut", "--resume")
    full, cut = history(tmp_path / "full"), history(tmp_path / "cut")
    for a, b in zip(full, cut):
        for k in ("train_loss", "train_acc", "val_acc", "test_acc"):
            assert abs(float(a[k]) - float(b[k])) < 1e-4, (k, a[k], b[k])
    wa = torch.load(tmp_path / "full" / "last.pt", weights_only=False)["model"]
    wb = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)["model"]
    assert all(torch.allclose(wa[k].float(), wb[k].float(), atol=1e-5) for k in wa)


def test_resume_with_other_settings_is_refused(emnist_sample, tmp_path):
    cnnlab("train", "emnist", "--data", emnist_sample, "--out", tmp_path / "r", "--epochs", "1", "--max-steps", "2", *SMALL)
    r = cnnlab("train", "emnist", "--data", emnist_sample, "--out", tmp_path / "r", "--epochs", "1", "--model", "mlp",
               "--resume", *SMALL, check=False)
    assert r.returncode == 2 and "model='cnn'" in r.stderr


def test_nan_loss_stops_with_exit_1_and_keeps_last_good_state(emnist_sample, tmp_path):
    """A resumed run that goes NaN stops with exit 1 and one line, and leaves its own last.pt as it was: the state
    after the last step with a finite loss (SGD at lr 1e30: the first step's loss is finite, the second's is not)."""
    run = tmp_path / "nan"
    blowup = ["train", "emnist", "--data", emnist_sample, "--out", run, "--model", "mlp", "--epochs", "1",
              "--optimizer", "sgd", "--lr", "1e30", "--checkpoint-steps", "1", *SMALL]
    cnnlab(*blowup, "--max-steps", "1")
    good = (run / "last.pt").read_bytes()
    state = torch.load(run / "last.pt", weights_only=False)
    assert state["global_step"] == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    r = cnnlab(*[a for a in blowup if a != "--quiet"], "--resume", check=False)  # not quiet: it says it resumed
    assert r.returncode == 1, r.stderr[-2000:]
    assert f"resumed from {run / 'last.pt'}: epoch 1, step 1" in r.stderr, r.stderr[-2000:]
    assert r.stderr.count("error:") == 1
    # one line (it follows the progress bar, which is not closed first; the bar's clean-up at exit is blank)
    error, *rest = r.stderr[r.stderr.index("error:"):].splitlines()
    assert error.startswith("error: loss became") and "--lr" in error and not "".join(rest).strip(), error
    assert f"{run / 'last.pt'} holds the last good state" in error
    assert (run / "last.pt").read_bytes() == good  # not overwritten by the run that went NaN
    assert not (run / "metrics.json").exists() and not (run / "best.pt").exists()


def test_eval_data_and_images_and_predict(cnn_run, emnist_sample, tmp_path):
    # --data: only the test split needs to be there
    only_test = tmp_path / "only-test"
    only_test.mkdir()
    for f in emnist_sample.iterdir():
        if "train" not in f.name:
            (only_test / f.name).symlink_to(f)
    m = json.loads(cnnlab("eval", cnn_run, "--data", only_test, "--split", "test").stdout)
    assert m["num_samples"] == 2000 and 0 < m["accuracy"] <= 1 and m["split"] == "test"
    # --images: a folder of <class>/<image>
    from cnnlab.data.emnist import load_sample
    t = load_sample("test")
    for i in range(30):
        d = tmp_path / "imgs" / t.classes[int(t.labels[i])]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(t.images[i, 0].numpy()).save(d / f"{i}.png")
    m = json.loads(cnnlab("eval", cnn_run, "--images", tmp_path / "imgs").stdout)
    assert m["num_samples"] == 30 and m["split"] == "images"
    lines = cnnlab("predict", cnn_run, *sorted((tmp_path / "imgs").rglob("*.png"))[:3]).stdout.splitlines()
    assert len(lines) == 3
    p = json.loads(lines[0])
    assert p["class"] in t.classes and abs(sum(p["probabilities"].values()) - 1) < 1e-3


def test_eval_rejects_wrong_class_folder_and_other_models_checkpoint(cnn_run, tmp_path):
    (tmp_path / "imgs" / "not-a-class").mkdir(parents=True)
    r = cnnlab("eval", cnn_run, "--images", tmp_path / "imgs", check=False)
    assert r.returncode == 2 and "not-a-class" in r.stderr
    ckpt = torch.load(cnn_run / "best.pt", weights_only=False)
    ckpt["arch"] = "cnn-factorized"  # weights of a cnn under another model's name
    torch.save(ckpt, tmp_path / "other.pt")
    r = cnnlab("eval", tmp_path / "other.pt", "--images", tmp_path / "imgs", check=False)
    assert r.returncode == 2 and "do not fit model 'cnn-factorized'" in r.stderr


def test_ddp_two_cpu_processes(emnist_sample, tmp_path):
    run = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    # --standalone: torchrun's own rendezvous store on a port the OS picks and keeps (no port found and let go)
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m",
                        "cnnlab", "train", "emnist", "--data", str(emnist_sample), "--out", str(run), "--model", "mlp",
                        "--epochs", "2", "--device", "cpu", *SMALL],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["world_size"] == 2
    rows = history(run)
    assert len(rows) == 2 and float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    m = json.loads((run / "metrics.json").read_text())
    assert m["num_samples"] == 400 and m["accuracy"] > 0.2
