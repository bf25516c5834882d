"""The Python API (docs/python-api.md): faces and expressions of an image, a video as a table.

    fer = cnnlab.ExpressionRecognizer()
    faces = fer.detect("photo.jpg")
    table = fer.analyze_video("clip.mp4")

The same pipeline as `cnnlab live` and `cnnlab serve`, built from the same `FaceOptions` with the same defaults.
Bad input raises a `cnnlab.CnnlabError` (UsageError or DataError) whose message is one line naming the input and
the fix.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cnnlab.errors import DataError, UsageError
from cnnlab.live.app import frame_rate, frames
from cnnlab.live.media import open_capture, read_image
from cnnlab.live.model import Pipeline, load, make_pipeline
from cnnlab.live.options import DEFAULT_MODEL, FaceOptions
from cnnlab.live.table import Rows


@dataclass(frozen=True)
class Face:
    """One face of an image: `box` (x, y, w, h) in the image's pixels (the FER-like square crop the model saw),
    `label` the most likely expression, `probabilities` {expression: p} in the model's class order."""

    box: tuple[int, int, int, int]
    label: str
    probabilities: dict[str, float]


def as_frame(image, what: str = "image") -> np.ndarray:
    """A BGR uint8 frame [H, W, 3] (or gray [H, W]) from a path, a PIL image or a numpy image as cv2.imread gives
    it (BGR, or gray; BGRA loses its alpha)."""
    if isinstance(image, (str, Path)):
        frame = read_image(str(image), what)
        return frame
    if type(image).__module__.startswith("PIL."):
        return cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2BGR)
    if not isinstance(image, np.ndarray):
        raise UsageError(f"{what}: give a file path, a PIL image or a numpy array, not {type(image).__name__}")
    if image.dtype != np.uint8:
        raise DataError(f"{what}: a numpy image must be uint8 (0-255, as cv2.imread gives), not {image.dtype}; "
                        "convert it with np.clip(a, 0, 255).astype(np.uint8)")
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3))) or min(image.shape[:2]) < 1:
        raise DataError(f"{what}: a numpy image must be [H, W] (gray) or [H, W, 3] (BGR), not shape {image.shape}")
    return image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image


class ExpressionRecognizer:
    """Faces and their expressions. `model`: a shipped model's name, a run folder of `cnnlab train fer2013` or a
    .pt/.h5/.onnx file cnnlab wrote; `detector` "yunet" or "haar"; `tta` "none" or "flip" (default: the model's
    own); `device` "cpu", "cuda" or "auto"; any other `cnnlab live` option by its name (detect_width, min_face,
    margin, smooth, ...; see `FaceOptions`), with the same defaults."""

    def __init__(self, model: str = DEFAULT_MODEL, detector: str = "yunet", tta: str | None = None,
                 device: str = "cpu", **options):
        names = {f.name for f in dataclasses.fields(FaceOptions)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise UsageError(f"ExpressionRecognizer: unknown option {unknown[0]!r}; the options are "
                             f"{', '.join(sorted(names - {'model', 'detector', 'tta', 'device'}))}")
        self.options = FaceOptions(model=str(model), detector=detector, tta=tta, device=device, **options)
        self._classifier, self._margin, self.info = load(self.options)
        self.classes: list[str] = list(self.info["classes"])
        self._still = make_pipeline(self.options, self._classifier, self._margin, still=True)

    def __repr__(self) -> str:
        return f"ExpressionRecognizer(model={self.options.model!r}, detector={self.options.detector!r})"

    def detect(self, image) -> list[Face]:
        """The faces of one image, left to right; [] when there is none."""
        frame = as_frame(image)
        return [Face(tuple(f["box"]), f["label"], f["probabilities"]) for f in self._still(frame)]

    def classify(self, face) -> tuple[str, dict[str, float]]:
        """One face crop (any size: resized to the model's 48×48 like `cnnlab live --whole-image`), no detection:
        (label, probabilities)."""
        f = self._still.whole(as_frame(face, "face"))[0]
        return f["label"], f["probabilities"]

    def stream(self) -> Pipeline:
        """A new stream's pipeline (call it on each frame, BGR): faces with a track id ("face") and probabilities
        smoothed over the last `smooth` frames, as in `cnnlab live`."""
        return make_pipeline(self.options, self._classifier, self._margin)

    def analyze_video(self, path: str | Path | None = None, camera: int | None = None, seconds: float | None = None,
                      max_frames: int | None = None, progress: bool = True):
        """A pandas DataFrame, one row per face per frame: frame, time_s, face (track id), x, y, w, h, label and one
        probability column per expression. `path` a video file, or `camera` a camera number; `seconds` stops after
        that much video (or camera time). A video that ends early or has unreadable frames keeps the rows made."""
        if (path is None) == (camera is None):
            raise UsageError("analyze_video: give a video path or camera=N (one of the two)")
        for name, v in (("seconds", seconds), ("max_frames", max_frames)):
            if v is not None and not (isinstance(v, (int, float)) and v > 0):
                raise UsageError(f"analyze_video: {name} must be a positive number, got {v!r}")
        cap, name = open_capture(camera, None if path is None else str(path), names=("camera", "video"))
        pipe, rows = self.stream(), Rows(self.classes)
        fps = frame_rate(cap, path is not None)
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if path is not None else 0
        if fps and seconds:
            total = min(total, int(np.ceil(seconds * fps))) if total > 0 else int(np.ceil(seconds * fps))
        if max_frames:
            total = min(total, max_frames) if total > 0 else max_frames
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=total or None, desc=Path(name).name if path is not None else name, unit="frame",
                       leave=False)
        start = time.perf_counter()
        try:
            for n, t, _, faces in frames(cap, pipe, fps, max_frames, seconds):
                rows.add(n, t, faces)
                if bar is not None:
                    bar.update()
        except KeyboardInterrupt:  # keep the rows made so far
            pass
        finally:
            cap.release()
            if bar is not None:
                bar.close()
        self.last_fps = round(pipe.count / max(time.perf_counter() - start, 1e-9), 2)
        return rows.table()
