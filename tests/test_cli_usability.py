"""A user's first hour (issue 11): every option checked, help that tells the truth, --set, --resume and --quiet
that do what they say, model files accepted back, --skip-bad, --json everywhere, negative lists, a closed pipe,
readable figures, and BENCHMARKS.md that labels a speed check as one."""

import argparse
import importlib.util
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

from cnnlab.cli import build_parser, main
from cnnlab.engine.config import SCHEDULES, TrainConfig, apply_overrides, stage
from cnnlab.errors import UsageError
from cnnlab.experiments import recipes
from cnnlab.models import registry
from conftest import CIFAR, FER, ROOT, cnnlab

FER_CLASSES = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]


def run(argv, capsys):
    """main() in this process: (exit code, stdout, stderr); argparse's own errors exit through SystemExit."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------------------------------
# 1. every numeric option is checked, with a message naming it

BAD_TRAIN = [("--limit-train", "-5"), ("--limit-test", "0"), ("--epochs", "0"), ("--batch-size", "-1"),
             ("--lr", "nan"), ("--lr", "0"), ("--val-fraction", "1.5"), ("--ema", "1"), ("--label-smoothing", "-0.1"),
             ("--max-steps", "0"), ("--checkpoint-steps", "0"), ("--weight-decay", "-1"), ("--dropout", "1.5"),
             ("--width", "0"), ("--param-budget", "-3")]


@pytest.mark.parametrize("option,value", BAD_TRAIN, ids=[f"{o}={v}" for o, v in BAD_TRAIN])
def test_train_refuses_a_bad_number_before_reading_anything(tmp_path, capsys, option, value):
    out = tmp_path / "run"
    code, _, err = run(["train", "emnist", "--data", tmp_path / "no-data-here", "--out", out, option, value], capsys)
    assert code == 2
    assert err.startswith(f"error: {option} must be") and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


@pytest.mark.parametrize("argv,option", [
    (["eval", "fer2013-vgg", "--images", ".", "--batch-size", "0"], "--batch-size"),
    (["predict", "fer2013-vgg", "x.png", "--top", "-1"], "--top"),
    (["demo", "--out", "d", "--epochs", "0"], "--epochs"),
    (["report", "r", "--out", "r.html", "--samples", "-1"], "--samples"),
    (["visualize", "fer2013-vgg", "--image", "x.png", "--out", "v", "--max-maps", "0"], "--max-maps"),
    (["theory", "autoencoder", "--out", "a", "--limit-train", "0"], "--limit-train"),
    (["tensorboard", "r", "--port", "70000"], "--port"),
])
def test_other_commands_check_their_numbers(capsys, argv, option):
    code, _, err = run(argv, capsys)
    assert code == 2 and f"argument {option}: must be" in err


def test_set_goes_through_the_same_checks(tmp_path, capsys):
    code, _, err = run(["train", "emnist", "--data", tmp_path, "--out", tmp_path / "r", "--set", "augment.erase=2"],
                       capsys)
    assert code == 2 and "--set augment.erase must be a probability in [0, 1], got 2.0" in err
    code, _, err = run(["train", "emnist", "--data", tmp_path, "--out", tmp_path / "r", "--set", "warmup_epochs=-1"],
                       capsys)
    assert code == 2 and "--set warmup_epochs must be" in err


# ---------------------------------------------------------------------------------------------------------------
# 2. --resume with nothing to resume; 3. --quiet keeps the final line; 6. --set

def test_resume_without_a_run_is_an_error_before_the_data_is_read(tmp_path, capsys):
    typo = tmp_path / "runs" / "typo"
    # the data folder does not exist either: the error must come before anything reads it
    code, _, err = run(["train", "emnist", "--data", tmp_path / "nowhere", "--out", typo, "--resume"], capsys)
    assert code == 2 and f"nothing to resume in {typo}: no last.pt" in err
    assert not typo.exists()
    code, _, err = run(["compare", "emnist", "--data", tmp_path / "nowhere", "--out", typo, "--resume"], capsys)
    assert code == 2 and f"nothing to resume in {typo}" in err and "does not exist" in err


def test_a_multi_run_command_starts_the_runs_it_has_not_started(tmp_path):
    (tmp_path / "started").mkdir()
    (tmp_path / "started" / "last.pt").write_bytes(b"x")
    base = TrainConfig(resume=True)
    assert stage(base, out=str(tmp_path / "started")).resume is True
    assert stage(base, out=str(tmp_path / "not-yet")).resume is False
    assert stage(TrainConfig(resume=False), out=str(tmp_path / "started")).resume is False


def test_quiet_prints_only_the_result_line_and_set_reaches_config_json(emnist_sample, tmp_path):
    out = tmp_path / "q"
    r = cnnlab("train", "emnist", "--data", emnist_sample, "--out", out, "--epochs", "1", "--limit-train", "300",
               "--limit-test", "100", "--batch-size", "64", "--quiet", "--set", "augment.erase=0.25",
               "--set", "warmup_epochs=0.25", "--set", "model_kwargs.width=6", "--set", "augment.flip=true")
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert "test accuracy" in lines[-1] and str(out) in lines[-1]
    assert not any(line.startswith(("epoch ", "data:", "model:")) for line in lines)
    config = json.loads((out / "config.json").read_text())
    assert config["augment"] == {"degrees": 8.0, "scale": 0.08, "erase": 0.25, "flip": True}
    assert config["warmup_epochs"] == 0.25 and config["model_kwargs"]["width"] == 6
    assert config["model_kwargs_resolved"]["width"] == 6


def test_apply_overrides_types_and_errors():
    d = TrainConfig().to_dict()
    new = apply_overrides(d, ["lr=1", "epochs=3", "limit_train=none", "nesterov=false", "augment.crop_pad=4",
                              "model_kwargs.width=16", "model_kwargs.fc=128", "schedule=none"])
    assert new["lr"] == 1.0 and isinstance(new["lr"], float) and new["epochs"] == 3
    assert new["limit_train"] is None and new["nesterov"] is False
    assert new["augment"] == {"crop_pad": 4} and new["model_kwargs"] == {"width": 16, "fc": 128}
    assert d["augment"] == {} and d["model_kwargs"] == {}  # the input is not changed
    assert apply_overrides(d, ['augment={"flip": true}'])["augment"] == {"flip": True}
    for bad, words in [("epochs=2.5", "epochs takes int"), ("lr=fast", "lr takes float"),
                       ("epoch=3", "'epoch' is not a hyper-parameter"), ("warmup_epochs", "expected KEY=VALUE"),
                       ("lr.x=1", "only the dict fields"), ("augment.flip=perhaps", "augment.flip takes bool")]:
        with pytest.raises(UsageError, match=words):
            apply_overrides(d, [bad])
    with pytest.raises(UsageError, match="unknown augmentation 'blur'"):
        TrainConfig.from_dict(apply_overrides(d, ["augment.blur=1"])).check()
    with pytest.raises(UsageError, match="--schedule must be one of"):
        TrainConfig.from_dict(apply_overrides(d, ["schedule=onecycle"])).check()


def test_set_comes_after_the_options(tmp_path):
    from cnnlab.cli import config_from_args
    args = build_parser().parse_args(["train", "fer2013", "--data", str(tmp_path), "--out", "r", "--recipe", "cpu",
                                      "--epochs", "3", "--set", "epochs=2", "--width", "8"])
    cfg = config_from_args(args, "fer2013")
    assert cfg.epochs == 2 and cfg.model_kwargs["width"] == 8 and cfg.recipe == "cpu"
    assert cfg.augment == recipes("fer2013")["cpu"]["augment"]


# ---------------------------------------------------------------------------------------------------------------
# 4. one list of schedules; 5. help that tells the truth; 7. one name and one --device

def subparsers(parser):
    """(command, parser) for every command and sub-command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, p in action.choices.items():
                yield name, p
                yield from ((f"{name} {n}", q) for n, q in subparsers(p))


