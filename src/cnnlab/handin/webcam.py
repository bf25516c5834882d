"""P2 (c): the webcam part. What a recorded video showed (from `cnnlab live --log`), and the command that records
one: `cnnlab live --camera 0 --out video.mp4 --duration 60`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

RECORD_COMMAND = "cnnlab live --camera 0 --out video.mp4 --duration 60"


def summarize_log(path: Path, video: str) -> dict:
    """Frames, seconds, share of frames with a face and the predicted expressions (share of all detected faces)
    from a `cnnlab live --log` file."""
    frames, labels, summary = 0, Counter(), {}
    with_face = 0
    for line in Path(path).read_text().splitlines():
        record = json.loads(line)
        if "summary" in record:
            summary = record["summary"]
            continue
        frames += 1
        with_face += bool(record["faces"])
        labels.update(f["label"] for f in record["faces"])
    total = sum(labels.values())
    return {"file": video, "frames": frames, "seconds": summary.get("seconds", 0.0),
            "with_face": with_face / max(frames, 1),
            "labels": {k: v / total for k, v in labels.most_common(4)} if total else {}}


def _iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    return inter / (aw * ah + bw * bh - inter) if inter else 0.0


def score_scene(detected: list[dict], boxes: list, truth: list[str]) -> dict:
    """Detected faces (`cnnlab live` records: box, label) matched to the pasted faces by overlap: how many of
    the faces were found, and how many of those got their true expression."""
    found = right = 0
    for box, label in zip(boxes, truth):
        best = max(detected, key=lambda f: _iou(f["box"], box), default=None)
        if best is not None and _iou(best["box"], box) >= 0.3:
            found += 1
            right += best["label"] == label
    return {"faces": len(truth), "found": found, "right": right}
