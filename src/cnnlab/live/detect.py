"""Face detection and FER-style crops (which face is which across frames: `cnnlab.live.track`).

Two detectors, one interface (`Detector`: `detect(frame) -> int array [N, 4]` of square (x, y, w, h) boxes in the
frame's pixels, each box the FER-2013-like crop of a face):
- `yunet` (default): YuNet-s (Apache-2.0, shipped in `cnnlab/shipped/yunet/` with its licence), run by OpenCV's
  `cv2.FaceDetectorYN`. Measured on FER validation faces pasted into 640×480 frames it finds 0.93 of them on a
  400-px-wide copy of the frame (score ≥ 0.5), against about 0.6 for the Haar cascade. Its box runs from the
  hairline to the chin, narrower than a FER crop; `YUNET_CROP` turns it into the square crop FER-2013 images are
  cut like (measured by `benchmarks/calibration/live_crop.py`).
- `haar`: OpenCV's Haar cascades (shipped in the opencv-python wheel as `cv2.data`), the fallback. Its box is
  about the FER crop itself (`benchmarks/speed/live_fps.py --sweep`).
Detection runs on a copy of the frame downscaled to `detect_width` pixels, which is most of the speed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from cnnlab.errors import DataError, UsageError
from cnnlab.live.options import CASCADES as CASCADE_NAMES
from cnnlab.live.options import DETECTORS
from cnnlab.live.track import iou

CASCADES = {name: f"haarcascade_frontalface_{name}.xml" for name in CASCADE_NAMES}
FACE_SIZE = 48
# Haar box -> FER crop: widen by this share of the width per side (a model card's preprocess.face_margin overrides
# it). Measured: `python -m benchmarks.speed.live_fps --sweep`.
FACE_MARGIN = 0.0
# YuNet box (x, y, w, h) -> FER crop: a square of side `scale`·w centred at (x + w/2 + dx·w, y + h/2 + dy·h).
# Measured: `python -m benchmarks.calibration.live_crop` on 700 validation faces; its 2,000-face run
# (benchmarks/results/live_crop_cpu.json) fits 1.242 and -0.025, within 1%, and no crop near it scores better.
YUNET_CROP = {"scale": 1.256, "dx": 0.0, "dy": -0.029}
# YuNet on a stream: the width of the copy it runs on, and the least score of a face.
# Measured: benchmarks/results/live_detect_cpu.json (`python -m benchmarks.calibration.live_detect`).
YUNET_WIDTH, YUNET_SCORE = 400, 0.5


class Detector(Protocol):
    """What the pipeline needs of a face detector: `detect(frame)` -> int array [N, 4] of square (x, y, w, h)
    FER-like crop boxes in the frame's pixels, left to right, of faces at least `min_face` pixels wide."""

    min_face: int
    detect_width: int

    def detect(self, frame: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class NearDetector(Detector, Protocol):
    """A detector that can also look only near the faces of the previous frame (cheaper than `detect`)."""

    def detect_near(self, frame: np.ndarray, previous: np.ndarray) -> np.ndarray: ...


def yunet_model_path() -> Path:
    return Path(str(resources.files("cnnlab.shipped") / "yunet" / "yunet_s_640_640.onnx"))


def make_detector(name: str = "yunet", detect_width: int | None = None, min_face: int | None = None,
                  cascade: str = "default", scale_factor: float = 1.1, min_neighbors: int = 4,
                  model_path: str | Path | None = None, score: float = YUNET_SCORE) -> Detector:
    """The detector named by `--detector` (yunet or haar) with the live options that apply to it. `detect_width`
    and `min_face` left at None take the detector's own defaults: what each does well on a stream (YuNet 400 px
    and faces of 40 px, Haar 320 px and 80 px)."""
    sizes = {k: v for k, v in (("detect_width", detect_width), ("min_face", min_face)) if v is not None}
    if name == "yunet":
        return YuNetDetector(model_path, score=score, **sizes)
    if name == "haar":
        return HaarDetector(cascade, scale_factor, min_neighbors, **sizes)
    raise UsageError(f"--detector must be one of {', '.join(DETECTORS)}, not {name!r}")


def to_gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame


def downscale(frame: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    """(the frame resized to `width` pixels wide (never enlarged; 0 = as it is), the factor used)."""
    h, w = frame.shape[:2]
    s = min(1.0, width / w) if width else 1.0
    if s < 1:
        return cv2.resize(frame, (max(round(w * s), 1), max(round(h * s), 1)), interpolation=cv2.INTER_AREA), s
    return frame, 1.0


class YuNetDetector:
    """YuNet through `cv2.FaceDetectorYN`. `raw(frame)` gives its own boxes, five landmarks and scores
    (float [N, 15], frame pixels); `detect(frame)` the FER-like square crops of the faces of at least
    `min_face` pixels, left to right."""

    def __init__(self, model_path: str | Path | None = None, detect_width: int = YUNET_WIDTH, min_face: int = 40,
                 score: float = YUNET_SCORE, nms: float = 0.3, top_k: int = 50, crop: dict | None = None):
        path = Path(model_path) if model_path else yunet_model_path()
        if not path.is_file():
            raise DataError(f"{path}: the YuNet face detector file is missing; "
                            "reinstall cnnlab, or use --detector haar")
        try:
            self.net = cv2.FaceDetectorYN.create(str(path), "", (320, 320), score, nms, top_k)
        except cv2.error:
            raise DataError(f"{path}: OpenCV cannot load this file as a YuNet face detector (damaged or not "
                            "YuNet's ONNX); reinstall cnnlab, or use --detector haar") from None
        self.detect_width, self.min_face, self.crop = detect_width, min_face, crop or YUNET_CROP
        self.size = None

    def raw(self, frame: np.ndarray) -> np.ndarray:
        bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame
        small, s = downscale(bgr, self.detect_width)
        size = (small.shape[1], small.shape[0])
        if size != self.size:
            self.net.setInputSize(size)
            self.size = size
        _, faces = self.net.detect(small)
        if faces is None:
            return np.zeros((0, 15), dtype=np.float32)
        faces = faces.copy()
        faces[:, :14] /= s
        return faces

    def detect(self, frame: np.ndarray) -> np.ndarray:
        return self.to_crops(self.raw(frame))

    def to_crops(self, faces: np.ndarray) -> np.ndarray:
        """YuNet boxes -> FER-like square boxes (int [N, 4]) of faces at least `min_face` wide, left to right."""
        faces = faces[faces[:, 2] >= self.min_face] if len(faces) else faces
        if len(faces) == 0:
            return np.zeros((0, 4), dtype=int)
        x, y, w, h = (faces[:, i].astype(np.float64) for i in range(4))
        side = self.crop["scale"] * w
        cx, cy = x + w / 2 + self.crop["dx"] * w, y + h / 2 + self.crop["dy"] * h
        boxes = np.round(np.stack([cx - side / 2, cy - side / 2, side, side], 1)).astype(int)
        return boxes[np.argsort(boxes[:, 0], kind="stable")]


class HaarDetector:
    """The Haar-cascade detector: `detect(frame) -> int array [N, 4]` of (x, y, w, h) boxes in the frame's pixels."""

    def __init__(self, cascade: str = "default", scale_factor: float = 1.1, min_neighbors: int = 4,
                 detect_width: int = 320, min_face: int = 80):
        if cascade not in CASCADES:
            raise DataError(f"unknown cascade {cascade!r}; choose one of {sorted(CASCADES)}")
        path = cv2.data.haarcascades + CASCADES[cascade]
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            raise DataError(f"{path}: cannot load the Haar cascade; reinstall opencv-python-headless (>=4.8,<5: "
                            "OpenCV 5 no longer ships the cascades)")
        self.scale_factor, self.min_neighbors = scale_factor, min_neighbors
        self.detect_width, self.min_face = detect_width, min_face
        self.near_size = 48  # detect_near scales each face to about this many pixels

    def detect(self, frame: np.ndarray) -> np.ndarray:
        small, s = downscale(to_gray(frame), self.detect_width)
        small = cv2.equalizeHist(small)
        m = max(12, int(self.min_face * s))
        boxes = self.cascade.detectMultiScale(small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                                              minSize=(m, m))
        if len(boxes) == 0:
            return np.zeros((0, 4), dtype=int)
        boxes = np.round(np.asarray(boxes, dtype=np.float64) / s).astype(int)
        return boxes[np.argsort(boxes[:, 0], kind="stable")]  # left to right: stable order for logs

    def detect_near(self, frame: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """Look again only around the previous frame's boxes, at sizes close to theirs: a few small windows
        instead of the whole frame. A face that has gone is dropped; a new face waits for the next full detect."""
        gray = to_gray(frame)
        h, w = gray.shape[:2]
        found = []
        for x, y, bw, bh in previous:
            x0, y0 = max(int(x - bw / 2), 0), max(int(y - bh / 2), 0)
            x1, y1 = min(int(x + 1.5 * bw), w), min(int(y + 1.5 * bh), h)
            s = min(1.0, self.near_size / bw)  # the cascade's window is 24 px
            roi = gray[y0:y1, x0:x1]
            small = cv2.resize(roi, (max(round(roi.shape[1] * s), 1), max(round(roi.shape[0] * s), 1)),
                               interpolation=cv2.INTER_AREA) if s < 1 else roi
            small = cv2.equalizeHist(small)
            lo, hi = int(0.7 * bw * s), int(1.5 * bw * s) + 1
            hits = self.cascade.detectMultiScale(small, scaleFactor=self.scale_factor,
                                                 minNeighbors=self.min_neighbors, minSize=(lo, lo), maxSize=(hi, hi))
            if len(hits):
                centre = np.array([x + bw / 2, y + bh / 2])
                boxes = np.asarray(hits, dtype=np.float64) / s + [x0, y0, 0, 0]
                best = boxes[np.argmin(np.linalg.norm(boxes[:, :2] + boxes[:, 2:] / 2 - centre, axis=1))]
                box = np.round(best).astype(int)
                if all(iou(box, f) < 0.5 for f in found):  # two close faces can find each other's box
                    found.append(box)
        if not found:
            return np.zeros((0, 4), dtype=int)
        boxes = np.array(found)
        return boxes[np.argsort(boxes[:, 0], kind="stable")]


def crop_faces(gray: np.ndarray, boxes: np.ndarray, margin: float = FACE_MARGIN, size: int = FACE_SIZE) -> np.ndarray:
    """uint8 [N, 1, size, size]: each box widened by `margin` × its width on every side (a square, padded by
    repeating the border where it leaves the frame), resized like the FER-2013 crops."""
    out = np.zeros((len(boxes), 1, size, size), dtype=np.uint8)
    h, w = gray.shape[:2]
    for i, (x, y, bw, bh) in enumerate(boxes):
        side = max(bw, bh) * (1 + 2 * margin)
        cx, cy = x + bw / 2, y + bh / 2
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        x1, y1 = x0 + int(round(side)), y0 + int(round(side))
        crop = gray[max(y0, 0):min(y1, h), max(x0, 0):min(x1, w)]
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            crop = cv2.copyMakeBorder(crop, max(-y0, 0), max(y1 - h, 0), max(-x0, 0), max(x1 - w, 0),
                                      cv2.BORDER_REPLICATE)
        out[i, 0] = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return out
