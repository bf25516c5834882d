"""EMNIST byclass: the official idx files, directly in DIR or in torchvision's DIR/EMNIST/raw/ layout.

The official images are stored transposed; they are transposed once at decode time, so every tensor in cnnlab
is upright. Classes come from `emnist-byclass-mapping.txt` (label -> ASCII code).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import torch

from cnnlab.data.idx import read_idx
from cnnlab.data.tensors import TensorData, cached
from cnnlab.errors import DataError

NAME = "emnist"
SPLITS = ("train", "test")
MEAN, STD = (0.1736,), (0.3317,)
URL = "https://www.nist.gov/itl/products-and-services/emnist-dataset"
PREFIX = "emnist-byclass"


def _find(root: Path, name: str) -> Path:
    for folder in (root, root / "EMNIST" / "raw"):
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.exists():
                return candidate
    raise DataError(f"EMNIST file not found: {root / name}[.gz] (nor in {root / 'EMNIST' / 'raw'}). "
                    f"Download gzip.zip from {URL} and put the {PREFIX}-* files in {root}, "
                    f"or run the command again with --download")


def read_mapping(path: Path) -> list[str]:
    classes: dict[int, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            label, code = int(parts[0]), int(parts[1])
            classes[label] = chr(code)
        except (ValueError, IndexError):
            raise DataError(f"{path}:{n}: expected 'label ascii_code', got {line!r}; "
                            "download the mapping again") from None
    if sorted(classes) != list(range(len(classes))):
        raise DataError(f"{path}: labels must be 0..{len(classes) - 1} without gaps; download the mapping again")
    return [classes[i] for i in range(len(classes))]


def files(root: Path, split: str) -> tuple[Path, Path, Path]:
    if split not in SPLITS:
        raise DataError(f"EMNIST has splits {SPLITS}, not {split!r}")
    return (_find(root, f"{PREFIX}-{split}-images-idx3-ubyte"), _find(root, f"{PREFIX}-{split}-labels-idx1-ubyte"),
            _find(root, f"{PREFIX}-mapping.txt"))


def locate(root: Path) -> None:
    """Raise the DataError that `load` would when `root` lacks a file of a split; reads nothing."""
    for split in SPLITS:
        files(root, split)


def decode(images_path: Path, labels_path: Path, mapping_path: Path) -> TensorData:
    classes = read_mapping(mapping_path)
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1).long()
    if images.dtype != torch.uint8:
        raise DataError(f"{images_path}: expected uint8 pixels, got {images.dtype}")
    if len(images) != len(labels):
        raise DataError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels; "
                        "the two files belong to different downloads")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise DataError(f"{labels_path}: label {int(labels.max())} does not fit the {len(classes)} classes of "
                        f"{mapping_path}; use the mapping file of the same EMNIST split (byclass)")
    images = images.transpose(1, 2).contiguous().unsqueeze(1)  # stored transposed: make upright, add channel
    return TensorData(images, labels, classes)


def download(root: Path) -> None:
    """torchvision's EMNIST download (gzip.zip from NIST, ~560 MB) into root/EMNIST/raw/."""
    from torchvision.datasets import EMNIST
    try:
        EMNIST(str(root), split="byclass", train=True, download=True)
    except Exception as e:  # network errors: say what to do
        raise DataError(f"EMNIST download into {root} failed ({e}); download gzip.zip from {URL} by hand") from None


def load(root: str | Path, split: str = "train", cache: str | None = None,
         download_missing: bool = False) -> TensorData:
    root = Path(root)
    if download_missing:
        try:
            files(root, split)
        except DataError:
            download(root)
    paths = files(root, split)
    return cached(f"emnist-{split}", list(paths), lambda: decode(*paths), cache)


def load_sample(split: str = "train") -> TensorData:
    """The small real EMNIST sample shipped inside the package (for `cnnlab demo` and the tests)."""
    with resources.as_file(resources.files("cnnlab.shipped") / "emnist_sample.npz") as p:
        z = np.load(p)
        classes = [str(c) for c in z["classes"]]
        images, labels = torch.from_numpy(z[f"{split}_images"]), torch.from_numpy(z[f"{split}_labels"]).long()
        return TensorData(images, labels, classes)
