"""FER-2013: the Kaggle image layout (DIR/train/<class>/*.jpg|png, DIR/test/<class>/...) or the original
fer2013.csv (columns emotion, pixels, Usage). 48×48 gray faces, 7 expressions.

Images in colour are converted to gray; other sizes are resized to 48×48. `skip_bad=True` skips unreadable
images (and reports how many) instead of stopping at the first.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import torch

from cnnlab.data.images import class_folders, image_files, read_folder
from cnnlab.data.tensors import TensorData, cached
from cnnlab.errors import DataError

NAME = "fer2013"
SPLITS = ("train", "test")
CLASSES = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
CSV_EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]  # the CSV's label order 0..6
CSV_USAGE = {"Training": "train", "PublicTest": "test", "PrivateTest": "private"}
SHAPE = [1, 48, 48]
MEAN, STD = (0.5077,), (0.2550,)
URL = "https://www.kaggle.com/datasets/msambare/fer2013"


def read_csv(path: Path, split: str) -> TensorData:
    """Rows of fer2013.csv whose Usage maps to `split` (train: Training, test: PublicTest, private: PrivateTest)."""
    images, labels = [], []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = {"emotion", "pixels", "Usage"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}: missing column(s) {sorted(missing)}; expected emotion,pixels,Usage")
        for n, row in enumerate(reader, 2):
            if row["Usage"] is None:  # a truncated row: DictReader fills the missing fields with None
                raise DataError(f"{path}:{n}: the row has fewer than 3 fields; expected emotion,pixels,Usage")
            usage = row["Usage"].strip()
            if usage not in CSV_USAGE:
                raise DataError(f"{path}:{n}: unknown Usage {usage!r}; expected one of {list(CSV_USAGE)}")
            if CSV_USAGE[usage] != split:
                continue
            try:
                emotion = int(row["emotion"])
                pixels = np.array(row["pixels"].split(), dtype=np.int64)
            except ValueError:
                raise DataError(f"{path}:{n}: emotion and pixels must be integers") from None
            if not 0 <= emotion < len(CSV_EMOTIONS):
                raise DataError(f"{path}:{n}: emotion {emotion} is not in 0..6")
            if pixels.size != 48 * 48 or pixels.min() < 0 or pixels.max() > 255:
                raise DataError(f"{path}:{n}: expected 2304 pixel values in 0..255, got {pixels.size}")
            images.append(pixels.astype(np.uint8).reshape(1, 48, 48))
            labels.append(CLASSES.index(CSV_EMOTIONS[emotion]))
    if not images:
        raise DataError(f"{path}: no rows with Usage {[u for u, s in CSV_USAGE.items() if s == split]}")
    return TensorData(torch.from_numpy(np.stack(images)), torch.tensor(labels), list(CLASSES))


def _source(root: Path, split: str) -> Path:
    if (root / split).is_dir():
        return root / split
    if (root / "fer2013.csv").is_file():
        return root / "fer2013.csv"
    raise DataError(f"FER-2013 not found in {root}: expected {root}/{split}/<class>/*.jpg (Kaggle layout) or "
                    f"{root}/fer2013.csv. Download it from {URL} and unpack it there")


def locate(root: Path) -> None:
    """Raise the DataError that `load` would when `root` holds neither layout; reads no image."""
    for split in SPLITS:
        _source(root, split)


def _check_classes(folder: Path) -> None:
    names = [p.name for p in class_folders(folder)]
    unknown = [n for n in names if n not in CLASSES]
    if unknown:
        raise DataError(f"{folder}: unknown class folder(s) {unknown}; FER-2013's classes are {CLASSES} "
                        "(rename the folder, e.g. a typo such as 'suprise')")
    for name in names:
        if not image_files(folder / name):  # a folder holding only e.g. Thumbs.db is empty too
            raise DataError(f"{folder / name}: empty class folder (no image files); put its images back or "
                            "remove the folder")


def load(root: str | Path, split: str = "train", cache: str | None = None, download_missing: bool = False,
         skip_bad: bool = False) -> TensorData:
    if split not in SPLITS + ("private",):
        raise DataError(f"FER-2013 has splits {SPLITS} (and 'private' in fer2013.csv), not {split!r}")
    root = Path(root)
    if download_missing:
        raise DataError(f"FER-2013 cannot be downloaded automatically (Kaggle needs a login): get it from {URL}")
    src = _source(root, split)
    if src.suffix == ".csv":
        return cached(f"fer2013-csv-{split}", [src], lambda: read_csv(src, split), cache)
    _check_classes(src)
    files = [src] + class_folders(src)  # folder mtimes change when files come or go

    def decode() -> TensorData:
        data, skipped = read_folder(src, CLASSES, SHAPE, skip_bad=skip_bad)
        if skipped:
            print(f"skipped {len(skipped)} unreadable image(s) in {src}, e.g. {skipped[0]}", file=sys.stderr)
        return data
    return cached(f"fer2013-{split}{'-skipbad' if skip_bad else ''}", files, decode, cache)
