"""CIFAR-10, the official python version: DIR/cifar-10-batches-py/ (data_batch_1..5, test_batch, batches.meta),
or the cifar-10-python.tar.gz archive it comes in (read in place, not unpacked). 32×32 RGB, 10 classes.

torchvision reads the same pickle batches, but its `CIFAR10` class refuses a folder unless all six files are there.
This loader reads the train batches that are present and says how many images it found (`TensorData.note`), so a
partial copy (e.g. 2 of the 5 train batches) trains, and a complete download reads all 50,000 images.
The pickles are read with an unpickler that only builds numpy arrays, lists and strings (no arbitrary code).
"""

from __future__ import annotations

import io
import pickle
import sys
import tarfile
from pathlib import Path

import numpy as np
import torch

from cnnlab.data.tensors import TensorData, cached
from cnnlab.errors import DataError

NAME = "cifar10"
SPLITS = ("train", "test")
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
FOLDER, ARCHIVE = "cifar-10-batches-py", "cifar-10-python.tar.gz"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)
URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class _SafeUnpickler(pickle.Unpickler):
    """Only what the official batches hold: numpy arrays (and their dtypes), plus builtins."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _unpickle(raw: bytes, where: str) -> dict:
    try:
        d = _SafeUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as e:
        raise DataError(f"{where}: not a CIFAR-10 python batch ({e.__class__.__name__}: {e}); "
                        f"download cifar-10-python.tar.gz again from {URL}") from None
    if not isinstance(d, dict):
        raise DataError(f"{where}: not a CIFAR-10 python batch (a {type(d).__name__}, expected a dict)")
    return d


def decode_batch(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 3, 32, 32], labels int64 [N]) of one pickled batch (rows: 1024 red, 1024 green, 1024 blue)."""
    d = _unpickle(raw, where)
    data, labels = d.get("data"), d.get("labels", d.get("fine_labels"))
    if not isinstance(data, np.ndarray) or labels is None:
        raise DataError(f"{where}: expected the keys 'data' (an array) and 'labels'; found {sorted(map(str, d))}")
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{where}: 'data' must be uint8 [N, 3072], got {data.dtype} {list(data.shape)}")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (len(data),):
        raise DataError(f"{where}: {len(data)} images but {labels.size} labels; the file is damaged, download it again")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise DataError(f"{where}: label {int(labels.max())} is outside 0..9; this is not CIFAR-10 (CIFAR-100?)")
    return data.reshape(-1, 3, 32, 32), labels


class Source:
    """The batches folder or the archive: which batch files it has, and their bytes."""

    def __init__(self, path: Path):
        self.path = path
        if path.is_dir():
            self.names = sorted(p.name for p in path.iterdir() if p.is_file())
        else:
            try:
                with tarfile.open(path, "r:gz") as tar:
                    self.members = {Path(m.name).name: m.name for m in tar.getmembers() if m.isfile()}
            except (tarfile.TarError, OSError, EOFError) as e:
                raise DataError(f"{path}: not a readable .tar.gz ({e}); download it again from {URL}") from None
            self.names = sorted(self.members)

    def read(self, names: list[str]) -> dict[str, bytes]:
        if self.path.is_dir():
            return {n: (self.path / n).read_bytes() for n in names}
        with tarfile.open(self.path, "r:gz") as tar:
            return {n: tar.extractfile(self.members[n]).read() for n in names}

    def where(self, name: str) -> str:
        return str(self.path / name) if self.path.is_dir() else f"{self.path}:{self.members[name]}"


def find(root: Path) -> Path | None:
    """The batches folder or archive in `root` (or `root` itself), or None."""
    for p in (root / FOLDER, root):
        if p.is_dir() and any((p / n).is_file() for n in TRAIN_BATCHES + TEST_BATCHES):
            return p
    for p in (root / ARCHIVE, root):
        if p.is_file() and p.name.endswith((".tar.gz", ".tgz")):
            return p
    return None


def locate(root: Path) -> None:
    """Raise the DataError that `load` would when `root` holds no CIFAR-10 batches; reads none."""
    if find(root) is None:
        raise DataError(missing_message(root))


def missing_message(root: Path) -> str:
    return (f"CIFAR-10 not found in {root}: expected {root / FOLDER}/ (data_batch_1..5, test_batch) "
            f"or {root / ARCHIVE}. Download the python version from {URL} and put it there, "
            "or run the command again with --download")


def download(root: Path) -> None:
    """torchvision's download (cifar-10-python.tar.gz, 163 MB, md5-checked) unpacked into root/cifar-10-batches-py."""
    from torchvision.datasets import CIFAR10
    try:
        CIFAR10(str(root), train=True, download=True)
    except Exception as e:  # no network, read-only folder, ...
        raise DataError(f"CIFAR-10 download into {root} failed ({e.__class__.__name__}: {e}); "
                        f"download {ARCHIVE} from {URL} by hand and put it in {root}") from None


def read_classes(src: Source) -> list[str]:
    if "batches.meta" not in src.names:
        return list(CLASSES)
    meta = _unpickle(src.read(["batches.meta"])["batches.meta"], src.where("batches.meta"))
    names = meta.get("label_names")
    if not isinstance(names, list) or len(names) != len(CLASSES):
        raise DataError(f"{src.where('batches.meta')}: expected 10 'label_names', got {names!r}")
    return [str(n) for n in names]


def decode(src: Source, names: list[str]) -> TensorData:
    raw = src.read(names)
    parts = [decode_batch(raw[n], src.where(n)) for n in names]
    images = torch.from_numpy(np.concatenate([p[0] for p in parts]))
    labels = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    return TensorData(images, labels, read_classes(src))


def load(root: str | Path, split: str = "train", cache: str | None = None,
         download_missing: bool = False) -> TensorData:
    if split not in SPLITS:
        raise DataError(f"CIFAR-10 has splits {SPLITS}, not {split!r}")
    root = Path(root)
    path = find(root)
    if path is None and download_missing:
        download(root)
        path = find(root)
    if path is None:
        raise DataError(missing_message(root))
    src = Source(path)
    wanted = TRAIN_BATCHES if split == "train" else TEST_BATCHES
    names = [n for n in wanted if n in src.names]
    if not names:
        raise DataError(f"{path}: no {split} batch found (expected {', '.join(wanted)}); "
                        f"download the complete python version from {URL}")
    meta_files = [path / "batches.meta"] if "batches.meta" in src.names else []
    files = [path] if path.is_file() else [path / n for n in names] + meta_files
    data = cached(f"cifar10-{split}-{'-'.join(n[-1] for n in names)}", files, lambda: decode(src, names), cache)
    if split == "train":
        data.note = (f"{len(names)} of {len(wanted)} train batches found ({', '.join(names)}): "
                     f"{len(data):,} train images"
                     + ("" if len(names) == len(wanted) else f"; the complete CIFAR-10 has {10_000 * len(wanted):,}"))
        if data.note not in _SAID:  # once per process, however often the split is loaded
            _SAID.add(data.note)
            print(f"cifar10: {path}: {data.note}", file=sys.stderr)
    return data


_SAID: set[str] = set()