def test_schedules_are_one_list():
    assert TrainConfig().schedule in SCHEDULES
    train = dict(subparsers(build_parser()))["train"]
    assert tuple(next(a for a in train._actions if a.dest == "schedule").choices) == SCHEDULES


def test_no_help_shows_a_none_default_and_required_options_say_so():
    for name, p in subparsers(build_parser()):
        text = p.format_help()
        assert "(default: None)" not in text and "(default: False)" not in text, name
        for action in p._actions:
            if action.required and action.option_strings:
                assert "(required)" in (p._get_formatter()._get_help_string(action)), (name, action.dest)


def test_device_is_the_same_option_everywhere():
    seen = set()
    for name, p in subparsers(build_parser()):
        for a in p._actions:
            if a.dest == "device":
                seen.add((a.default, tuple(a.choices), a.help))
    assert len(seen) == 1 and next(iter(seen))[0] == "auto"


def test_train_help_shows_the_dataset_recipes(capsys):
    code, out, _ = run(["train", "fer2013", "--help"], capsys)
    assert code == 0
    table = recipes("fer2013")
    flat = " ".join(out.split())
    # a value the recipes share is shown once, values that differ per recipe
    assert table["cpu"]["batch_size"] == table["gpu"]["batch_size"] and table["cpu"]["lr"] != table["gpu"]["lr"]
    assert ("--batch-size BATCH_SIZE batch size (global, split over torchrun processes) "
            f"(default: {table['cpu']['batch_size']})") in flat
    assert f"--lr LR peak learning rate (cpu: {table['cpu']['lr']}; gpu: {table['gpu']['lr']})" in flat
    assert f"(cpu: {table['cpu']['model_kwargs']['width']}; gpu: {table['gpu']['model_kwargs']['width']})" in flat
    assert "--data DATA dataset folder" in flat and "(required)" in flat
    assert "Recipes of fer2013, picked by --recipe" in flat and "(the default here)" in flat
    for name in table:
        assert f" {name}" in flat and f"augment.crop_pad={table[name]['augment']['crop_pad']}" in flat
    code, out, _ = run(["compare", "emnist", "--help"], capsys)
    assert code == 0 and f"(default: {recipes('emnist')['default']['epochs']})" in out
    code, out, _ = run(["recipes", "--json"], capsys)
    assert code == 0 and json.loads(out)["fer2013"]["recipes"]["gpu"]["epochs"] == table["gpu"]["epochs"]


