"""`cnnlab handin --data DIR` (and --emnist/--fer2013/--cifar10 DIR) finds each dataset where `cnnlab train` reads
it: a student's own downloads, laid out as torchvision and Kaggle write them, not only ../shared/data's names.

The downloads are a temporary folder of symlinks to the real files in ../shared/data:
    DIR/EMNIST/raw/emnist-byclass-*        torchvision's EMNIST(root=DIR) layout
    DIR/cifar-10-batches-py/*              torchvision's CIFAR10(root=DIR) layout
    DIR/archive/{train,test}/<class>/      Kaggle's FER-2013 zip, unpacked as it comes (given with --fer2013)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnlab import data
from cnnlab.cli import main
from cnnlab.data import layout
from cnnlab.handin.build import Handin

from conftest import CIFAR, EMNIST, FER, SHARED

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def download(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("downloads")
    raw = root / "EMNIST" / "raw"
    raw.mkdir(parents=True)
    for f in EMNIST.iterdir():
        (raw / f.name).symlink_to(f)
    (root / "cifar-10-batches-py").symlink_to(CIFAR / "cifar-10-batches-py")
    (root / "archive").mkdir()
    for split in ("train", "test"):
        (root / "archive" / split).symlink_to(FER / split)
    return root


def test_each_dataset_is_found_where_train_reads_it(download, tmp_path, monkeypatch):
    # --data alone: EMNIST and CIFAR-10 in torchvision's layouts under DIR itself; FER-2013 is in no usual folder
    with pytest.raises(Exception) as e:
        layout.resolve(download, {})
    assert "--data" in str(e.value) and "no fer2013 dataset" in str(e.value) and "--fer2013 DIR" in str(e.value)
    found = layout.resolve(download, {"fer2013": str(download / "archive")})
    assert found == {"emnist": download, "fer2013": download / "archive", "cifar10": download}
    # what is found is what `cnnlab train` loads: the real files through the symlinks
    emnist = data.load("emnist", found["emnist"], "test", cache=str(tmp_path / "cache"))
    assert len(emnist) == 15_820 and len(emnist.classes) == 62
    assert len(data.load("cifar10", found["cifar10"], "test", cache=str(tmp_path / "cache"))) == 10_000
    # ../shared/data's own names are found as before
    assert layout.resolve(SHARED, {}) == {"emnist": EMNIST, "fer2013": FER, "cifar10": CIFAR}

    # the hand-in hands each folder to the notebooks, whose setup() reads it
    monkeypatch.chdir(tmp_path)
    h = Handin(tmp_path / "hw", "quick", str(download), notebooks=tmp_path,
               datasets={"fer2013": str(download / "archive"), "emnist": None, "cifar10": None})
    env = h.notebook_env()
    assert env["CNNLAB_DATA_EMNIST"] == str(download) and env["CNNLAB_DATA_FER2013"] == str(download / "archive")
    assert env["CNNLAB_DATA_CIFAR10"] == str(download)
    from cnnlab.notebook_helpers import start
    for key in ("CNNLAB_DATA", "CNNLAB_OUT", "CNNLAB_BUDGET", *(f"CNNLAB_DATA_{n.upper()}" for n in layout.FOLDERS)):
        monkeypatch.setenv(key, env[key]) if key in env else monkeypatch.delenv(key, raising=False)
    nb = start.setup("p2", "2_fer2013")
    assert nb.dataset("fer2013") == download / "archive" and nb.dataset("emnist") == download
    # a notebook opened by hand with only CNNLAB_DATA finds what it can in it the same way
    for n in layout.FOLDERS:
        monkeypatch.delenv(f"CNNLAB_DATA_{n.upper()}")
    nb = start.setup("p1", "1_emnist")
    assert nb.dataset("emnist") == download and nb.dataset("cifar10") == download


def test_a_missing_dataset_is_one_line_before_any_work(download, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code = main(["handin", "--out", str(tmp_path / "hw"), "--budget", "quick", "--data", str(empty)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--data" in err and "--emnist DIR" in err
    code = main(["handin", "--out", str(tmp_path / "hw"), "--budget", "quick", "--data", str(download),
                 "--fer2013", str(download / "EMNIST")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"--fer2013 {download / 'EMNIST'}" in err and "FER-2013" in err
    assert not (tmp_path / "hw").exists()  # nothing started
