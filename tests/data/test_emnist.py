import numpy as np
import pytest
import torch

from cnnlab.data import emnist
from cnnlab.data.idx import read_idx, write_idx
from cnnlab.data.tensors import cached, stratified_split
from cnnlab.errors import DataError

from conftest import EMNIST, cnnlab


def write_set(folder, n=20, classes=62, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, classes, n).astype(np.uint8)
    ext = ".gz" if gz else ""
    for split in ("train", "test"):
        write_idx(folder / f"emnist-byclass-{split}-images-idx3-ubyte{ext}", images)
        write_idx(folder / f"emnist-byclass-{split}-labels-idx1-ubyte{ext}", labels)
    chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    mapping = "".join(f"{i} {ord(c)}\n" for i, c in enumerate(chars[:classes]))
    (folder / "emnist-byclass-mapping.txt").write_text(mapping)
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip_and_upright(tmp_path, gz):
    images, labels = write_set(tmp_path, gz=gz)
    t = emnist.load(tmp_path, "train", cache=str(tmp_path / "cache"))
    assert t.images.shape == (20, 1, 28, 28) and t.images.dtype == torch.uint8
    # stored transposed on disk: the loader transposes once
    assert torch.equal(t.images[:, 0], torch.from_numpy(images).transpose(1, 2))
    assert torch.equal(t.labels, torch.from_numpy(labels).long())
    assert t.classes[10] == "A" and t.classes[61] == "z"


def test_torchvision_raw_layout(tmp_path):
    raw = tmp_path / "EMNIST" / "raw"
    raw.mkdir(parents=True)
    write_set(raw, gz=False)
    assert len(emnist.load(tmp_path, "test", cache=str(tmp_path / "cache"))) == 20


def test_wrong_magic(tmp_path):
    write_set(tmp_path, gz=False)
    f = tmp_path / "emnist-byclass-train-images-idx3-ubyte"
    f.write_bytes(b"\x12\x34" + f.read_bytes()[2:])
    with pytest.raises(DataError, match="wrong magic.*download it again") as e:
        read_idx(f, 3)
    assert str(f) in str(e.value)


def test_truncated_file(tmp_path):
    write_set(tmp_path, gz=False)
    f = tmp_path / "emnist-byclass-train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated"):
        read_idx(f, 3)


def test_truncated_gzip(tmp_path):
    write_set(tmp_path, gz=True)
    f = tmp_path / "emnist-byclass-train-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:-50])
    with pytest.raises(DataError, match="cannot read|truncated"):
        read_idx(f, 3)


def test_labels_file_given_as_images(tmp_path):
    write_set(tmp_path, gz=False)
    with pytest.raises(DataError, match="1-dimensional array, expected 3"):
        read_idx(tmp_path / "emnist-byclass-train-labels-idx1-ubyte", 3)


def test_mapping_that_does_not_fit_labels(tmp_path):
    write_set(tmp_path, n=200, classes=62)
    (tmp_path / "emnist-byclass-mapping.txt").write_text("".join(f"{i} {48 + i}\n" for i in range(10)))
    with pytest.raises(DataError, match="does not fit the 10 classes"):
        emnist.load(tmp_path, "train", cache=str(tmp_path / "cache"))


def test_missing_file_names_it_and_says_what_to_do(tmp_path):
    write_set(tmp_path)
    (tmp_path / "emnist-byclass-test-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="emnist-byclass-test-labels-idx1-ubyte.*--download"):
        emnist.load(tmp_path, "test", cache=str(tmp_path / "cache"))
    # eval needs only the split it reads: train still loads
    assert len(emnist.load(tmp_path, "train", cache=str(tmp_path / "cache"))) == 20


def test_cache_is_reused_and_refreshed(tmp_path):
    write_set(tmp_path)
    calls = []

    def decode():
        calls.append(1)
        return emnist.decode(*emnist.files(tmp_path, "train"))
    files = list(emnist.files(tmp_path, "train"))
    a = cached("t", files, decode, str(tmp_path / "c"))
    b = cached("t", files, decode, str(tmp_path / "c"))
    assert len(calls) == 1 and torch.equal(a.images, b.images)
    write_set(tmp_path, seed=1)  # a changed source file is decoded again
    import os
    os.utime(files[0], ns=(1, 1))
    cached("t", files, decode, str(tmp_path / "c"))
    assert len(calls) == 2


def test_stratified_split_keeps_class_shares():
    labels = torch.cat([torch.zeros(900), torch.ones(100)]).long()
    tr, va = stratified_split(labels, 0.1, seed=0)
    assert len(set(tr.tolist()) & set(va.tolist())) == 0 and len(tr) + len(va) == 1000
    assert (labels[va] == 0).sum() == 90 and (labels[va] == 1).sum() == 10


@pytest.mark.data
def test_cli_check_and_samples_on_real_data(tmp_path):
    r = cnnlab("data", "check", "emnist", "--data", EMNIST, "--json")
    import json
    report = json.loads(r.stdout)
    assert report["splits"]["train"]["samples"] == 100_000 and report["splits"]["test"]["samples"] == 15_820
    assert len(report["splits"]["train"]["classes"]) == 62
    out = tmp_path / "samples.png"
    cnnlab("data", "samples", "emnist", "--data", EMNIST, "--out", out)
    assert out.stat().st_size > 10_000


def test_cli_check_reports_bad_file_with_exit_2(tmp_path):
    write_set(tmp_path, gz=False)
    f = tmp_path / "emnist-byclass-test-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-10])
    r = cnnlab("data", "check", "emnist", "--data", tmp_path, "--cache-dir", tmp_path / "c", check=False)
    assert r.returncode == 2 and "truncated" in r.stderr and str(f) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
