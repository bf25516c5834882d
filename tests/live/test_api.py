"""The Python API (docs/python-api.md): `cnnlab.ExpressionRecognizer` on frames and videos made from FER-2013 test
faces, the table, its summary and chart, and bad input. The model is the shipped one (what users get)."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import cnnlab
from cnnlab.cli import main
from cnnlab.data.fer2013 import CLASSES
from cnnlab.errors import CnnlabError, DataError, UsageError
from cnnlab.live import scene
from cnnlab.live.table import COLUMNS
from cnnlab.live.track import iou
from test_live import ROOT, faces  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def fer() -> cnnlab.ExpressionRecognizer:
    return cnnlab.ExpressionRecognizer()


def test_import_cnnlab_is_light():
    code = ("import sys, cnnlab; heavy = [m for m in ('torch', 'cv2', 'pandas', 'matplotlib', 'onnxruntime') "
            "if m in sys.modules]; print(heavy); assert callable(cnnlab.plot_expressions) and not heavy")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.data
def test_detect_finds_the_pasted_faces_and_labels_their_crops(fer, faces):  # noqa: F811
    frame, truth = next(scene.frames(faces[:3], 1, jitter=0))
    found = fer.detect(frame)
    assert len(found) == 3
    assert [f.box[0] for f in found] == sorted(f.box[0] for f in found)  # left to right
    for box in truth:
        hits = [f for f, hit in zip(found, scene.centre_in([f.box for f in found], box)) if hit]
        assert len(hits) == 1, (box, found)
        face = hits[0]
        assert list(face.probabilities) == list(CLASSES) and abs(sum(face.probabilities.values()) - 1) < 1e-4
        assert face.label == max(face.probabilities, key=face.probabilities.get)
        x, y, w, h = face.box
        label, probs = fer.classify(frame[y:y + h, x:x + w])  # the crop the detector made: the same answer
        assert label == face.label and probs == pytest.approx(face.probabilities, abs=1e-6)
    # the same image as a path, a PIL image and a gray array
    rgb = Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    assert fer.detect(rgb) == found
    gray = fer.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    assert len(gray) == 3 and all(iou(a.box, b.box) > 0.8 for a, b in zip(gray, found))  # a gray copy
    assert fer.detect(scene.background()) == []


@pytest.mark.data
def test_classify_equals_predict(fer, faces, tmp_path, capsys):  # noqa: F811
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), faces[1])
    assert main(["predict", "fer2013-vgg", str(path), "--device", "cpu"]) == 0
    predicted = json.loads(capsys.readouterr().out)
    label, probs = fer.classify(str(path))
    assert label == predicted["label"] and list(probs) == list(predicted["probabilities"])
    assert probs == pytest.approx(predicted["probabilities"], abs=1e-4)


def two_people_video(path, faces, n: int = 12) -> int:  # noqa: F811
    """Faces 0 and 1 side by side for n frames; then face 2 takes face 0's place for n frames."""
    first = list(scene.frames([faces[0], faces[1]], n))
    second = list(scene.frames([faces[2], faces[1]], n, seed=0))
    return scene.write_video(path, (f for f, _ in first + second), fps=10)


@pytest.mark.data
def test_analyze_video_table_ids_summary_and_chart(fer, faces, tmp_path):  # noqa: F811
    video = tmp_path / "two.avi"
    assert two_people_video(video, faces) == 24
    table = fer.analyze_video(video, progress=False)
    assert list(table.columns) == COLUMNS + list(CLASSES)
    assert table["frame"].tolist() == [i for i in range(24) for _ in range(2)]  # one row per face per frame
    assert table["time_s"].tolist()[::2] == pytest.approx([i / 10 for i in range(24)])
    left = table[table["x"] < 320]
    right = table[table["x"] >= 320]
    assert right["face"].nunique() == 1  # the same person stays: the same id
    before, after = left[left["frame"] < 12]["face"], left[left["frame"] >= 12]["face"]
    assert before.nunique() == 1 and after.nunique() == 1 and set(before) != set(after)  # a new person, a new id
    assert ((table[list(CLASSES)].sum(axis=1) - 1).abs() < 1e-4).all()
    summary = cnnlab.summarize_expressions(table)
    assert sorted(summary.index) == sorted(table["face"].unique())
    assert summary.loc[right["face"].iloc[0], "frames"] == 24
    assert (summary[list(CLASSES)].sum(axis=1) - 1).abs().max() < 1e-3
    shares = right["label"].value_counts(normalize=True)
    assert summary.loc[right["face"].iloc[0], shares.index[0]] == pytest.approx(shares.iloc[0], abs=1e-4)
    fig = cnnlab.plot_expressions(table, tmp_path / "chart.png")
    assert len(fig.axes) == 3 and len(fig.axes[0].collections) == len(CLASSES)  # one band per expression
    chart = cv2.imread(str(tmp_path / "chart.png"))
    assert chart is not None and chart.shape[1] > 800
    # seconds / max_frames stop early; a video cut short keeps the rows already made
    assert fer.analyze_video(video, seconds=0.5, progress=False)["frame"].max() == 4
    cut = tmp_path / "cut.avi"
    data = video.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    part = fer.analyze_video(cut, progress=False)
    assert 0 < part["frame"].max() < 23


def test_bad_input_is_one_clear_error(fer, tmp_path):
    cases = [(lambda: fer.detect(tmp_path / "missing.jpg"), "no such file"),
             (lambda: fer.detect(str(tmp_path / "notes.txt")), "not a readable image"),
             (lambda: fer.detect(np.zeros((48, 48, 3), np.float32)), "must be uint8"),
             (lambda: fer.detect(np.zeros((4, 48, 48, 3), np.uint8)), "not shape (4, 48, 48, 3)"),
             (lambda: fer.detect([1, 2, 3]), "not list"),
             (lambda: fer.analyze_video(tmp_path / "missing.mp4"), "no such file"),
             (lambda: fer.analyze_video(tmp_path / "empty.mp4"), "cannot read this video"),
             (lambda: fer.analyze_video(camera=-1), "camera -1"),
             (lambda: fer.analyze_video(camera=7), "cannot open this camera"),
             (lambda: fer.analyze_video(), "give a video path or camera=N"),
             (lambda: cnnlab.ExpressionRecognizer(margin=-0.5), "margin must be a number >= 0"),
             (lambda: cnnlab.ExpressionRecognizer(detector="mtcnn"), "detector must be one of yunet, haar"),
             (lambda: cnnlab.ExpressionRecognizer(colour=True), "unknown option 'colour'")]
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "empty.mp4").write_bytes(b"")
    for call, message in cases:
        with pytest.raises(CnnlabError) as e:
            call()
        assert isinstance(e.value, (UsageError, DataError)) and message in str(e.value), (message, str(e.value))
        assert "\n" not in str(e.value)


def test_cnnlab_exports_the_api():
    assert {"ExpressionRecognizer", "plot_expressions", "summarize_expressions", "CnnlabError"} <= set(dir(cnnlab))
    with pytest.raises(AttributeError):
        cnnlab.no_such_name  # noqa: B018
    assert isinstance(cnnlab.summarize_expressions(pd.DataFrame(columns=COLUMNS + list(CLASSES))), pd.DataFrame)
