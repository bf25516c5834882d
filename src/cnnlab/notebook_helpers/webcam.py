"""P2 (c): the webcam part. What a recorded video showed (from `cnnlab live --log` and the table of `--csv`), and
the command that records one: `cnnlab live --camera 0 --out video.mp4 --duration 60`."""

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


def describe_table(table) -> dict:
    """From the table of `cnnlab live --csv` (one row per face per frame): the number of face tracks, and for the
    face seen longest its id, seconds seen, share of frames per expression (most frequent first) and how often
    its label changed (per minute of its frames)."""
    from cnnlab.live.table import summarize_expressions
    summary = summarize_expressions(table)
    if summary.empty:
        return {"tracks": 0}
    face = summary["frames"].idxmax()
    rows = table[table["face"] == face].sort_values("frame")
    labels = rows["label"].tolist()
    changes = sum(a != b for a, b in zip(labels, labels[1:]))
    span = float(rows["time_s"].max() - rows["time_s"].min())
    shares = summary.drop(columns=["frames", "first_s", "last_s"]).loc[face].sort_values(ascending=False)
    return {"tracks": len(summary), "face": int(face), "frames": int(summary.loc[face, "frames"]),
            "seconds": span, "shares": {k: float(v) for k, v in shares.items() if v > 0},
            "changes_per_minute": changes / span * 60 if span > 0 else 0.0}


def summary_rows(table) -> tuple[list[str], list[list[str]]]:
    """The per-face summary (`cnnlab.summarize_expressions`) as a Markdown table's header and rows."""
    from cnnlab.live.table import summarize_expressions
    summary = summarize_expressions(table)
    classes = [c for c in summary.columns if c not in ("frames", "first_s", "last_s")]
    rows = [[str(face), f"{int(r['frames']):,}", f"{r['first_s']:.1f}–{r['last_s']:.1f}",
             *[f"{r[c]:.0%}" for c in classes]] for face, r in summary.iterrows()]
    return ["face", "frames", "seconds", *classes], rows


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
