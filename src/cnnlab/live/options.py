"""The options of the face pipeline, written once: `cnnlab live`, `cnnlab serve`, the Python API
(`cnnlab.ExpressionRecognizer`) and the benchmarks all build the pipeline from a `FaceOptions`.

Standard library only: the command line reads the defaults from here without loading OpenCV or torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cnnlab.errors import UsageError

DEFAULT_MODEL = "fer2013-vgg"
DETECTORS = ("yunet", "haar")
CASCADES = ("default", "alt", "alt2")
BACKENDS = ("auto", "onnx", "torch")
TTAS = ("none", "flip")
# A still image (`live --image`, a photo on the page, `ExpressionRecognizer.detect`) is searched on a copy this
# wide, so that small faces are found too; a stream takes the detector's own default (speed).
STILL_WIDTH = 640


@dataclass(frozen=True)
class FaceOptions:
    """How faces are found, cropped, classified and smoothed. None means "the default that depends on something
    else": `detect_width` and `min_face` the detector's (and STILL_WIDTH for a still image), `margin` the model
    card's face_margin, `tta` the model's own."""

    model: str = DEFAULT_MODEL
    device: str = "auto"
    backend: str = "auto"
    tta: str | None = None
    detector: str = "yunet"
    detect_width: int | None = None
    min_face: int | None = None
    margin: float | None = None
    cascade: str = "default"
    scale_factor: float = 1.1
    min_neighbors: int = 4
    redetect: int = 5
    smooth: int = 5

    def __post_init__(self):
        for name, allowed in (("device", ("auto", "cpu", "cuda")), ("backend", BACKENDS), ("tta", TTAS),
                              ("detector", DETECTORS), ("cascade", CASCADES)):
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise UsageError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        checks = (("detect_width", int, 0, "an integer >= 0 (0 = the full frame)"),
                  ("min_face", int, 1, "a positive integer (pixels)"),
                  ("margin", float, 0.0, "a number >= 0 (a share of the face's width)"),
                  ("min_neighbors", int, 0, "an integer >= 0"),
                  ("redetect", int, 1, "a positive integer (frames)"),
                  ("smooth", int, 1, "a positive integer (frames; 1 = off)"))
        for name, kind, least, what in checks:
            value = getattr(self, name)
            if value is None and name in ("detect_width", "min_face", "margin"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
                    or (kind is int and value != int(value)) or value < least or value == float("inf"):
                raise UsageError(f"{name} must be {what}, got {value!r}")
        if not (isinstance(self.scale_factor, (int, float)) and 1 < self.scale_factor < float("inf")):
            raise UsageError(f"scale_factor must be a number > 1 (the Haar image-pyramid step), "
                             f"got {self.scale_factor!r}")

    @classmethod
    def from_args(cls, args) -> FaceOptions:
        """The options of a `live`/`serve` namespace (the fields it has)."""
        return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)})

    def width_for(self, still: bool) -> int | None:
        """The detection width: the option, else STILL_WIDTH for a still image, else None (the detector's own)."""
        if self.detect_width is not None:
            return self.detect_width
        return STILL_WIDTH if still else None


DEFAULTS = FaceOptions()
