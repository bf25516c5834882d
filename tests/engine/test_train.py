"""The training engine on the real EMNIST sample shipped in the package (written out as idx files)."""

import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from conftest import ROOT, cnnlab, wait_until

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


DESCRIPTION = {"arch", "num_classes", "classes", "input_shape", "model_kwargs", "dataset", "config"}
RUN_CHECKPOINTS = {  # the keys of best.pt and last.pt, of train() and of the teacher's linear probe
    "train": ({"model", *DESCRIPTION, "tta", "epoch", "val_acc"},
              {"model", *DESCRIPTION, "tta", "ema", "optimizer", "scheduler", "epoch", "step", "global_step", "history",
               "best", "stats", "rng"}),
    "probe": ({"model", *DESCRIPTION, "epoch", "val_acc"},
              {"model", *DESCRIPTION, "optimizer", "epoch", "step", "history", "best"})}


def test_train_and_the_linear_probe_write_the_files_runfolder_names(cnn_run, emnist_sample, tmp_path):
    """The run folder of train() and that of the linear probe (ResNet-18 on random weights, on gray EMNIST at
    32x32): the files RunFolder names, and checkpoints with the same keys as before RunFolder wrote them."""
    import dataclasses

    from cnnlab.distill.teacher import linear_probe, model_kwargs
    from cnnlab.engine.config import TrainConfig
    from cnnlab.engine.runfolder import RunFolder
    cfg = TrainConfig(dataset="emnist", data=str(emnist_sample), model="resnet18", epochs=2, batch_size=64,
                      limit_train=300, limit_test=100, out=str(tmp_path / "probe"), device="cpu", quiet=True)
    linear_probe(dataclasses.replace(cfg, model_kwargs=model_kwargs(cfg, 32)), weights="none")
    for kind, path in (("train", cnn_run), ("probe", tmp_path / "probe")):
        run = RunFolder(path)
        for f in (run.config, run.history, run.metrics, run.last, run.best, run.curves, run.confusion):
            assert f.is_file(), f
        assert run.holds_run() and any(run.tb.iterdir())
        assert list(history(path)[0]) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss",
                                          "test_acc", "lr", "seconds"]
        best, last = (set(torch.load(f, weights_only=False)) for f in (run.best, run.last))
        assert (best, last) == RUN_CHECKPOINTS[kind], kind
        assert {"accuracy", "best_epoch", "train_seconds"} <= set(json.loads(run.metrics.read_text()))


def test_resume_refuses_a_checkpoint_missing_a_key(cnn_run, tmp_path):
    from cnnlab.engine.runfolder import RunFolder
    from cnnlab.errors import DataError, UsageError
    state = torch.load(cnn_run / "last.pt", weights_only=False)
    run = RunFolder(tmp_path)
    assert not run.holds_run() and run.prepare(resume=False) is None
    for key in ("scheduler", "rng", "arch"):  # a state of the loop, and what rebuilds the model
        torch.save({k: v for k, v in state.items() if k != key}, run.last)
        with pytest.raises(DataError, match=f"missing .*'{key}'"):
            run.prepare(resume=True, settings={"model": "cnn"})
    torch.save(state, run.last)
    assert run.prepare(resume=True, settings={"model": "cnn"})["epoch"] == 2
    with pytest.raises(UsageError, match="model='cnn'"):
        run.prepare(resume=True, settings={"model": "mlp"})
    with pytest.raises(UsageError, match="already holds a run"):
        run.prepare(resume=False)


RESUMABLE = ["train", "emnist", "--model", "cnn", "--epochs", "2", *SMALL]


@pytest.fixture(scope="module")
def uninterrupted(emnist_sample, tmp_path_factory):
    run = tmp_path_factory.mktemp("full") / "run"
    cnnlab(*RESUMABLE, "--data", emnist_sample, "--out", run)
    return run


def assert_same_run(a, b):
    for x, y in zip(history(a), history(b), strict=True):
        for k in ("train_loss", "train_acc", "val_acc", "test_acc"):
            assert abs(float(x[k]) - float(y[k])) < 1e-4, (k, x[k], y[k])
    wa = torch.load(a / "last.pt", weights_only=False)["model"]
    wb = torch.load(b / "last.pt", weights_only=False)["model"]
    assert all(torch.allclose(wa[k].float(), wb[k].float(), atol=1e-5) for k in wa)
    assert json.loads((a / "metrics.json").read_text())["accuracy"] == pytest.approx(
        json.loads((b / "metrics.json").read_text())["accuracy"], abs=1e-9)