def test_distill_teacher_offers_only_what_applies(capsys):
    code, out, _ = run(["distill", "teacher", "--help"], capsys)
    assert code == 0 and "--teacher-arch" in out and "--width" not in out and "--param-budget" not in out
    assert "Recipes, picked by --mode" in out and "linear-probe (the default here)" in out
    code, out, _ = run(["distill", "compare", "--help"], capsys)
    assert code == 0 and "--teacher-arch" in out


# ---------------------------------------------------------------------------------------------------------------
# 9. model files back: .pt, .h5 and .onnx in eval, predict, visualize and export

@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """A small random fer-vgg checkpoint whose model asks for flip TTA, and its .h5 and .onnx exports."""
    d = tmp_path_factory.mktemp("files")
    torch.manual_seed(0)
    kwargs = {"mean": [0.5], "std": [0.25], "width": 4}
    model = registry.build("fer-vgg", 7, [1, 48, 48], **kwargs).eval()
    with torch.no_grad():  # confident outputs, so that an image and its mirror get clearly different probabilities
        model.classifier[-1].weight.mul_(100)
    torch.save({"model": model.state_dict(), "arch": "fer-vgg", "num_classes": 7, "classes": FER_CLASSES,
                "input_shape": [1, 48, 48], "model_kwargs": kwargs, "dataset": "fer2013", "tta": "flip",
                "config": {}, "epoch": 1}, d / "best.pt")
    assert main(["export", str(d / "best.pt"), "--format", "h5", "--out", str(d / "m.h5")]) == 0
    assert main(["export", str(d / "best.pt"), "--format", "onnx", "--out", str(d / "m.onnx")]) == 0
    images = []
    for c in FER_CLASSES[:3]:
        (d / "imgs" / c).mkdir(parents=True)
        for f in sorted((FER / "test" / c).iterdir())[:2]:
            (d / "imgs" / c / f.name).write_bytes(f.read_bytes())
            images.append(d / "imgs" / c / f.name)
    return d, model, images


