"""CIFAR-10 loader: official pickle batches written by the test (folder and tar.gz), and the real
../shared/data copy."""

import json
import pickle
import tarfile

import numpy as np
import pytest
import torch

from cnnlab.data import cifar10
from cnnlab.errors import DataError
from conftest import CIFAR, cnnlab

NAMES = cifar10.CLASSES
ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # on a small, busy CPU two threads contend and run several times slower


def batch(n: int, seed: int) -> dict:
    """A batch in the official format: uint8 [n, 3072] rows (1024 red, 1024 green, 1024 blue), labels 0..9."""
    rng = np.random.default_rng(seed)
    return {"batch_label": f"batch {seed}", "labels": [int(v) for v in rng.integers(0, 10, n)],
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "filenames": [f"img_{seed}_{i}.png" for i in range(n)]}


def write_folder(root, train_batches=(1, 2), n=7):
    folder = root / cifar10.FOLDER
    folder.mkdir(parents=True)
    batches = {}
    for i in train_batches:
        batches[f"data_batch_{i}"] = batch(n, i)
    batches["test_batch"] = batch(5, 99)
    for name, b in batches.items():
        (folder / name).write_bytes(pickle.dumps(b, protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": NAMES, "num_cases_per_batch": n,
                                                        "num_vis": 3072}, protocol=2))
    return folder, batches


def test_pickle_batches_decode_to_upright_chw_images(tmp_path):
    _, batches = write_folder(tmp_path, (1, 2))
    t = cifar10.load(tmp_path, "train", cache=tmp_path / "cache")
    assert t.images.dtype == torch.uint8 and t.input_shape == [3, 32, 32] and len(t) == 14
    data = np.concatenate([batches["data_batch_1"]["data"], batches["data_batch_2"]["data"]])
    labels = batches["data_batch_1"]["labels"] + batches["data_batch_2"]["labels"]
    # pixel (c, y, x) of image i is byte c*1024 + y*32 + x of its row (the layout torchvision reads)
    i, c, y, x = 9, 2, 5, 30
    assert int(t.images[i, c, y, x]) == int(data[i, c * 1024 + y * 32 + x])
    assert torch.equal(t.images.reshape(14, -1), torch.from_numpy(data))
    assert t.labels.tolist() == labels and t.classes == NAMES
    assert "2 of 5 train batches" in t.note and "14 train images" in t.note and "50,000" in t.note
    test = cifar10.load(tmp_path, "test", cache=tmp_path / "cache")
    assert len(test) == 5 and test.labels.tolist() == batches["test_batch"]["labels"]


def test_all_five_batches_and_the_tar_gz_archive(tmp_path):
    folder, _ = write_folder(tmp_path / "unpacked", (1, 2, 3, 4, 5), n=3)
    from_folder = cifar10.load(tmp_path / "unpacked", "train", cache=tmp_path / "cache")
    assert len(from_folder) == 15 and "5 of 5" in from_folder.note and "complete" not in from_folder.note
    archive = tmp_path / "dl" / cifar10.ARCHIVE
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=cifar10.FOLDER)
    for root in (archive.parent, archive):  # the folder holding the archive, or the archive itself
        from_tar = cifar10.load(root, "train", cache=tmp_path / "cache")
        assert torch.equal(from_tar.images, from_folder.images) and torch.equal(from_tar.labels, from_folder.labels)
    assert torch.equal(cifar10.load(archive.parent, "test", cache=tmp_path / "cache").images,
                       cifar10.load(tmp_path / "unpacked", "test", cache=tmp_path / "cache").images)


def test_bad_input_is_a_clear_data_error(tmp_path):
    with pytest.raises(DataError, match="--download"):
        cifar10.load(tmp_path / "nothing", "train")
    folder, _ = write_folder(tmp_path / "a", (1,))
    raw = (folder / "data_batch_1").read_bytes()
    (folder / "data_batch_1").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="data_batch_1"):
        cifar10.load(tmp_path / "a", "train", cache=tmp_path / "cache")
    bad = batch(4, 1)
    bad["labels"][0] = 57
    (folder / "data_batch_1").write_bytes(pickle.dumps(bad))
    with pytest.raises(DataError, match="outside 0..9"):
        cifar10.load(tmp_path / "a", "train", cache=tmp_path / "cache")

    class Evil:  # a pickle that would run code when loaded
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))
    (folder / "data_batch_1").write_bytes(pickle.dumps({"data": Evil(), "labels": []}))
    with pytest.raises(DataError, match="refusing"):
        cifar10.load(tmp_path / "a", "train", cache=tmp_path / "cache")
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(DataError, match="splits"):
        cifar10.load(tmp_path / "a", "validation")


@pytest.mark.data
def test_real_shared_copy_has_20000_train_images():
    train = cifar10.load(CIFAR, "train")
    test = cifar10.load(CIFAR, "test")
    assert len(train) == 20_000 and len(test) == 10_000
    assert "20,000 train images" in train.note and "data_batch_1, data_batch_2" in train.note
    assert test.counts() == [1000] * 10 and train.classes == NAMES
    assert sum(train.counts()) == 20_000 and min(train.counts()) > 1800
    # the official order: the first labels of data_batch_1 (frog, truck, truck, deer, ...), test_batch (cat, ship, ...)
    assert train.labels[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert test.labels[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]


@pytest.mark.data
def test_data_check_cli_on_the_real_copy():
    r = cnnlab("data", "check", "cifar10", "--data", CIFAR, "--json", env=ONE_THREAD)
    report = json.loads(r.stdout)
    assert report["splits"]["train"]["samples"] == 20_000 and report["splits"]["test"]["samples"] == 10_000
    assert "2 of 5 train batches" in report["splits"]["train"]["note"]
    assert "20,000 train images" in r.stderr  # the log line
    r = cnnlab("data", "check", "cifar10", "--data", CIFAR, env=ONE_THREAD)
    assert "train 20,000, test 10,000" in r.stdout
    assert (r.stdout + r.stderr).count("2 of 5 train batches") == 1  # said once, not by the loader and the table


@pytest.mark.data
def test_train_mobilenetv2_cifar_on_a_slice(tmp_path):
    run = tmp_path / "mnv2"
    cnnlab("train", "cifar10", "--model", "mobilenetv2-cifar", "--data", CIFAR, "--out", run, "--epochs", "1",
           "--limit-train", "96", "--limit-test", "48", "--batch-size", "32", "--quiet", env=ONE_THREAD)
    m = json.loads((run / "metrics.json").read_text())
    assert m["num_samples"] == 48 and m["classes"] == NAMES and m["params_total"] > 2_000_000
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"] == "mobilenetv2-cifar" and cfg["augment"] == {"crop_pad": 4, "flip": True}
    best = torch.load(run / "best.pt", weights_only=False)
    assert best["arch"] == "mobilenetv2-cifar" and best["dataset"] == "cifar10" and best["input_shape"] == [3, 32, 32]


@pytest.mark.data
def test_missing_cifar_batches_are_said_once(capsys, monkeypatch):
    from cnnlab import data
    from cnnlab.data import cifar10
    monkeypatch.setattr(cifar10, "_SAID", set())
    data.load("cifar10", CIFAR, "train")
    data.load("cifar10", CIFAR, "train")
    assert capsys.readouterr().err.count("train batches found") == 1
