"""FER-2013: the loaders on layouts and CSVs written here (valid and broken), `data check` on the real data, and
a short end-to-end run on a slice of it: train, eval, predict, visualize, export."""

import csv
import json
import math
import signal
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from cnnlab.cli import main
from cnnlab.data import fer2013
from cnnlab.errors import DataError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fer2013"
CLASSES = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
# /work/shared/data/README.md: per class, train and test
README_COUNTS = {"train": [3995, 436, 4097, 7215, 4965, 4830, 3171], "test": [467, 56, 496, 895, 607, 653, 415]}


def gray(seed, size=48):
    return np.random.default_rng(seed).integers(0, 256, (size, size), dtype=np.uint8)


def write_layout(root, per_class=2):
    """root/{train,test}/<class>/<n>.png: 48×48 gray PNGs, plus one 64×64 colour JPEG in train/happy."""
    pixels = {}
    for split in ("train", "test"):
        for c, name in enumerate(CLASSES):
            (root / split / name).mkdir(parents=True)
            for i in range(per_class):
                img = gray(1000 * (split == "test") + 10 * c + i)
                Image.fromarray(img).save(root / split / name / f"{i}.png")
                pixels[(split, name, i)] = img
    rgb = np.random.default_rng(7).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(root / "train" / "happy" / "colour.jpg")
    return pixels