def test_predict_takes_every_model_file_and_uses_its_tta(model_files, capsys):
    from cnnlab.data.images import read_image
    from cnnlab.engine.evaluate import predict_logits
    d, model, images = model_files
    x = torch.from_numpy(np.stack([read_image(f, [1, 48, 48]) for f in images]))
    want = predict_logits(model, x, torch.device("cpu"), tta="flip").softmax(1)
    plain = predict_logits(model, x, torch.device("cpu"), tta="none").softmax(1)
    assert not torch.allclose(want, plain, atol=1e-4)  # flip TTA changes the numbers, so the test can tell
    for ref in ("best.pt", "m.h5", "m.onnx"):
        code, out, err = run(["predict", d / ref, *images], capsys)
        assert code == 0, err
        got = [json.loads(line) for line in out.strip().splitlines()]
        probs = torch.tensor([[g["probabilities"][c] for c in FER_CLASSES] for g in got])
        assert torch.allclose(probs, want, atol=1e-4), ref
    code, out, _ = run(["predict", d / "m.onnx", *images, "--tta", "none"], capsys)
    probs = torch.tensor([[json.loads(line)["probabilities"][c] for c in FER_CLASSES] for line in out.splitlines()])
    assert torch.allclose(probs, plain, atol=1e-4)


def test_eval_gives_the_same_metrics_for_every_model_file(model_files, capsys):
    d, _, _ = model_files
    results = {}
    for ref in ("best.pt", "m.h5", "m.onnx"):
        code, out, err = run(["eval", d / ref, "--images", d / "imgs"], capsys)
        assert code == 0, err
        results[ref] = json.loads(out)
    assert len({json.dumps(r["confusion_matrix"]) for r in results.values()}) == 1
    assert {r["tta"] for r in results.values()} == {"flip"}
    assert results["m.onnx"]["params_total"] == results["best.pt"]["params_total"] > 0
    with h5py.File(d / "m.h5") as f:
        assert json.loads(f.attrs["cnnlab"])["tta"] == "flip"


def test_a_torch_only_command_refuses_onnx_and_foreign_files_say_what_they_are(model_files, tmp_path, capsys):
    d, _, images = model_files
    code, _, err = run(["visualize", d / "m.onnx", "--image", images[0], "--out", tmp_path / "v"], capsys)
    assert code == 2 and "an ONNX model cannot be used here" in err and "Grad-CAM" in err and ".h5" in err
    code, _, err = run(["export", d / "m.onnx", "--format", "h5", "--out", tmp_path / "x.h5"], capsys)
    assert code == 2 and "an ONNX model cannot be used here" in err
    code, _, err = run(["eval", images[0], "--images", d / "imgs"], capsys)
    assert code == 2 and "a JPEG image, not a model" in err and ".onnx" in err
    with h5py.File(tmp_path / "keras.h5", "w") as f:
        f.attrs["model_config"] = "{}"
    code, _, err = run(["predict", tmp_path / "keras.h5", images[0]], capsys)
    assert code == 2 and "a Keras model that cnnlab did not write" in err
    import onnx
    from onnx import TensorProto, helper
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in ("x", "y")]
    onnx.save(helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", io[:1], io[1:])),
              str(tmp_path / "other.onnx"))  # a valid ONNX model from elsewhere: no classes, no input shape
    code, _, err = run(["predict", tmp_path / "other.onnx", images[0]], capsys)
    assert code == 2 and "without cnnlab's metadata" in err


