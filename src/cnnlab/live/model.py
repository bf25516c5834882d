"""The model and the pipeline of one stream: a face detector, FER-like crops, the classifier (ONNX Runtime or
PyTorch) and the tracker that smooths each face's probabilities.

`Pipeline` is one stream's processing (it remembers the last boxes for fast re-detection and smoothing); the
model itself (`Classifier`) is stateless and shared, e.g. between the browser page's streams. Everything is built
from a `FaceOptions` (cnnlab.live.options), whichever front end asks.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from cnnlab.errors import UsageError
from cnnlab.live.detect import FACE_MARGIN, FACE_SIZE, Detector, NearDetector, crop_faces, make_detector, to_gray
from cnnlab.live.options import DEFAULT_MODEL, FaceOptions
from cnnlab.live.track import Smoother
from cnnlab.prediction import prediction


def load_fer_model(ref: str = DEFAULT_MODEL, device="cpu"):
    """(model, checkpoint, card) of a FER-2013 model; any other model is refused with a clear message."""
    from cnnlab.runs import load_model, shipped_cards
    try:
        model, ckpt = load_model(ref, device)
    except UsageError:
        if ref == DEFAULT_MODEL:
            raise UsageError(f"the shipped FER model {ref!r} is not in this installation; give a run folder made by "
                             "'cnnlab train fer2013 --data DIR --out RUN_DIR' (cnnlab live RUN_DIR)") from None
        raise
    dataset = ckpt.get("dataset") or (ckpt.get("config") or {}).get("dataset")
    shape = list(ckpt["input_shape"])
    if dataset not in ("fer2013", None) or shape != [1, 48, 48] or len(ckpt["classes"]) != 7:
        raise UsageError(f"{ref}: live needs a FER-2013 model (48×48 gray faces, 7 expressions), but this one was "
                         f"trained on {dataset or 'another dataset'} (input {shape}, {len(ckpt['classes'])} classes); "
                         f"use the shipped {DEFAULT_MODEL} or a run folder of 'cnnlab train fer2013'")
    card = next((c for c in shipped_cards() if c.get("name") == ref), {})
    return model, ckpt, card


class Classifier:
    """Batched expression probabilities for uint8 face crops [N, 1, 48, 48]. Backend "onnx" runs the model in
    ONNX Runtime (exported at start and checked against torch): on a CPU it is several times faster than torch for
    a few 48×48 faces (benchmarks/speed/fer_inference.py). "auto" = onnx on the CPU, torch on CUDA.

    `tta` (default: the checkpoint's own, as its model card says) "flip" averages the probabilities of each face
    and its mirror image, in the same batch."""

    def __init__(self, model, ckpt: dict, device, backend: str = "auto", tta: str | None = None):
        self.model, self.classes, self.device = model.eval(), list(ckpt["classes"]), device
        self.tta = tta or ckpt.get("tta") or "none"
        if self.tta not in ("none", "flip"):
            raise UsageError(f"--tta must be none or flip, not {self.tta!r}")
        if backend == "auto":
            backend = "onnx" if device.type == "cpu" else "torch"
        if backend == "onnx" and device.type != "cpu":
            raise UsageError("--backend onnx runs on the CPU; use --device cpu, or --backend torch for CUDA")
        self.backend, self.session = backend, None
        if backend == "onnx":
            self.session = onnx_session(model, ckpt)

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        if self.tta == "flip":
            p = self.probabilities(np.concatenate([crops, crops[..., ::-1]]))
            return (p[: len(crops)] + p[len(crops):]) / 2
        return self.probabilities(crops)

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        if self.session is not None:
            logits = self.session.run(None, {"images": crops.astype(np.float32) / 255})[0]
            e = np.exp(logits - logits.max(1, keepdims=True))
            return e / e.sum(1, keepdims=True)
        import torch

        from cnnlab.engine.evaluate import predict_logits
        return predict_logits(self.model, torch.from_numpy(np.ascontiguousarray(crops)), self.device).softmax(1).numpy()


def onnx_session(model, ckpt: dict):
    """An ONNX Runtime session of `model`: exported to a temporary file by `cnnlab.export` (which refuses an
    export whose probabilities differ from torch's), then loaded into memory."""
    import tempfile

    import onnxruntime as ort

    from cnnlab.export import export_onnx
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        export_onnx(model, ckpt, path)
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


class Pipeline:
    """One stream: detect (the whole frame every `redetect` frames, near the last faces in between, and the whole
    frame again when a face was not found near its last place), crop like FER-2013, classify all faces in one
    batch, smooth per face over `smooth` frames. Keeps time per stage."""

    def __init__(self, classifier: Classifier, detector: Detector, margin: float = FACE_MARGIN,
                 smooth: int = 1, redetect: int = 5):
        self.classifier, self.detector, self.margin = classifier, detector, margin
        self.smoother = Smoother(smooth)
        self.redetect = max(1, redetect)
        self.boxes = np.zeros((0, 4), dtype=int)
        self.count = 0
        self.times = {"detect": 0.0, "classify": 0.0}

    def __call__(self, frame: np.ndarray) -> list[dict]:
        t0 = time.perf_counter()
        gray = to_gray(frame)
        near = isinstance(self.detector, NearDetector)  # the Haar detector can look near the last faces only
        if not near or self.count % self.redetect == 0 or len(self.boxes) == 0:
            self.boxes = self.detector.detect(frame)
        else:
            found = self.detector.detect_near(gray, self.boxes)
            lost = len(found) < len(self.boxes)  # lost one: look everywhere
            self.boxes = self.detector.detect(frame) if lost else found
        self.count += 1
        t1 = time.perf_counter()
        crops = crop_faces(gray, self.boxes, self.margin)
        probs = self.classifier(crops)
        probs, ids = self.smoother(self.boxes, probs, crops)
        self.times["detect"] += t1 - t0
        self.times["classify"] += time.perf_counter() - t1
        return self.faces(self.boxes, probs, ids)

    def whole(self, frame: np.ndarray) -> list[dict]:
        """The whole frame as one face (a face crop such as a FER-2013 image): no detection."""
        gray = to_gray(frame)
        crop = cv2.resize(gray, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)[None, None]
        box = np.array([[0, 0, gray.shape[1], gray.shape[0]]])
        return self.faces(box, self.classifier(crop), [0])

    def faces(self, boxes: np.ndarray, probs: np.ndarray, ids) -> list[dict]:
        """One record per face (docs/cli.md): its track id, box, label and probabilities."""
        classes = self.classifier.classes
        return [{"face": int(i), "box": [int(v) for v in box], **prediction(classes, p.tolist())}
                for i, box, p in zip(ids, boxes, probs)]


def load(options: FaceOptions, device=None) -> tuple[Classifier, float, dict]:
    """The model of `options`, loaded once: (classifier, face margin, a description for logs and the page)."""
    from cnnlab.engine.distributed import pick_device
    device = device or pick_device(options.device)
    model, ckpt, card = load_fer_model(options.model, device)
    margin = options.margin if options.margin is not None else \
        (card.get("preprocess") or {}).get("face_margin", FACE_MARGIN)
    classifier = Classifier(model, ckpt, device, options.backend, options.tta)
    return classifier, margin, {"model": options.model, "classes": ckpt["classes"], "detector": options.detector,
                                "face_margin": margin, "device": str(device), "backend": classifier.backend,
                                "tta": classifier.tta}


def make_pipeline(options: FaceOptions, classifier: Classifier, margin: float, still: bool = False) -> Pipeline:
    """A new stream's (or, `still`, one still image's: detection on STILL_WIDTH px, no smoothing) pipeline on a
    loaded model."""
    detector = make_detector(options.detector, options.width_for(still), options.min_face, options.cascade,
                             options.scale_factor, options.min_neighbors)
    return Pipeline(classifier, detector, margin, 1 if still else options.smooth, options.redetect)


def build_pipeline(options, still: bool | None = None, device=None) -> tuple[Pipeline, dict]:
    """Load the model and make one pipeline; returns it and the description for logs. `options`: a FaceOptions, or
    the namespace of `cnnlab live`/`serve` arguments (a still image when it has --image, unless `still` says)."""
    if not isinstance(options, FaceOptions):
        still = getattr(options, "image", None) is not None if still is None else still
        options = FaceOptions.from_args(options)
    classifier, margin, info = load(options, device)
    return make_pipeline(options, classifier, margin, bool(still)), info
