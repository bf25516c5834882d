"""A face model given a photo: `cnnlab predict` and `cnnlab visualize` find its faces as `cnnlab live --image`
does (its detector, its defaults, its FER-like crop), so one photo gets one answer whichever command reads it.

An image no larger than CROP_AT_MOST times the model's input (a FER-2013 image is 48×48) is a face crop already
and is classified whole, as every image is with `--whole-image`. Models of other datasets (EMNIST, CIFAR-10)
always take the whole image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.errors import DataError

CROP_AT_MOST = 2  # times the model's input side: the size `cnnlab live --image` also takes for a face crop


def is_face_model(ckpt: dict) -> bool:
    return (ckpt.get("dataset") or (ckpt.get("config") or {}).get("dataset")) == "fer2013"


def is_crop(size: tuple[int, int], input_shape) -> bool:
    """Whether an image of `size` (width, height) is small enough to be a face crop for this input shape."""
    return min(size) <= CROP_AT_MOST * max(input_shape[1:])


def image_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            return im.size
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable image ({e.__class__.__name__}); remove or replace the file") from None


def needs_faces(path: Path, ckpt: dict, whole: bool) -> bool:
    """Whether the faces of the image at `path` must be found before the model sees them."""
    return not whole and is_face_model(ckpt) and not is_crop(image_size(path), ckpt["input_shape"])


def find_faces(path: Path, model: str) -> tuple[np.ndarray, np.ndarray]:
    """(boxes int [N, 4] (x, y, w, h), crops uint8 [N, 1, 48, 48]): the faces `cnnlab live MODEL --image PATH`
    finds, left to right, cut as it cuts them: the same FaceOptions (whose defaults the live command shows)."""
    from cnnlab.live.detect import crop_faces, to_gray
    from cnnlab.live.media import read_image
    from cnnlab.live.model import build_pipeline
    from cnnlab.live.options import FaceOptions
    pipe, _ = build_pipeline(FaceOptions(model=model, device="cpu", backend="torch"), still=True)
    frame = read_image(str(path))
    boxes = pipe.detector.detect(frame)
    return np.asarray(boxes, dtype=int).reshape(-1, 4), crop_faces(to_gray(frame), boxes, pipe.margin)


def no_face(path: Path, option: str = "--whole-image") -> DataError:
    w, h = image_size(path)
    return DataError(f"{path}: no face found in this {w}×{h} image, and a FER-2013 model classifies face crops; give "
                     f"a crop of the face, add {option} to classify the whole image as one face, or try "
                     f"'cnnlab live --image {path}' (its --min-face and --detector find more faces)")


def found_line(path: Path, n: int) -> str:
    w, h = image_size(path)
    return (f"{path}: a {w}×{h} photo, not a face crop: {n} face(s) found and cropped as 'cnnlab live --image' "
            "does (--whole-image takes the whole image instead)")