def test_onnx_model_back_to_onnx_is_the_same_file(model_files, tmp_path, capsys):
    d, _, _ = model_files
    code, out, err = run(["export", d / "m.onnx", "--format", "onnx", "--out", tmp_path / "again.onnx"], capsys)
    assert code == 0, err
    assert (tmp_path / "again.onnx").read_bytes() == (d / "m.onnx").read_bytes()


# ---------------------------------------------------------------------------------------------------------------
# 13. predict --skip-bad

def test_predict_skip_bad(model_files, tmp_path, capsys):
    d, _, images = model_files
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    code, out, err = run(["predict", d / "best.pt", images[0], broken, tmp_path / "missing.png", images[1]], capsys)
    assert code == 2 and "broken.jpg" in err and "--skip-bad" in err and out == ""
    code, out, err = run(["predict", d / "best.pt", images[0], broken, tmp_path / "missing.png", images[1],
                          "--skip-bad"], capsys)
    assert code == 0
    assert [json.loads(line)["file"] for line in out.splitlines()] == [str(images[0]), str(images[1])]
    assert "skipped 2 of 4 image(s)" in err and "broken.jpg" in err and "missing.png" in err


# ---------------------------------------------------------------------------------------------------------------
# 14. --json of every theory command, negative lists, a closed pipe

THEORY = [["layers", "CONV3-4 ReLU POOL-2 FLATTEN FC-3", "--input", "8x8x1"], ["receptive-field"], ["conv-output"],
          ["conv1d-backprop"], ["losses", "--y-true", "1,2,3", "--y-pred", "1,2,4"], ["demos"]]


@pytest.mark.parametrize("argv", THEORY, ids=[a[0] for a in THEORY])
def test_every_theory_command_prints_json(capsys, argv):
    code, out, _ = run(["theory", *argv, "--json"], capsys)
    assert code == 0 and isinstance(json.loads(out), dict)


def test_theory_commands_that_write_files_print_json_too(tmp_path, capsys):
    code, out, err = run(["theory", "activations", "--out", tmp_path / "a", "--no-timing", "--json"], capsys)
    assert code == 0 and "ReLU" in json.loads(out) and "wrote" in err
    code, out, _ = run(["theory", "activations", "--out", tmp_path / "b", "--no-timing"], capsys)
    assert code == 0 and "| ReLU |" in out and "LeCun" in out  # the table, saying how the deep stack was initialised
    code, out, err = run(["theory", "autoencoder", "--out", tmp_path / "ae", "--epochs", "1", "--limit-train", "64",
                          "--limit-test", "32", "--json"], capsys)
    assert code == 0 and json.loads(out)["epochs"] == 1 and "wrote" in err


def test_negative_number_lists_are_values(capsys):
    code, out, _ = run(["theory", "losses", "--y-true", "-1,2,3", "--y-pred", "-1.5,2,3", "--json"], capsys)
    assert code == 0 and abs(json.loads(out)["mse"] - 0.25 / 3) < 1e-12
    code, out, _ = run(["theory", "conv1d-backprop", "--x", "-1,2,-3,4", "--k", "-0.5,1", "--w", "1,-1",
                        "--b", "-0.1", "--json"], capsys)
    assert code == 0 and json.loads(out)["verified"] is True
    code, out, _ = run(["theory", "losses", "--y-true", "1,2,3", "--y-pred", "1,2,4"], capsys)
    assert "nrmse_mean and rrmse are the same formula" in out