def write_csv(path, rows):
    lines = ["emotion,pixels,Usage"] + [f"{e},{' '.join(map(str, p))},{u}" for e, p, u in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def cache(tmp_path):
    return str(tmp_path / "cache")


# ---------------------------------------------------------------------------------------------------------------
# Kaggle folder layout

def test_folder_layout(tmp_path, cache):
    pixels = write_layout(tmp_path / "fer")
    train = fer2013.load(tmp_path / "fer", "train", cache=cache)
    test = fer2013.load(tmp_path / "fer", "test", cache=cache)
    assert train.classes == CLASSES and train.input_shape == [1, 48, 48]
    assert train.counts() == [2, 2, 2, 3, 2, 2, 2] and test.counts() == [2] * 7
    i = int(torch.nonzero(test.labels == CLASSES.index("sad"))[0])
    assert np.array_equal(test.images[i, 0].numpy(), pixels[("test", "sad", 0)])  # PNG is lossless
    cached = fer2013.load(tmp_path / "fer", "test", cache=cache)
    assert torch.equal(cached.images, test.images) and len(list(Path(cache).glob("fer2013-test-*.pt"))) == 1


def test_hidden_folders_are_not_classes(tmp_path, cache):
    write_layout(tmp_path / "fer", per_class=1)
    (tmp_path / "fer" / "train" / ".ipynb_checkpoints").mkdir()
    assert len(fer2013.load(tmp_path / "fer", "train", cache=cache).classes) == 7


def test_unknown_class_folder(tmp_path, cache):
    write_layout(tmp_path / "fer", per_class=1)
    (tmp_path / "fer" / "test" / "surprise").rename(tmp_path / "fer" / "test" / "suprise")
    with pytest.raises(DataError, match=r"fer/test: unknown class folder\(s\) \['suprise'\]"):
        fer2013.load(tmp_path / "fer", "test", cache=cache)


def test_empty_class_folder(tmp_path, cache):
    write_layout(tmp_path / "fer", per_class=1)
    shutil.rmtree(tmp_path / "fer" / "train" / "fear")
    (tmp_path / "fer" / "train" / "fear").mkdir()
    (tmp_path / "fer" / "train" / "fear" / "Thumbs.db").write_bytes(b"\0" * 10)  # not an image
    with pytest.raises(DataError, match=r"train/fear: empty class folder"):
        fer2013.load(tmp_path / "fer", "train", cache=cache)


def test_unreadable_image(tmp_path, cache, capsys):
    write_layout(tmp_path / "fer", per_class=2)
    bad = tmp_path / "fer" / "test" / "angry" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    with pytest.raises(DataError, match=r"test/angry/broken\.jpg: not a readable image"):
        fer2013.load(tmp_path / "fer", "test", cache=cache)
    data = fer2013.load(tmp_path / "fer", "test", cache=cache, skip_bad=True)
    assert data.counts() == [2] * 7
    assert "skipped 1 unreadable image(s)" in capsys.readouterr().err  # a message: stderr, stdout stays data


def test_missing_dataset(tmp_path, cache):
    with pytest.raises(DataError, match="FER-2013 not found.*kaggle"):
        fer2013.load(tmp_path, "train", cache=cache)
    with pytest.raises(DataError, match="cannot be downloaded"):
        fer2013.load(tmp_path, "train", cache=cache, download_missing=True)


def test_cli_data_check_broken_layout(tmp_path, capsys):
    write_layout(tmp_path / "fer", per_class=1)
    (tmp_path / "fer" / "train" / "surprise").rename(tmp_path / "fer" / "train" / "suprise")
    code = main(["data", "check", "fer2013", "--data", str(tmp_path / "fer"), "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "suprise" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------------------------------------
# fer2013.csv

def test_csv(tmp_path, cache):
    p = [np.arange(2304) % 256, (np.arange(2304) * 7) % 256, np.full(2304, 9), np.full(2304, 200)]
    write_csv(tmp_path / "fer2013.csv", [(0, p[0], "Training"), (6, p[1], "Training"), (4, p[2], "PublicTest"),
                                         (3, p[3], "PrivateTest")])
    train = fer2013.load(tmp_path, "train", cache=cache)
    # the CSV numbers emotions 0 angry, ..., 4 sad, 5 surprise, 6 neutral; the folders sort neutral before sad
    assert [CLASSES[i] for i in train.labels] == ["angry", "neutral"]
    assert np.array_equal(train.images[1, 0].numpy().ravel(), p[1])
    assert [CLASSES[i] for i in fer2013.load(tmp_path, "test", cache=cache).labels] == ["sad"]
    assert [CLASSES[i] for i in fer2013.load(tmp_path, "private", cache=cache).labels] == ["happy"]


@pytest.mark.parametrize("row,message", [
    ("1,1 2 3,Training", r"fer2013\.csv:3: expected 2304 pixel values in 0\.\.255, got 3"),
    ("1,{px},Validation", r"fer2013\.csv:3: unknown Usage 'Validation'"),
    ("9,{px},Training", r"fer2013\.csv:3: emotion 9 is not in 0\.\.6"),
    ("x,{px},Training", r"fer2013\.csv:3: emotion and pixels must be integers"),
    ("1,{px}", r"fer2013\.csv:3: the row has fewer than 3 fields"),
])
def test_csv_bad_rows(tmp_path, cache, row, message):
    px = " ".join(["5"] * 2304)
    (tmp_path / "fer2013.csv").write_text(f"emotion,pixels,Usage\n0,{px},Training\n{row.format(px=px)}\n")
    with pytest.raises(DataError, match=message):
        fer2013.load(tmp_path, "train", cache=cache)


def test_csv_missing_column(tmp_path, cache):
    (tmp_path / "fer2013.csv").write_text("emotion,pixels\n0,1 2\n")
    with pytest.raises(DataError, match=r"fer2013\.csv: missing column\(s\) \['Usage'\]"):
        fer2013.load(tmp_path, "train", cache=cache)


# ---------------------------------------------------------------------------------------------------------------
# The real data

@pytest.mark.data
def test_data_check_real_fer2013(capsys):
    assert main(["data", "check", "fer2013", "--data", str(DATA), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for split, counts in README_COUNTS.items():
        assert report["splits"][split]["classes"] == dict(zip(CLASSES, counts))
        assert report["splits"][split]["shape"] == [1, 48, 48] and report["splits"][split]["empty_classes"] == []
    assert report["splits"]["train"]["samples"] == 28709 and report["splits"]["test"]["samples"] == 3589


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A short fer-vgg run (width 8, 4 epochs) on 3,000 training faces (a fifth of them for validation) and 300 test
    faces: small enough for CI, long enough to learn something. Set to learn fast, whatever the default recipe
    (made for hours of training): no dropout, augmentation, class weights or moving average, fp32."""
    out = tmp_path_factory.mktemp("fer") / "run"
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = main(["train", "fer2013", "--data", str(DATA), "--out", str(out), "--limit-train", "3000",
                     "--val-fraction", "0.2", "--limit-test", "300", "--epochs", "4", "--width", "8", "--dropout", "0",
                     "--no-augment", "--label-smoothing", "0", "--optimizer", "adamw", "--lr", "3e-3",
                     "--batch-size", "64", "--class-weights", "none", "--ema", "0", "--precision", "fp32",
                     "--device", "cpu", "--quiet"])
    finally:
        for s, h in handlers.items():  # the training loop turns Ctrl-C into a resumable stop: give it back
            signal.signal(s, h)
    assert code == 0
    return out


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """A slice of the real test split in the Kaggle layout: root/test/<class>/, 10 faces per class."""
    root = tmp_path_factory.mktemp("faces")
    for name in CLASSES:
        (root / "test" / name).mkdir(parents=True)
        for f in sorted((DATA / "test" / name).iterdir())[:10]:
            shutil.copy(f, root / "test" / name / f.name)
    return root


@pytest.mark.data
@pytest.mark.slow
def test_train_writes_the_run_folder(run):
    for f in ("config.json", "history.csv", "best.pt", "last.pt", "metrics.json", "plots/curves.png",
              "plots/confusion_matrix.png"):
        assert (run / f).is_file(), f
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["num_samples"] == 300 and metrics["classes"] == CLASSES
    val_acc = [float(r["val_acc"]) for r in history(run)]
    assert np.array(metrics["confusion_matrix"]).sum() == 300 and metrics["best_epoch"] == 1 + int(np.argmax(val_acc))
    ckpt = torch.load(run / "best.pt", map_location="cpu", weights_only=False)
    assert ckpt["arch"] == "fer-vgg" and ckpt["model_kwargs"]["width"] == 8 and ckpt["input_shape"] == [1, 48, 48]
    config = json.loads((run / "config.json").read_text())
    assert config["samples"]["train"] + config["samples"]["val"] == 3000


def history(run):
    with open(run / "history.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.data
@pytest.mark.slow
def test_short_run_learns(run):
    """Learning, not just running: the best checkpoint beats always answering the most common class (happy) on its
    own validation split and on the test images, by more than 3 standard errors of that rate on so many images.
    (The splits are stratified slices of FER-2013, so their majority rate is the dataset's, from its README.)"""
    config = json.loads((run / "config.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    for split, accuracy in (("val", float(history(run)[metrics["best_epoch"] - 1]["val_acc"])),
                            ("test", metrics["accuracy"])):
        counts = README_COUNTS["train" if split == "val" else "test"]
        majority, n = max(counts) / sum(counts), config["samples"][split]
        assert accuracy > majority + 3 * math.sqrt(majority * (1 - majority) / n), (split, accuracy, majority, n)


@pytest.mark.data
@pytest.mark.slow
def test_eval_and_predict_agree(run, faces, capsys):
    assert main(["eval", str(run), "--data", str(faces), "--device", "cpu", "--cache-dir", f"{faces}-cache",
                 "--out", f"{faces}-metrics.json"]) == 0
    by_data = json.loads(capsys.readouterr().out)
    assert by_data == json.loads(Path(f"{faces}-metrics.json").read_text())
    assert by_data["split"] == "test" and by_data["num_samples"] == 70
    assert [by_data["per_class"][c]["support"] for c in CLASSES] == [10] * 7
    assert main(["eval", str(run), "--images", str(faces / "test"), "--device", "cpu"]) == 0
    by_images = json.loads(capsys.readouterr().out)
    assert by_images["confusion_matrix"] == by_data["confusion_matrix"]
    files = sorted((faces / "test").glob("*/*"))
    assert main(["predict", str(run), *map(str, files), "--device", "cpu"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == list(map(str, files))
    assert all(abs(sum(line["probabilities"].values()) - 1) < 1e-4 for line in lines)
    correct = sum(line["label"] == Path(line["file"]).parent.name for line in lines)
    assert by_data["accuracy"] == pytest.approx(correct / 70)


@pytest.mark.data
@pytest.mark.slow
def test_visualize_and_export_the_run(run, faces, tmp_path, capsys):
    """visualize, ONNX and HDF5 agree with `predict`. A single pass is compared with `predict --tta none`; plain
    `predict` uses the run's own test-time augmentation (the recipe's; flip = the mean of the probabilities of the
    image and of its mirror image), checked here from the ONNX model."""
    face = sorted((faces / "test" / "happy").iterdir())[0]
    tta = json.loads((run / "config.json").read_text())["tta"]
    predicted = {}
    for mode in ("none", None):
        assert main(["predict", str(run), str(face), "--device", "cpu", *(["--tta", mode] if mode else [])]) == 0
        predicted[mode or tta] = json.loads(capsys.readouterr().out)
    assert main(["visualize", str(run), "--image", str(face), "--out", str(tmp_path / "vis")]) == 0
    capsys.readouterr()
    shown = json.loads((tmp_path / "vis" / "prediction.json").read_text())
    assert shown["label"] == predicted["none"]["label"] and len(shown["layers"]) == 4
    assert all((tmp_path / "vis" / f).is_file() for f in shown["files"])

    assert main(["export", str(run), "--format", "onnx"]) == 0
    assert json.loads(capsys.readouterr().out)["max_abs_diff"] <= 1e-4
    x = np.asarray(Image.open(face).convert("L"), dtype=np.float32)[None, None] / 255
    session = ort.InferenceSession(str(run / "model.onnx"), providers=["CPUExecutionProvider"])
    probs = torch.from_numpy(session.run(None, {"images": x})[0]).softmax(1)[0]
    mirrored = torch.from_numpy(session.run(None, {"images": x[..., ::-1].copy()})[0]).softmax(1)[0]
    for mode, want in (("none", probs), ("flip", (probs + mirrored) / 2)):
        if mode in predicted:
            got = predicted[mode]["probabilities"]
            assert max(abs(float(want[i]) - got[c]) for i, c in enumerate(CLASSES)) < 1e-4, mode

    assert main(["export", str(run), "--format", "h5", "--out", str(tmp_path / "fer.h5")]) == 0
    from cnnlab.export import load_h5
    model, meta = load_h5(tmp_path / "fer.h5")
    assert meta["classes"] == CLASSES and meta["arch"] == "fer-vgg"
    with torch.no_grad():
        p = model(torch.from_numpy(x)).softmax(1)[0]
    assert torch.allclose(p, probs, atol=1e-4)
