"""Drawing on a frame (OpenCV, in place): a box and label per face, a bar chart of its class probabilities, and
a frames-per-second counter."""

from __future__ import annotations

import cv2
import numpy as np

from cnnlab.live.colours import bgr

FONT = cv2.FONT_HERSHEY_SIMPLEX
PANEL_H = 50  # height of the bar chart under each face
LABEL_H = 22  # height of the label above each box


def colour(label: str) -> tuple[int, int, int]:
    return bgr(label)


def text(frame: np.ndarray, s: str, x: int, y: int, scale: float = 0.45, fg=(255, 255, 255), bg=(0, 0, 0)) -> None:
    """Text with a filled background, bottom-left corner at (x, y)."""
    (w, h), base = cv2.getTextSize(s, FONT, scale, 1)
    cv2.rectangle(frame, (x, y - h - 3), (x + w + 4, y + base), bg, -1)
    cv2.putText(frame, s, (x + 2, y - 1), FONT, scale, fg, 1, cv2.LINE_AA)


def prob_bars(frame: np.ndarray, probs: dict[str, float], box, others=()) -> None:
    """A small bar chart under the face box, one bar per class with its first two letters below; inside the
    box's bottom instead when the frame ends there or another face (`others`: their boxes, with the label above
    each) is in the way. It is as wide as the box, so side-by-side faces' charts do not overlap."""
    x, y, w, h = box
    fh, fw = frame.shape[:2]
    w = max(w, 7 * 14)
    x = min(max(x, 0), max(fw - w, 0))
    top = y + h + 2
    if top + PANEL_H > fh or any(_overlap((x, top, w, PANEL_H), (ox, oy - LABEL_H, ow, oh + LABEL_H))
                                 for ox, oy, ow, oh in others):
        top = max(min(y + h, fh) - PANEL_H, 0)
    sub = frame[top:top + PANEL_H, x:x + w]
    sub[:] = (sub * 0.3).astype(np.uint8)  # darken behind the bars, keep the picture visible
    step = w / len(probs)
    base = top + PANEL_H - 13
    for i, (name, p) in enumerate(probs.items()):
        x0 = int(x + i * step + 2)
        cv2.rectangle(frame, (x0, base - int(round(p * (PANEL_H - 17)))), (int(x0 + step - 4), base), colour(name), -1)
        cv2.putText(frame, name[:2], (x0, top + PANEL_H - 3), FONT, 0.33, (230, 230, 230), 1, cv2.LINE_AA)


def _overlap(a, b) -> bool:
    """Whether two (x, y, w, h) rectangles overlap."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def draw(frame: np.ndarray, faces: list[dict], fps: float | None = None, bars: bool = True) -> np.ndarray:
    """Annotate `frame` (BGR) in place with `faces` ({"box", "label", "probabilities"}) and the fps; returns it."""
    for i, f in enumerate(faces):
        x, y, w, h = f["box"]
        c = colour(f["label"])
        cv2.rectangle(frame, (x, y), (x + w, y + h), c, 2)
        if bars:
            prob_bars(frame, f["probabilities"], f["box"], [g["box"] for j, g in enumerate(faces) if j != i])
    for f in faces:  # labels last: nothing drawn for another face covers them
        x, y = f["box"][:2]
        text(frame, f"{f['label']} {f['probabilities'][f['label']]:.0%}", x, max(y - 2, 14), 0.55, (0, 0, 0),
             colour(f["label"]))
    if fps is not None:
        text(frame, f"{fps:5.1f} fps  {len(faces)} face{'s' if len(faces) != 1 else ''}", 6, 20, 0.55)
    return frame