def test_a_closed_pipe_ends_quietly():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    p = subprocess.Popen([sys.executable, "-m", "cnnlab", "theory", "layers", "--json",
                          "CONV3-8 ReLU POOL-2 CONV3-16 ReLU POOL-2 FLATTEN FC-10"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    p.stdout.close()  # the reader is gone before anything is written, as `| head` after its lines
    err = p.stderr.read().decode()
    p.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err and p.returncode == 141


# ---------------------------------------------------------------------------------------------------------------
# metrics without torchmetrics' import, and without float noise

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


def test_json_files_carry_no_float32_noise(tmp_path):
    from cnnlab.atomic import atomic_write_json
    loss = float(torch.tensor(1.4254876))  # 1.4254876375198364: what float() of a float32 tensor gives
    atomic_write_json(tmp_path / "m.json", {"loss": loss, "acc": [float(torch.tensor(0.412))], "exact": 0.1 + 0.2})
    text = (tmp_path / "m.json").read_text()
    assert '"loss": 1.4254876,' in text and "0.412" in text and "0.41200000047683716" not in text
    assert json.loads(text)["exact"] == 0.1 + 0.2  # a float64 result keeps every digit


# ---------------------------------------------------------------------------------------------------------------
# 12. figures: nothing overlaps, a one-epoch run has a sensible x axis

@pytest.fixture
def kept_figures(monkeypatch):
    """plots.save keeps the figure (drawn) instead of writing and closing it."""
    from cnnlab import plots
    figures = []

    def keep(fig, path):
        fig.canvas.draw()
        figures.append(fig)
        return path
    monkeypatch.setattr(plots, "save", keep)
    yield figures
    import matplotlib.pyplot as plt
    for f in figures:
        plt.close(f)


def overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("names", [FER_CLASSES, ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                                 "horse", "ship", "truck"]])
def test_sample_grid_title_clears_the_labels(kept_figures, tmp_path, names):
    from cnnlab.plots import image_grid
    image_grid(np.zeros((len(names), 1, 48, 48), dtype=np.uint8), names, tmp_path / "g.png",
               cols=min(16, len(names)), suptitle="fer2013 (train): one sample per class")
    fig = kept_figures[0]
    r = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(r)
    labels = [ax.title.get_window_extent(r) for ax in fig.axes if ax.get_title()]
    assert len(labels) == len(names)
    assert not any(overlaps(title, lab) for lab in labels)
    assert not any(overlaps(a, b) for i, a in enumerate(labels) for b in labels[i + 1:])


def test_one_epoch_curves_have_whole_epochs(kept_figures, tmp_path):
    from cnnlab.plots import curves
    curves([{"epoch": 1, "train_loss": 2.0, "train_acc": 0.3, "val_loss": 2.1, "val_acc": 0.28, "test_loss": 2.2,
             "test_acc": 0.27}], tmp_path / "c.png")
    for ax in kept_figures[0].axes:
        lo, hi = ax.get_xlim()
        assert hi - lo >= 2
        assert all(float(t).is_integer() for t in ax.get_xticks())


def test_confusion_matrix_labels_do_not_run_together(kept_figures, tmp_path):
    from cnnlab.plots import confusion
    confusion(np.eye(7, dtype=int) * 5 + 1, FER_CLASSES, tmp_path / "cm.png")
    r = kept_figures[0].canvas.get_renderer()
    for ax in kept_figures[0].axes[:1]:
        boxes = [t.get_window_extent(r) for t in ax.get_xticklabels()]
        assert not any(overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


# ---------------------------------------------------------------------------------------------------------------
# 15. BENCHMARKS.md; 16. small things

def load_script(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmarks_label_a_speed_check_and_show_no_accuracy():
    md = load_script(ROOT / "benchmarks" / "make_benchmarks_md.py")
    rec = {"name": "mnv2", "kind": "speed", "command": "cnnlab train ...", "machine": "CPU", "note": "",
           "results": {"accuracy": 0.1, "f1_macro": 0.02, "recall_per_class": {"dog": 1.0}, "images_per_second": 53.7,
                       "train_seconds": 38.6}}
    text = "\n".join(md.section(rec))
    assert "Speed check: mnv2" in text and "images_per_second" in text
    assert "accuracy" not in text and "f1_macro" not in text and "dog" not in text
    real = dict(rec, kind=None, name="real")
    assert md.kind(real) == "result" and "| accuracy |" in "\n".join(md.section(real))


def test_benchmarks_give_a_sweep_inside_a_result_its_own_table():
    md = load_script(ROOT / "benchmarks" / "make_benchmarks_md.py")
    rec = {"name": "crop", "kind": "result", "command": "python -m benchmarks.calibration.live_crop", "machine": "CPU",
           "note": "", "results": {"faces": 700, "found": 661, "candidates": [{"crop": "fitted", "accuracy": 0.655},
                                                                   {"crop": "ceiling", "accuracy": 0.67}]}}
    lines = md.section(rec)
    assert "| faces | found |" in lines and "candidates:" in lines and "| crop | accuracy |" in lines
    assert "| fitted | 0.6550 |" in lines and "| ceiling | 0.6700 |" in lines


def test_one_epoch_is_singular():
    from cnnlab.experiments.emnist import markdown
    row = {"model": "cnn", "params": 10, "accuracy": 0.5, "precision_macro": 0.5, "recall_macro": 0.5, "f1_macro": 0.5,
           "train_seconds": 1.0, "images_per_second": 10.0}
    text = markdown({"dataset": "emnist", "models": [row]}, TrainConfig(epochs=1))
    assert "1 epoch," in text and "1 epochs" not in text


def test_report_table_columns_share_one_format():
    from cnnlab.report.html import table
    html = table(["seconds", "loss"], [[55.4, 0.5], [9.069, 0.25]])
    assert "<td>55.40</td>" in html and "<td>9.07</td>" in html and "<td>0.2500</td>" in html


def test_missing_cifar_batches_are_said_once(capsys, monkeypatch):
    from cnnlab import data
    from cnnlab.data import cifar10
    monkeypatch.setattr(cifar10, "_SAID", set())
    data.load("cifar10", CIFAR, "train")
    data.load("cifar10", CIFAR, "train")
    assert capsys.readouterr().err.count("train batches found") == 1


def test_a_recipe_sets_seed_and_val_fraction_and_the_options_still_win(tmp_path):
    """--seed and --val-fraction have no argparse default, so a recipe's (or a sub-command's) value stands."""
    from cnnlab.cli import config_from_args
    base = ["train", "emnist", "--data", str(tmp_path), "--out", "r"]
    cfg = config_from_args(build_parser().parse_args(base), "emnist", seed=3, val_fraction=0.2)
    assert (cfg.seed, cfg.val_fraction) == (3, 0.2)
    cfg = config_from_args(build_parser().parse_args([*base, "--seed", "5", "--val-fraction", "0"]), "emnist",
                           seed=3, val_fraction=0.2)
    assert (cfg.seed, cfg.val_fraction) == (5, 0.0)
    cfg = config_from_args(build_parser().parse_args(base), "emnist")
    assert (cfg.seed, cfg.val_fraction) == (TrainConfig().seed, TrainConfig().val_fraction)


def test_training_options_are_made_from_the_config_fields():
    """The fields of TrainConfig are the one description: each option of OPTIONS carries its field's help and
    choices and has no default of its own; a field without an option is reached by --set only."""
    from cnnlab.engine.config import OPTIONS, fields, option
    train = dict(subparsers(build_parser()))["train"]
    by_dest = {a.dest: a for a in train._actions if a.option_strings}
    for name, f in fields().items():
        assert f.metadata["help"], name
        if name not in OPTIONS:
            assert name not in by_dest and option(name) == f"--set {name}"
            continue
        action = by_dest[name]
        assert option(name) in action.option_strings and action.help == f.metadata["help"]
        assert tuple(action.choices or ()) == tuple(f.metadata["choices"] or ()), name
        assert action.default in (None, False) or name == "device", name
    assert option("model_kwargs.width") == "--width" and by_dest["width"].type is int
