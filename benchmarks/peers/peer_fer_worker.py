"""Runs inside the virtual environment of PyPI `fer` (TensorFlow); called by benchmarks/peers/peer_fer.py, which
scores what it writes. Imports nothing of cnnlab.

    PEER_PYTHON benchmarks/peers/peer_fer_worker.py FILE_LIST VIDEO OUT_JSON
"""

import json
import sys
import time

import cv2
import fer

try:
    from fer import FER  # fer up to 22.x
except ImportError:
    from fer.fer import FER  # fer 25.x


def label(emotions: dict) -> str:
    return max(emotions, key=emotions.get)


def main():
    files, video, out = sys.argv[1:4]
    detector = FER()  # the package's defaults: OpenCV's Haar cascade, its mini-Xception (quantized TFLite)
    crops, t = [], time.perf_counter()
    for path in open(files).read().split("\n"):
        if path:
            img = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2BGR)
            faces = detector.detect_emotions(img, face_rectangles=[(0, 0, img.shape[1], img.shape[0])])
            crops.append(label(faces[0]["emotions"]) if faces else None)
    crop_seconds = time.perf_counter() - t
    frames, cap, t = [], cv2.VideoCapture(video), time.perf_counter()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        faces = detector.detect_emotions(frame)
        frames.append({"frame": len(frames), "faces": [{"box": [int(v) for v in f["box"]],
                                                         "label": label(f["emotions"])} for f in faces]})
    frame_seconds = time.perf_counter() - t
    json.dump({"fer_version": getattr(fer, "__version__", "?"), "crops": crops, "frames": frames,
               "crop_seconds": crop_seconds, "frame_seconds": frame_seconds}, open(out, "w"))


if __name__ == "__main__":
    main()