@pytest.mark.slow
def test_resume_after_max_steps_matches_uninterrupted_run(uninterrupted, emnist_sample, tmp_path):
    common = [*RESUMABLE, "--data", emnist_sample, "--out", tmp_path / "cut", "--checkpoint-steps", "3"]
    cnnlab(*common, "--max-steps", "5")  # stops mid-epoch 1 (11 steps an epoch)
    state = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)
    assert (state["epoch"], state["step"], state["global_step"]) == (0, 5, 5)
    assert not (tmp_path / "cut" / "metrics.json").exists()
    cnnlab(*common, "--resume")
    assert_same_run(uninterrupted, tmp_path / "cut")


def interrupt(args, run, sig, after_mtime=None):
    """Start `cnnlab ARGS`, send `sig` as soon as it has written a new run/last.pt (so the signal lands inside the
    training loop), and return its exit code and stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    p = subprocess.Popen([sys.executable, "-m", "cnnlab", *map(str, args)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, env=env)
    last = run / "last.pt"
    wait_until(lambda: last.exists() and last.stat().st_mtime_ns != after_mtime, f"a new {last}", p, interval=0.01)
    p.send_signal(sig)
    _, err = p.communicate()
    return p.returncode, err


@pytest.mark.slow
def test_interrupted_by_signals_then_resumed_matches_uninterrupted_run(uninterrupted, emnist_sample, tmp_path):
    """SIGTERM, then Ctrl-C in the resumed run: each stop saves last.pt at the next batch and exits 1 saying how to
    continue; --resume then finishes the same run as one never interrupted."""
    run = tmp_path / "run"
    args = [*RESUMABLE, "--data", emnist_sample, "--out", run, "--checkpoint-steps", "1"]
    mtime = None
    for sig in (signal.SIGTERM, signal.SIGINT):
        code, err = interrupt([*args, "--resume"] if mtime else args, run, sig, mtime)
        assert code == 1, err[-2000:]
        state = torch.load(run / "last.pt", weights_only=False)
        at = f"interrupted at epoch {state['epoch'] + 1}, step {state['step']}"
        assert f"error: {at}; {run / 'last.pt'} is saved: continue with the same command and --resume" in err, err
        assert not (run / "metrics.json").exists()
        mtime = (run / "last.pt").stat().st_mtime_ns
    cnnlab(*args, "--resume")
    assert_same_run(uninterrupted, run)


def test_resume_with_other_settings_is_refused(emnist_sample, tmp_path):
    cnnlab("train", "emnist", "--data", emnist_sample, "--out", tmp_path / "r", "--epochs", "1", "--max-steps", "2",
           *SMALL)
    r = cnnlab("train", "emnist", "--data", emnist_sample, "--out", tmp_path / "r", "--epochs", "1", "--model", "mlp",
               "--resume", *SMALL, check=False)
    assert r.returncode == 2 and "model='cnn'" in r.stderr
    # the learning rate lives in the optimiser's saved state: a new --lr would be ignored, so it is refused
    r = cnnlab("train", "emnist", "--data", emnist_sample, "--out", tmp_path / "r", "--epochs", "1", "--lr", "0.5",
               "--resume", *SMALL, check=False)
    assert r.returncode == 2 and "lr=" in r.stderr and "--resume" in r.stderr


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
    # one line (the progress bar is closed, i.e. cleared, before it)
    error, *rest = r.stderr[r.stderr.index("error:"):].splitlines()
    assert error.startswith("error: loss became") and "--lr" in error and not "".join(rest).strip(), error
    assert f"{run / 'last.pt'} holds the last good state" in error
    assert (run / "last.pt").read_bytes() == good  # not overwritten by the run that went NaN
    assert not (run / "metrics.json").exists() and not (run / "best.pt").exists()


# ---------------------------------------------------------------------------------------------------------------
# Training options, each checked in what the run folder records (tiny runs, in this process)

def train_here(*argv) -> None:
    """`cnnlab train ...` in this process (no interpreter start); gives back the Ctrl-C handlers training installs."""
    from cnnlab.cli import main
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert main(["train", *map(str, argv)]) == 0
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)


def lrs(run) -> list[float]:
    return [float(r["lr"]) for r in history(run)]


def test_balanced_class_weights_weight_the_loss_and_no_validation_split(emnist_sample, tmp_path):
    """--class-weights balanced: the training loss is the cross-entropy weighted by inverse class frequency,
    N / (K n_c). A run trained without weights (full-batch steps, no dropout or augmentation, --val-fraction 0 so
    every training image is in the batch) is resumed for one more epoch with balanced weights: that epoch's
    recorded loss is the weighted loss of the model the resume started from."""
    from cnnlab.data.emnist import load_sample
    from cnnlab.runs import load_model
    run = tmp_path / "balanced"
    args = ["emnist", "--data", emnist_sample, "--out", run, "--model", "mlp", "--dropout", "0", "--no-augment",
            "--label-smoothing", "0", "--lr", "0.01", "--schedule", "none", "--val-fraction", "0",
            "--batch-size", "8000", "--limit-test", "200", "--quiet"]
    train_here(*args, "--epochs", "8")
    shutil.copy(run / "last.pt", tmp_path / "start.pt")
    train_here(*args, "--epochs", "9", "--resume", "--class-weights", "balanced")
    train = load_sample("train")  # the shipped sample's 8,000 training images
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["samples"] == {"train": len(train), "val": 0, "test": 200}
    rows = history(run)
    assert [r["val_acc"] for r in rows] == [""] * 9  # no validation split: best.pt is the latest epoch
    assert json.loads((run / "metrics.json").read_text())["best_epoch"] == 9
    assert lrs(run) == [0.01] * 9  # --schedule none: the learning rate never changes
    model, _ = load_model(str(tmp_path / "start.pt"))
    with torch.no_grad():
        logits = model(train.images.float() / 255).double()
    counts = torch.bincount(train.labels, minlength=62).double()
    balanced = float(F.cross_entropy(logits, train.labels, weight=counts.sum() / (62 * counts)))
    plain = float(F.cross_entropy(logits, train.labels))
    assert abs(plain - balanced) > 0.05 * balanced  # the weights matter here, so the check below can tell
    assert float(rows[8]["train_loss"]) == pytest.approx(balanced, rel=1e-4)


def test_plateau_schedule_halves_the_rate_after_four_flat_epochs(emnist_sample, tmp_path):
    """--schedule plateau: the validation accuracy of a run at lr 1e-6 never improves after epoch 1, so the rate
    is halved when four epochs in a row have not improved it (patience 3), then again four epochs later."""
    run = tmp_path / "plateau"
    train_here("emnist", "--data", emnist_sample, "--out", run, "--model", "mlp", "--optimizer", "sgd", "--lr", "1e-6",
               "--schedule", "plateau", "--limit-train", "400", "--batch-size", "400", "--limit-test", "100",
               "--epochs", "9", "--quiet")
    assert len({r["val_acc"] for r in history(run)}) == 1
    assert lrs(run) == pytest.approx([1e-6] * 4 + [5e-7] * 4 + [2.5e-7], rel=1e-6)


def cosine_lr(base: float, step: int, warm: int, total: int) -> float:
    """The rate after `step` optimizer steps: linear warm-up over `warm` steps (base (step+1)/warm), then a
    cosine from base down to 0 at step `total`."""
    if step < warm:
        return base * (step + 1) / warm
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))


def test_warmup_cosine_rate_weight_decay_groups_and_model_overrides(emnist_sample, tmp_path):
    run = tmp_path / "cosine"
    args = ["emnist", "--data", emnist_sample, "--out", run, "--model", "cnn", "--width", "8", "--dropout", "0.2",
            "--weight-decay", "0.01", "--lr", "0.004", "--schedule", "cosine", "--limit-train", "600",
            "--batch-size", "64", "--limit-test", "100", "--epochs", "3", "--quiet"]
    train_here(*args, "--max-steps", "2")
    cfg = json.loads((run / "config.json").read_text())
    steps = math.ceil(cfg["samples"]["train"] / 64)  # batches of an epoch (the last one smaller)
    warm, total = int(cfg["warmup_epochs"] * steps), 3 * steps
    assert warm >= 3  # the step-2 check below is inside the warm-up
    state = torch.load(run / "last.pt", weights_only=False)
    group_lrs = [g["lr"] for g in state["optimizer"]["param_groups"]]
    assert group_lrs == pytest.approx([cosine_lr(0.004, 2, warm, total)] * 2)
    train_here(*args, "--resume")
    assert lrs(run) == pytest.approx([cosine_lr(0.004, e * steps, warm, total) for e in (1, 2, 3)], rel=1e-5, abs=1e-12)
    assert lrs(run)[-1] == pytest.approx(0, abs=1e-12)
    # weight decay on weights (matrices, kernels) only, not on biases and batch-norm parameters
    state = torch.load(run / "last.pt", weights_only=False)
    opt = state["optimizer"]
    shapes = {True: [], False: []}  # decayed?
    for g in opt["param_groups"]:
        assert g["weight_decay"] in (0.0, 0.01)
        shapes[g["weight_decay"] > 0] += [tuple(opt["state"][i]["exp_avg"].shape) for i in g["params"]]
    from cnnlab.runs import load_model
    model, ckpt = load_model(str(run))
    params = [tuple(p.shape) for p in model.parameters()]
    assert sorted(shapes[True]) == sorted(s for s in params if len(s) >= 2)
    assert sorted(shapes[False]) == sorted(s for s in params if len(s) < 2)
    bn = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    biases = sum(1 for m in model.modules() if getattr(m, "bias", None) is not None)
    assert bn and len(shapes[False]) == biases + len(bn)
    # --width and --dropout reach the model that was trained
    assert ckpt["model_kwargs"]["width"] == 8 and state["model"]["features.0.0.weight"].shape[0] == 8
    drops = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops and set(drops) == {0.2}


def test_same_seed_same_run_other_seed_other_run(emnist_sample, tmp_path):
    """Initialisation, data split, shuffling, augmentation and dropout all follow --seed."""
    args = ["emnist", "--data", emnist_sample, "--model", "cnn", "--width", "8", "--limit-train", "500",
            "--batch-size", "64", "--limit-test", "100", "--epochs", "1", "--quiet"]
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        train_here(*args, "--seed", seed, "--out", tmp_path / name)
    rows = {n: [{k: v for k, v in r.items() if k != "seconds"} for r in history(tmp_path / n)] for n in "abc"}
    weights = {n: torch.load(tmp_path / n / "best.pt", weights_only=False)["model"] for n in "abc"}
    assert rows["a"] == rows["b"]
    assert all(torch.equal(weights["a"][k], weights["b"][k]) for k in weights["a"])
    assert rows["a"] != rows["c"]
    assert not all(torch.equal(weights["a"][k], weights["c"][k]) for k in weights["a"])


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
    assert p["label"] in t.classes and abs(sum(p["probabilities"].values()) - 1) < 1e-3


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


def test_init_starts_from_another_runs_weights_and_refuses_a_model_they_do_not_fit(cnn_run, emnist_sample,
                                                                                     tmp_path):
    """--init copies a run's weights into the new run's model before its first step (a fine-tune: one step at a
    vanishing rate leaves them as they were, where a run without --init starts elsewhere), records itself in
    config.json, and refuses in one line, before any training, a model of another architecture or width and a
    reference that is no model."""
    common = ["--data", emnist_sample, "--epochs", "1", "--max-steps", "1", "--optimizer", "sgd", "--lr", "1e-12",
              *SMALL]
    train_here("emnist", "--out", tmp_path / "ft", "--init", cnn_run, *common)
    train_here("emnist", "--out", tmp_path / "fresh", *common)
    source = torch.load(cnn_run / "best.pt", weights_only=False)["model"]
    tuned = torch.load(tmp_path / "ft" / "last.pt", weights_only=False)["model"]
    fresh = torch.load(tmp_path / "fresh" / "last.pt", weights_only=False)["model"]
    weights = [k for k, v in source.items() if k.endswith("weight") and v.dim() > 1]
    assert weights and all(torch.allclose(tuned[k], source[k], atol=1e-6) for k in weights)
    assert not any(torch.allclose(fresh[k], source[k], atol=1e-3) for k in weights)
    assert json.loads((tmp_path / "ft" / "config.json").read_text())["init"] == str(cnn_run)
    for extra, says in ((["--model", "mlp"], "a cnn model; this run trains mlp"), (["--width", "8"], "--width"),
                        (["--init", tmp_path / "nothing"], "--init: ")):
        argv = ["train", "emnist", "--out", tmp_path / "refused", "--init", cnn_run, *common, *map(str, extra)]
        r = cnnlab(*argv, check=False)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and says in r.stderr, r.stderr
        assert not (tmp_path / "refused").exists()
    # a source trained beside another validation split is named, with the option that keeps the splits apart
    r = cnnlab("train", "emnist", "--out", tmp_path / "seed1", "--init", cnn_run, "--seed", "1", *common)
    assert "note: --init" in r.stderr and "--set split_seed=0" in r.stderr, r.stderr
    assert "note: --init" not in cnnlab("train", "emnist", "--out", tmp_path / "same", "--init", cnn_run,
                                        *common).stderr
    r = cnnlab("compare", "emnist", "--out", tmp_path / "refused", "--init", cnn_run, *common, check=False)
    assert r.returncode == 2 and r.stderr.startswith("error: --init ") and "cnnlab train --init" in r.stderr, r.stderr
    assert not (tmp_path / "refused").exists()
