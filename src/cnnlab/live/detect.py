"""Face detection (OpenCV's Haar cascades, shipped in the opencv-python wheel as `cv2.data`), FER-style crops,
and per-face smoothing of the probabilities over frames.

Why Haar: YuNet (`cv2.FaceDetectorYN`) is more accurate but needs an .onnx file that no pip wheel ships, and
OpenCV 5 dropped the cascades from its main wheel, so cnnlab pins opencv-python-headless 4.x. Detection runs on
a downscaled gray frame (320 px wide by default), which is most of the speed; `benchmarks/live_fps.py --sweep`
measures the choices (cascade, scale factor, neighbours, detection width) on FER faces.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from cnnlab.errors import DataError

CASCADES = {"default": "haarcascade_frontalface_default.xml", "alt": "haarcascade_frontalface_alt.xml",
            "alt2": "haarcascade_frontalface_alt2.xml"}
FACE_SIZE = 48
# How much to widen a Haar box (share of its width, per side) to get a FER-2013-like crop. Measured with
# `benchmarks/live_fps.py --sweep` on FER test faces pasted into frames: the default cascade's box is about the
# FER crop itself (median margin 0.01-0.02), and margin 0 gives the crops closest to the original faces. A model
# card's preprocess.face_margin overrides this.
FACE_MARGIN = 0.0


class FaceDetector:
    """`detect(gray) -> int array [N, 4]` of (x, y, w, h) boxes in the gray frame's pixels."""

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
        self.near_size = 48  # detect_near scales each face to about this many pixels (measured: as reliable as
        # a full detection on FER faces, a quarter of its time)

    def detect(self, gray: np.ndarray) -> np.ndarray:
        h, w = gray.shape[:2]
        s = min(1.0, self.detect_width / w) if self.detect_width else 1.0
        small = cv2.resize(gray, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else gray
        small = cv2.equalizeHist(small)
        m = max(12, int(self.min_face * s))
        boxes = self.cascade.detectMultiScale(small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                                              minSize=(m, m))
        if len(boxes) == 0:
            return np.zeros((0, 4), dtype=int)
        boxes = np.round(np.asarray(boxes, dtype=np.float64) / s).astype(int)
        return boxes[np.argsort(boxes[:, 0], kind="stable")]  # left to right: stable order for logs

    def detect_near(self, gray: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """Look again only around the previous frame's boxes, at sizes close to theirs: a few small windows
        instead of the whole frame. A face that has gone is dropped; a new face waits for the next full detect."""
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


def iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    box: tuple
    probs: deque
    missed: int = 0
    id: int = 0


class Smoother:
    """Averages each face's probabilities over its last `n` frames. Faces are matched to the previous frame's by
    box overlap (IoU, greedy, best first); a face unseen for `max_missed` frames is forgotten."""

    def __init__(self, n: int = 1, min_iou: float = 0.3, max_missed: int = 5):
        self.n, self.min_iou, self.max_missed = max(1, n), min_iou, max_missed
        self.tracks: list[Track] = []
        self._next_id = 0

    def __call__(self, boxes: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """(smoothed probabilities [N, K], track id per face)."""
        pairs = sorted(((iou(b, t.box), i, j) for i, b in enumerate(boxes) for j, t in enumerate(self.tracks)),
                       reverse=True)
        match, used = {}, set()
        for score, i, j in pairs:
            if score < self.min_iou:
                break
            if i not in match and j not in used:
                match[i] = j
                used.add(j)
        for j, t in enumerate(self.tracks):
            if j not in used:
                t.missed += 1
        out, ids = np.zeros_like(probs), []
        for i, (b, p) in enumerate(zip(boxes, probs)):
            if i in match:
                t = self.tracks[match[i]]
                t.box, t.missed = tuple(b), 0
                t.probs.append(p)
            else:
                t = Track(tuple(b), deque([p], maxlen=self.n), id=self._next_id)
                self._next_id += 1
                self.tracks.append(t)
            out[i] = np.mean(t.probs, axis=0)
            ids.append(t.id)
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        return out, ids
