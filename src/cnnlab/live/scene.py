"""Synthetic test scenes: 48×48 FER faces, upscaled, pasted on a smooth background, written as a video.

The tests, the benchmark and the browser check use these instead of a webcam: the faces are real FER-2013 test
images, so the detector, the crop and the classifier see what they would see on a well-lit frontal face.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from cnnlab.errors import DataError


def fer_faces(root: str | Path, n: int, split: str = "test") -> tuple[list[np.ndarray], list[str]]:
    """`n` gray 48×48 faces (uint8 [48, 48]) and their class names, taken in turn from each class folder."""
    folder = Path(root) / split
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if not classes:
        raise DataError(f"{folder}: no class folders; give the FER-2013 folder (DIR/{split}/<class>/*.jpg)")
    files = {c: sorted((folder / c).glob("*.[jp][pn]g")) for c in classes}
    faces, labels, i = [], [], 0
    while len(faces) < n:
        for c in classes:
            if i < len(files[c]) and len(faces) < n:
                faces.append(cv2.imread(str(files[c][i]), cv2.IMREAD_GRAYSCALE))
                labels.append(c)
        i += 1
    return faces, labels


def background(width: int = 640, height: int = 480, seed: int = 0) -> np.ndarray:
    """A smooth colour gradient (BGR), like a plain wall: nothing in it looks like a face."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(60, 200, 3), rng.integers(60, 200, 3)
    t = np.linspace(0, 1, width, dtype=np.float32)[None, :, None] * 0.7 + \
        np.linspace(0, 1, height, dtype=np.float32)[:, None, None] * 0.3
    return (a * (1 - t) + b * t).astype(np.uint8)


def grid_positions(n: int, width: int, height: int, size: int) -> list[tuple[int, int]]:
    """Top-left corners of `n` faces of `size` px, spread evenly over the frame."""
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    gx, gy = (width - cols * size) / (cols + 1), (height - rows * size) / (rows + 1)  # equal gaps
    xs = [gx + c * (size + gx) for c in range(cols)]
    ys = [gy + r * (size + gy) for r in range(rows)]
    return [(int(xs[i % cols]), int(ys[i // cols])) for i in range(n)]


def paste(frame: np.ndarray, face: np.ndarray, x: int, y: int, size: int) -> tuple[int, int, int, int]:
    """Paste a gray face, resized to `size`×`size`, at (x, y); returns its box (x, y, w, h)."""
    big = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    frame[y:y + size, x:x + size] = cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)
    return x, y, size, size


def frames(faces: list[np.ndarray], count: int, width: int = 640, height: int = 480, scale: int = 3,
           jitter: int = 6, change_every: int = 0, seed: int = 0):
    """Yield (frame BGR, boxes) with the faces at grid positions, moving a few pixels per frame (a person is never
    still). With `change_every` k, face slot j shows faces[j + n * (frame // k)] (cycling), so expressions change."""
    size = 48 * scale
    n_slots = min(len(faces), 4) if change_every else len(faces)
    spots = grid_positions(n_slots, width, height, size)
    bg = background(width, height, seed)
    for i in range(count):
        frame = bg.copy()
        boxes = []
        for j, (x, y) in enumerate(spots):
            k = (j + n_slots * (i // change_every)) % len(faces) if change_every else j
            dx = int(round(jitter * np.sin(0.3 * i + j)))
            dy = int(round(jitter * np.cos(0.2 * i + 2 * j)))
            x1 = min(max(x + dx, 0), width - size)
            y1 = min(max(y + dy, 0), height - size)
            boxes.append(paste(frame, faces[k], x1, y1, size))
        yield frame, boxes


def still(face: np.ndarray, seed: int, width: int = 640, height: int = 480, sizes=(96, 240),
          noise: float = 8.0) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """One face at a seeded random place and size (`sizes` px, upscaled from 48) on a gradient background with
    Gaussian sensor-like noise: (frame BGR, the face's box). Held-out faces in such frames measure the detector,
    the crop and the classifier together (benchmarks/calibration/live_crop.py and live_accuracy.py)."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(sizes[0], sizes[1] + 1))
    x, y = int(rng.integers(0, width - size + 1)), int(rng.integers(0, height - size + 1))
    frame = background(width, height, seed)
    box = paste(frame, face, x, y, size)
    if noise:
        frame = np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8)
    return frame, box


def centre_in(boxes, box) -> np.ndarray:
    """bool [N]: which of `boxes` (x, y, w, h in their first four columns: detector rows or face boxes) have their
    centre inside `box` (x, y, w, h). A face pasted at `box` is found when one of them does."""
    b = np.asarray(boxes, dtype=np.float64)
    if b.size == 0:
        return np.zeros(0, dtype=bool)
    x, y, w, h = box
    cx, cy = b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2
    return (cx >= x) & (cx <= x + w) & (cy >= y) & (cy <= y + h)


def write_video(path: str | Path, frame_iter, fps: float = 10.0) -> int:
    """Write frames to .mp4 (mp4v), .avi (MJPG) or .y4m (raw YUV 4:2:0, what Chromium's fake camera reads).
    Returns the number of frames written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    if path.suffix == ".y4m":
        with open(path, "wb") as f:
            for frame in frame_iter:
                h, w = frame.shape[:2]
                if n == 0:
                    f.write(f"YUV4MPEG2 W{w} H{h} F{int(round(fps))}:1 Ip A1:1 C420jpeg\n".encode())
                f.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
                n += 1
        return n
    writer = None
    for frame in frame_iter:
        if writer is None:
            fourcc = cv2.VideoWriter_fourcc(*("MJPG" if path.suffix == ".avi" else "mp4v"))
            writer = cv2.VideoWriter(str(path), fourcc, fps, (frame.shape[1], frame.shape[0]))
        writer.write(frame)
        n += 1
    if writer is not None:
        writer.release()
    return n


def detectable(faces: list[np.ndarray], detector, n: int, scale: int = 3) -> list[int]:
    """Indices of the first `n` faces that `detector` finds when pasted alone in a frame. About 60% of FER crops
    are found (they are cut tight, some turned or half hidden); a scene for speed or tests uses those."""
    keep = []
    for i, face in enumerate(faces):
        frame, _ = next(frames([face], 1, scale=scale, jitter=0, seed=i))
        if len(detector.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))) == 1:
            keep.append(i)
            if len(keep) == n:
                break
    return keep
