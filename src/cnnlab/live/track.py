"""Which face is which across frames: a track per person, and each face's probabilities averaged over its
track's last frames (`Smoother`), so that labels do not flicker and each face keeps an id while the same person
stays."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

# Smoother: the least correlation between a face's crop and its track's last crop for the two to be one person.
# Measured by `benchmarks/calibration/live_track.py` (benchmarks/results/live_track_cpu.json) on validation faces:
# consecutive crops of one face moving in a stream, and crops of different faces found one after the other.
MIN_SIMILARITY = 0.6


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
    face: np.ndarray | None = None
    missed: int = 0
    id: int = 0


def appearance(crops: np.ndarray) -> np.ndarray:
    """float [N, 48·48]: each crop minus its mean, scaled to unit length, so that `a @ b` is the correlation of
    two crops (1: the same picture, about 0: unrelated; brightness and contrast do not count)."""
    v = crops.reshape(len(crops), int(np.prod(crops.shape[1:]))).astype(np.float32)
    v -= v.mean(1, keepdims=True)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)


class Smoother:
    """Averages each face's probabilities over its last `n` frames. A face continues a track of the previous
    frames when their boxes overlap (IoU ≥ `min_iou`) and, given the crops, when it looks like the track's last
    crop (correlation ≥ `min_similarity`): a different person stepping into the same place starts a new track
    instead of inheriting the last one's expression. Matching is greedy, best overlap first; a track unseen for
    `max_missed` frames is forgotten. MIN_SIMILARITY is measured by `benchmarks/calibration/live_track.py`."""

    def __init__(self, n: int = 1, min_iou: float = 0.3, max_missed: int = 5, min_similarity: float | None = None):
        self.n, self.min_iou, self.max_missed = max(1, n), min_iou, max_missed
        self.min_similarity = MIN_SIMILARITY if min_similarity is None else min_similarity
        self.tracks: list[Track] = []
        self._next_id = 0

    def __call__(self, boxes: np.ndarray, probs: np.ndarray,
                 crops: np.ndarray | None = None) -> tuple[np.ndarray, list[int]]:
        """(smoothed probabilities [N, K], track id per face). `crops` (uint8 [N, 1, H, W]), when given, also
        decide which faces continue a track."""
        faces = appearance(crops) if crops is not None else [None] * len(boxes)
        pairs = sorted(((iou(b, t.box), i, j) for i, b in enumerate(boxes) for j, t in enumerate(self.tracks)),
                       reverse=True)
        match, used = {}, set()
        for score, i, j in pairs:
            if score < self.min_iou:
                break
            t = self.tracks[j]
            if faces[i] is not None and t.face is not None and float(faces[i] @ t.face) < self.min_similarity:
                continue
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
                t.box, t.face, t.missed = tuple(b), faces[i], 0
                t.probs.append(p)
            else:
                t = Track(tuple(b), deque([p], maxlen=self.n), faces[i], id=self._next_id)
                self._next_id += 1
                self.tracks.append(t)
            out[i] = np.mean(t.probs, axis=0)
            ids.append(t.id)
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        return out, ids
