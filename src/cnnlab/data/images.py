"""A folder of `<class>/<image>` files (PNG, JPEG, ...) read into a `TensorData` of a given shape."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from cnnlab.data.tensors import TensorData
from cnnlab.errors import DataError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def read_image(path: Path, shape: list[int]) -> np.ndarray:
    """One image as uint8 [C, H, W]: converted to gray (C=1) or RGB (C=3) and resized to H×W."""
    c, h, w = shape
    try:
        with Image.open(path) as im:
            im = im.convert("L" if c == 1 else "RGB")
            if im.size != (w, h):
                im = im.resize((w, h), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable image ({e.__class__.__name__}); remove or replace the file") from None
    return arr[None] if c == 1 else arr.transpose(2, 0, 1)


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)


def class_folders(root: Path) -> list[Path]:
    """The sub-folders of root, without hidden ones (.ipynb_checkpoints, .DS_Store folders, ...)."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_folder(root: str | Path, classes: list[str], shape: list[int],
                skip_bad: bool = False) -> tuple[TensorData, list[Path]]:
    """Read ROOT/<class>/<image>. Every sub-folder must be one of `classes`; returns (data, skipped files)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder; give a folder of <class>/<image> files")
    folders = class_folders(root)
    if not folders:
        raise DataError(f"{root}: holds no class folders; expected {root}/<class>/<image> with classes {classes}")
    unknown = [f.name for f in folders if f.name not in classes]
    if unknown:
        raise DataError(f"{root}: unknown class folder(s) {unknown}; the model's classes are {classes} "
                        "(rename the folders to match)")
    from tqdm.auto import tqdm

    from cnnlab.data.tensors import SLOW
    images, labels, skipped = [], [], []
    files = [(classes.index(folder.name), f) for folder in folders for f in image_files(folder)]
    for label, f in tqdm(files, desc=f"decoding {root}", unit="img", delay=SLOW, leave=False, file=sys.stderr,
                         mininterval=0.5):
        try:
            images.append(read_image(f, shape))
        except DataError:
            if not skip_bad:
                raise
            skipped.append(f)
            continue
        labels.append(label)
    if not images:
        raise DataError(f"{root}: no images found in the class folders (extensions {sorted(EXTENSIONS)})")
    data = TensorData(torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.long), list(classes))
    return data, skipped
