"""FER-2013 faces pasted into frames and `cnnlab live`'s answers scored against them: the frames and the scoring
that the live calibrations (calibration/live_*.py) and the peer comparison (peers/peer_fer.py) share."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cnnlab.live import scene


def val_faces(data: Path, n: int):
    """`n` faces of the validation split that `cnnlab train fer2013` carves from train (stratified, seed 0)."""
    from cnnlab.data import fer2013
    from cnnlab.data.tensors import stratified_split
    full = fer2013.load(data, "train")
    _, val = stratified_split(full.labels, 0.1, 0)
    pick = val[np.random.default_rng(0).permutation(len(val))[:n]]
    return full.images[pick, 0].numpy(), full.labels[pick].numpy()


def stills(data: str, frames: int, split: str = "test") -> tuple[list, list[str]]:
    """live_accuracy's frames: [(frame, face box)] and the faces' classes (seeded, so every caller sees the same)."""
    if split == "val":
        from cnnlab.data.fer2013 import CLASSES
        faces, y = val_faces(Path(data), frames)
        return [scene.still(face, seed=60_000 + i) for i, face in enumerate(faces)], [CLASSES[int(k)] for k in y]
    faces, labels = scene.fer_faces(data, frames)
    return [scene.still(face, seed=50_000 + i) for i, face in enumerate(faces)], labels


def score(log: Path, truth: list[tuple[tuple, str]]) -> dict:
    """Score a `cnnlab live --log` file against the truth: [(face box, class)] per frame."""
    frames = [json.loads(line) for line in log.read_text().splitlines()]
    return score_faces([f["faces"] for f in frames if "frame" in f], truth)


def score_faces(frames: list[list[dict]], truth: list[tuple[tuple, str]]) -> dict:
    """Share of frames whose face was found (a box's centre in it) and share of those labelled right, from the
    faces ({"box", "label"}) given for each frame."""
    found = right = false = 0
    for faces, (box, label) in zip(frames, truth):
        hits = [face for face, hit in zip(faces, scene.centre_in([f["box"] for f in faces], box)) if hit]
        false += len(faces) - min(len(hits), 1)
        if hits:
            found += 1
            right += hits[0]["label"] == label
    n = len(truth)
    return {"frames": n, "found": round(found / n, 4), "right_of_found": round(right / max(found, 1), 4),
            "right_of_all": round(right / n, 4), "false_boxes_per_frame": round(false / n, 4)}
