"""cnnlab live: detection, FER-style crops, smoothing, the video/image loop and its bad inputs.

The videos are built here from real FER-2013 test faces (../shared/data/fer2013/test), upscaled ×3 and pasted on
a plain background; the model is a fer-vgg of width 8 saved in the checkpoint layout of `cnnlab train` (its
accuracy is not under test, only that every face gets a label and probabilities)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cnnlab.cli import main
from cnnlab.data.fer2013 import CLASSES, MEAN, STD
from cnnlab.engine.checkpoint import atomic_torch_save
from cnnlab.live import scene
from cnnlab.live.detect import (FACE_MARGIN, YUNET_CROP, HaarDetector, YuNetDetector, crop_faces, make_detector,
                                yunet_model_path)
from cnnlab.live.track import Smoother, iou
from cnnlab.models import registry

ROOT = Path(__file__).resolve().parents[2]
FER = ROOT.parent / "shared" / "data" / "fer2013"


def save_run(folder: Path, dataset: str = "fer2013", classes=CLASSES, shape=(1, 48, 48), mean=MEAN, std=STD) -> Path:
    """A run folder with best.pt in the layout `cnnlab train` writes (random weights, seeded)."""
    torch.manual_seed(0)
    kwargs = {"mean": mean, "std": std, "width": 8}
    arch = "fer-vgg" if dataset == "fer2013" else "cnn"
    if arch == "cnn":
        kwargs.pop("width")
    model = registry.build(arch, len(classes), list(shape), **kwargs)
    atomic_torch_save({"model": model.state_dict(), "arch": arch, "num_classes": len(classes), "classes": list(classes),
                       "input_shape": list(shape), "model_kwargs": kwargs, "dataset": dataset, "config": {}},
                      folder / "best.pt")
    return folder


@pytest.fixture(scope="module")
def fer_run(tmp_path_factory) -> Path:
    return save_run(tmp_path_factory.mktemp("fer-run"))


@pytest.fixture(scope="module")
def faces() -> list[np.ndarray]:
    """Six FER test faces that the default detector finds alone in a frame."""
    pool, _ = scene.fer_faces(FER, 60)
    keep = scene.detectable(pool, HaarDetector(), 6)
    assert len(keep) == 6, f"the detector found only {len(keep)} of 60 FER test faces"
    return [pool[i] for i in keep]


def live(*args, capsys):
    """Run `cnnlab live` in this process: (exit code, stdout, stderr)."""
    code = main(["live", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def read_log(path: Path) -> tuple[list[dict], dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert "summary" in lines[-1] and all("frame" in x for x in lines[:-1])
    return lines[:-1], lines[-1]["summary"]


def video_frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            return frames
        frames.append(f)


# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.data
def test_video_end_to_end(tmp_path, fer_run, faces):
    """Two faces for 16 frames, 6 empty frames, the faces again for 8: boxes on the faces, a label and
    probabilities per face, empty frames logged as such, and an output video with as many frames as the input."""
    with_faces = list(scene.frames(faces[:2], 16))
    empty = [(scene.background(), [])] * 6
    again = list(scene.frames(faces[:2], 8, seed=1))
    clip = with_faces + empty + again
    video = tmp_path / "in.mp4"
    assert scene.write_video(video, (f for f, _ in clip), fps=10) == 30
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run([sys.executable, "-m", "cnnlab", "live", str(fer_run), "--video", str(video), "--no-window",
                        "--out", str(tmp_path / "out.mp4"), "--log", str(tmp_path / "log.jsonl"), "--smooth", "3"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    frames, summary = read_log(tmp_path / "log.jsonl")
    assert [x["frame"] for x in frames] == list(range(30))
    assert summary["frames"] == 30 and summary["fps"] > 0
    assert json.loads(r.stdout.strip().splitlines()[-1])["summary"]["frames"] == 30
    matched = 0
    for record, (_, truth) in zip(frames, clip):
        if not truth:
            assert record["faces"] == [], f"frame {record['frame']}: a face on an empty background"
            continue
        for face in record["faces"]:
            assert face["label"] in CLASSES
            assert list(face["probabilities"]) == list(CLASSES)
            assert abs(sum(face["probabilities"].values()) - 1) < 1e-3
            assert face["label"] == max(face["probabilities"], key=face["probabilities"].get)
        matched += sum(any(iou(t, f["box"]) > 0.5 for f in record["faces"]) for t in truth)
    assert matched >= 0.9 * 2 * 24, f"only {matched} of 48 pasted faces were found"
    out = video_frames(tmp_path / "out.mp4")
    assert len(out) == 30 and out[0].shape == (480, 640, 3)
    assert np.abs(out[0].astype(int) - clip[0][0]).mean() > 1  # boxes and bars were drawn


@pytest.mark.data
def test_crop_recovers_the_fer_face(faces):
    """Detected faces, cropped with the default margin and resized to 48×48, look like the FER images they came
    from (pixel correlation), closer than with a wider or a tighter crop: the crop geometry matches FER-2013's."""
    det = HaarDetector()
    corr = {m: [] for m in (-0.1, FACE_MARGIN, 0.1)}
    for face in faces:
        frame, _ = next(scene.frames([face], 1, jitter=0))
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        boxes = det.detect(gray)
        assert len(boxes) == 1
        for m in corr:
            crop = crop_faces(gray, boxes, m)[0, 0].astype(float)
            corr[m].append(np.corrcoef(crop.ravel(), face.ravel().astype(float))[0, 1])
    mean = {m: float(np.mean(v)) for m, v in corr.items()}
    assert mean[FACE_MARGIN] > 0.65, mean
    assert mean[FACE_MARGIN] > max(mean[-0.1], mean[0.1]), mean


@pytest.mark.data
def test_yunet_ships_in_the_package_and_finds_fer_faces():
    """YuNet loads from the installed package (with its licence beside it) and finds FER test faces pasted into
    noisy frames; its crops (YUNET_CROP) look like the FER images more than its raw box or a crop of another size."""
    assert yunet_model_path().is_file() and (yunet_model_path().parent / "LICENSE").is_file()
    det = make_detector("yunet")
    pool, _ = scene.fer_faces(FER, 40)
    found, corr = 0, {s: [] for s in (0.8, 1.0, 1.2)}
    for i, face in enumerate(pool):
        frame, (x, y, size, _) = scene.still(face, seed=i)
        boxes = det.detect(frame)
        assert boxes.dtype.kind == "i" and boxes.shape[1:] == (4,)
        raw = det.raw(frame)
        hit = raw[scene.centre_in(raw, (x, y, size, size))][:1]
        if not len(hit):
            continue
        found += 1
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        for s in corr:  # the measured crop, and crops 20% smaller and larger around the same centre
            sized = YuNetDetector(min_face=0, crop={**YUNET_CROP, "scale": YUNET_CROP["scale"] * s})
            crop = crop_faces(gray, sized.to_crops(hit), 0.0)[0, 0]
            corr[s].append(np.corrcoef(crop.ravel().astype(float), face.ravel().astype(float))[0, 1])
    assert found >= 0.85 * len(pool), f"YuNet found {found} of {len(pool)} faces"
    mean = {s: float(np.mean(v)) for s, v in corr.items()}
    assert mean[1.0] > max(mean[0.8], mean[1.2]) and mean[1.0] > 0.5, mean
    assert len(det.detect(scene.background())) == 0  # nothing on a plain wall


def test_yunet_crops_at_the_frame_edge_and_min_face():
    det = YuNetDetector(min_face=50)
    raw = np.zeros((3, 15), np.float32)
    raw[0, :4] = [-10, -20, 100, 120]  # half outside the top-left corner
    raw[1, :4] = [600, 440, 80, 90]  # beyond the bottom-right corner
    raw[2, :4] = [300, 200, 30, 40]  # smaller than min_face: dropped
    boxes = det.to_crops(raw)
    assert len(boxes) == 2 and (boxes[:, 2] == boxes[:, 3]).all()
    assert boxes[0, 0] < 0 and boxes[1, 0] + boxes[1, 2] > 640
    crops = crop_faces(np.full((480, 640), 90, np.uint8), boxes)
    assert crops.shape == (2, 1, 48, 48) and (crops == 90).all()  # padded by repeating the border


def test_detector_file_missing_or_corrupt(tmp_path, fer_run, capsys):
    from cnnlab.errors import DataError
    with pytest.raises(DataError, match="missing"):
        YuNetDetector(tmp_path / "none.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(DataError, match="cannot load") as e:
        YuNetDetector(tmp_path / "bad.onnx")
    assert "--detector haar" in str(e.value)


def test_crop_pads_at_the_frame_edge():
    gray = np.full((100, 100), 50, np.uint8)
    gray[:40, :40] = 200
    crops = crop_faces(gray, np.array([[0, 0, 40, 40], [80, 80, 30, 30]]), margin=0.25)
    assert crops.shape == (2, 1, 48, 48) and crops.dtype == np.uint8
    assert crops[0, 0, 24, 24] == 200 and crops[1, 0, 0, 0] == 50  # replicated border, no black padding


def test_smoother_matches_faces_by_overlap():
    sm = Smoother(3)
    a, b = (0, 0, 100, 100), (300, 0, 100, 100)
    p, ids1 = sm(np.array([a, b]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_allclose(p, [[1, 0], [0, 1]])
    # next frame: both moved a little and come in the other order
    p, ids2 = sm(np.array([(305, 5, 100, 100), (5, 0, 100, 100)]), np.array([[1.0, 0.0], [1.0, 0.0]]))
    np.testing.assert_allclose(p, [[0.5, 0.5], [1.0, 0.0]])
    assert ids2 == [ids1[1], ids1[0]]
    p, ids3 = sm(np.array([(150, 300, 80, 80)]), np.array([[0.2, 0.8]]))  # a new face: its own track
    np.testing.assert_allclose(p, [[0.2, 0.8]])
    assert ids3[0] not in ids1
    for _ in range(6):  # unseen for more than max_missed frames: forgotten
        sm(np.zeros((0, 4)), np.zeros((0, 2)))
    assert sm.tracks == []


def test_probability_bars_go_inside_the_box_when_another_face_is_below():
    from cnnlab.live.annotate import draw
    probs = dict.fromkeys(CLASSES, 1 / 7)
    frame = np.full((320, 300, 3), 100, np.uint8)
    draw(frame, [{"box": [50, 20, 100, 100], "label": "sad", "probabilities": probs},
                 {"box": [50, 150, 100, 100], "label": "happy", "probabilities": probs}])
    assert (frame[123:126, 60:140] == 100).all()  # the gap above the lower face's label is left alone
    assert frame[75:118, 55:145].mean() < 60  # the upper face's chart, inside its box
    assert frame[253:301, 55:145].mean() < 60  # the lower face's chart, below its box
    lone = np.full((300, 300, 3), 100, np.uint8)
    draw(lone, [{"box": [50, 20, 100, 100], "label": "sad", "probabilities": probs}])
    assert lone[123:170, 55:145].mean() < 60 and (lone[75:118, 60:140] == 100).all()  # alone: below the box


@pytest.mark.data
def test_smoother_starts_a_new_track_when_another_face_takes_the_place(faces):
    """Same place, same person (a little brighter, shifted a pixel): the track goes on. Same place, another
    person: a new track, which does not inherit the last person's probabilities."""
    sm = Smoother(5)
    box = np.array([(100, 100, 144, 144)])
    first = faces[0][None, None]
    _, ids1 = sm(box, np.array([[1.0, 0.0]]), first)
    moved = np.clip(np.roll(faces[0], 1, axis=1).astype(int) + 20, 0, 255).astype(np.uint8)[None, None]
    p, ids2 = sm(box + 2, np.array([[0.0, 1.0]]), moved)
    assert ids2 == ids1
    np.testing.assert_allclose(p, [[0.5, 0.5]])
    other = next(f for f in faces[1:] if np.corrcoef(f.ravel(), faces[0].ravel())[0, 1] < 0.5)
    p, ids3 = sm(box + 4, np.array([[0.0, 1.0]]), other[None, None])
    assert ids3 != ids1
    np.testing.assert_allclose(p, [[0.0, 1.0]])


def test_onnx_backend_matches_torch(fer_run):
    from cnnlab.live.model import Classifier, load_fer_model
    model, ckpt, _ = load_fer_model(str(fer_run))
    crops = np.random.default_rng(0).integers(0, 256, (3, 1, 48, 48), dtype=np.uint8)
    p_onnx = Classifier(model, ckpt, torch.device("cpu"), "onnx")(crops)
    p_torch = Classifier(model, ckpt, torch.device("cpu"), "torch")(crops)
    np.testing.assert_allclose(p_onnx, p_torch, atol=1e-4)
    assert Classifier(model, ckpt, torch.device("cpu"), "torch")(crops[:0]).shape == (0, 7)


@pytest.mark.data
def test_image_with_and_without_faces(tmp_path, fer_run, faces, capsys):
    frame, truth = next(scene.frames(faces[:3], 1, jitter=0))
    cv2.imwrite(str(tmp_path / "group.png"), frame)
    code, out, err = live(fer_run, "--image", tmp_path / "group.png", "--out", tmp_path / "annotated.jpg",
                          "--log", tmp_path / "log.jsonl", "--no-window", capsys=capsys)
    assert code == 0, err
    record = json.loads(out.strip().splitlines()[-1])
    assert len(record["faces"]) == 3
    assert all(any(iou(t, f["box"]) > 0.5 for f in record["faces"]) for t in truth)
    assert cv2.imread(str(tmp_path / "annotated.jpg")).shape == frame.shape
    frames, summary = read_log(tmp_path / "log.jsonl")
    assert frames[0]["faces"] == record["faces"] and summary["frames"] == 1

    # --image with --out needs no --no-window (this machine has no display either way)
    code, out, err = live(fer_run, "--image", tmp_path / "group.png", "--out", tmp_path / "again.png", capsys=capsys)
    assert code == 0, err
    assert len(json.loads(out.strip().splitlines()[-1])["faces"]) == 3

    # no face: the result line, then one line that says so and why, and a non-zero exit
    cv2.imwrite(str(tmp_path / "wall.png"), scene.background())
    code, out, err = live(fer_run, "--image", tmp_path / "wall.png", "--no-window", capsys=capsys)
    assert code == 2 and json.loads(out.strip().splitlines()[-1])["faces"] == []
    assert "no face found" in err and "--min-face 40" in err and len(err.strip().splitlines()) == 1

    # a FER-2013 image is already a face crop: too small to detect in, --whole-image classifies it whole
    fer_file = tmp_path / "fer.png"
    cv2.imwrite(str(fer_file), faces[0])
    code, out, err = live(fer_run, "--image", fer_file, "--no-window", capsys=capsys)
    assert code == 2 and "--whole-image" in err and "48×48" in err
    code, out, err = live(fer_run, "--image", fer_file, "--whole-image", "--out", tmp_path / "fer-out.png",
                          capsys=capsys)
    assert code == 0, err
    whole = json.loads(out.strip().splitlines()[-1])["faces"]
    assert len(whole) == 1 and whole[0]["box"] == [0, 0, 48, 48] and whole[0]["label"] in CLASSES
    from cnnlab.live.model import Classifier, load_fer_model
    model, ckpt, _ = load_fer_model(str(fer_run))
    expected = Classifier(model, ckpt, torch.device("cpu"), "torch")(faces[0][None, None])[0]
    assert whole[0]["label"] == CLASSES[int(expected.argmax())]
    code, _, err = live(fer_run, "--video", fer_file, "--whole-image", "--no-window", capsys=capsys)
    assert code == 2 and "--whole-image" in err and "--image" in err


@pytest.mark.data
def test_stops_after_max_frames_and_duration(tmp_path, fer_run, faces, capsys):
    video = tmp_path / "in.avi"
    scene.write_video(video, (f for f, _ in scene.frames(faces[:1], 20)), fps=10)
    code, _, err = live(fer_run, "--video", video, "--no-window", "--log", tmp_path / "a.jsonl", "--max-frames", 4,
                        capsys=capsys)
    assert code == 0, err
    assert len(read_log(tmp_path / "a.jsonl")[0]) == 4
    code, _, err = live(fer_run, "--video", video, "--no-window", "--log", tmp_path / "b.jsonl", "--duration", 1.0,
                        "--out", tmp_path / "b.avi", capsys=capsys)
    assert code == 0, err
    assert len(read_log(tmp_path / "b.jsonl")[0]) == 10  # one second of a 10 fps video
    assert len(video_frames(tmp_path / "b.avi")) == 10


@pytest.mark.data
def test_bad_inputs(tmp_path, fer_run, faces, capsys):
    video = tmp_path / "in.mp4"
    scene.write_video(video, (f for f, _ in scene.frames(faces[:1], 3)), fps=10)
    # no camera here: the message names what exists and the other sources
    code, _, err = live(fer_run, "--camera", 7, "--no-window", capsys=capsys)
    assert code == 2 and "--camera 7" in err and "--video FILE" in err and "/dev/video" in err
    # not a video / no such file
    (tmp_path / "notes.mp4").write_text("not a video")
    code, _, err = live(fer_run, "--video", tmp_path / "notes.mp4", "--no-window", capsys=capsys)
    assert code == 2 and "cannot read this video" in err and str(tmp_path / "notes.mp4") in err
    code, _, err = live(fer_run, "--video", tmp_path / "missing.mp4", "--no-window", capsys=capsys)
    assert code == 2 and "no such file" in err
    code, _, err = live(fer_run, "--image", tmp_path / "notes.mp4", "--no-window", capsys=capsys)
    assert code == 2 and "not a readable image" in err
    # a model of another dataset
    emnist = save_run(tmp_path / "emnist-run", "emnist", [str(i) for i in range(62)], (1, 28, 28), (0.17,), (0.33,))
    code, _, err = live(emnist, "--video", video, "--no-window", capsys=capsys)
    assert code == 2 and "live needs a FER-2013 model" in err and "emnist" in err
    # outputs of the wrong kind, and no display for a window
    code, _, err = live(fer_run, "--video", video, "--no-window", "--out", tmp_path / "out.txt", capsys=capsys)
    assert code == 2 and "--out" in err and ".mp4" in err
    code, _, err = live(fer_run, "--image", tmp_path / "x.png", "--out", tmp_path / "out.mp4", capsys=capsys)
    assert code == 2 and "--out" in err
    import matplotlib
    headless = any(line.split() == ["GUI:", "NONE"] for line in cv2.getBuildInformation().splitlines())
    if headless and matplotlib.get_backend().lower() == "agg":  # no window possible: say how to run without one
        code, _, err = live(fer_run, "--video", video, capsys=capsys)
        assert code == 2 and "--no-window" in err
    with pytest.raises(SystemExit) as e:
        live(fer_run, "--video", video, "--max-frames", 0, capsys=capsys)
    assert e.value.code == 2 and "--max-frames: must be a positive integer" in capsys.readouterr().err


def test_help_lists_every_option(capsys):
    for cmd in ("live", "serve"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        text = capsys.readouterr().out
        for option in ("--smooth", "--margin", "--cascade", "--backend", "--redetect"):
            assert option in text
    with pytest.raises(SystemExit):
        main(["live", "--help"])
    text = capsys.readouterr().out
    assert "--camera" in text and "--duration" in text and "(default: fer2013-vgg)" in text


def test_every_number_of_live_and_serve_is_checked(capsys):
    """Each numeric option, negative and (where zero means nothing) zero: one line naming the option, exit 2,
    before anything is opened (a camera of -1 crashed OpenCV; a port of 70000 and a margin of -0.5 gave tracebacks)."""
    from cnnlab.cli import build_parser
    from cnnlab.clikit import nonneg_float, nonneg_int, port, positive_float, positive_int
    sub = next(a for a in build_parser()._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
    zero_ok = {nonneg_int, nonneg_float, port}
    walked = set()
    for cmd in ("live", "serve"):
        for action in sub.choices[cmd]._actions:
            if not action.option_strings or action.type in (None, str):
                continue
            option = action.option_strings[0]
            walked.add(option)
            assert action.type in (nonneg_int, nonneg_float, port, positive_int, positive_float) or \
                action.type.__name__ == "pyramid_step", f"{cmd} {option}: unchecked type {action.type}"
            for value in ["-1"] + ([] if action.type in zero_ok else ["0"]):
                with pytest.raises(SystemExit) as e:
                    main([cmd, option, value])
                err = capsys.readouterr().err.strip().splitlines()
                assert e.value.code == 2 and f"argument {option}: must be" in err[-1], (cmd, option, value, err)
    assert {"--camera", "--margin", "--detect-width", "--min-face", "--smooth", "--redetect", "--duration",
            "--max-frames", "--scale-factor", "--min-neighbors", "--port", "--max-upload-mb"} <= walked


@pytest.mark.data
def test_csv_chart_times_and_summary(tmp_path, fer_run, faces, capsys):
    """--csv is the table of ExpressionRecognizer.analyze_video (one row per face per frame), --chart its chart;
    every log line has its time; the summary has both frame rates and the share of each expression."""
    video = tmp_path / "in.avi"
    scene.write_video(video, (f for f, _ in scene.frames(faces[:2], 12)), fps=10)
    code, out, err = live(fer_run, "--video", video, "--no-window", "--log", tmp_path / "log.jsonl", "--csv",
                          tmp_path / "t.csv", "--chart", tmp_path / "chart.png", capsys=capsys)
    assert code == 0, err
    frames, summary = read_log(tmp_path / "log.jsonl")
    assert [f["time_s"] for f in frames] == pytest.approx([i / 10 for i in range(12)])
    assert summary["video_fps"] == 10 and summary["fps"] > 0 and summary["video_seconds"] == 1.2
    assert list(summary["expressions"]) == list(CLASSES) and sum(summary["expressions"].values()) == pytest.approx(1)
    import pandas as pd
    table = pd.read_csv(tmp_path / "t.csv")
    assert list(table.columns) == ["frame", "time_s", "face", "x", "y", "w", "h", "label", *CLASSES]
    rows = [(f["frame"], face["face"], *face["box"], face["label"]) for f in frames for face in f["faces"]]
    assert [tuple(r) for r in table[["frame", "face", "x", "y", "w", "h", "label"]].itertuples(index=False)] == rows
    labels = table["label"].value_counts(normalize=True)
    assert all(summary["expressions"][c] == pytest.approx(labels.get(c, 0), abs=1e-4) for c in CLASSES)
    assert cv2.imread(str(tmp_path / "chart.png")).shape[1] > 800
    assert json.loads(out.strip().splitlines()[-1])["summary"]["csv"] == str(tmp_path / "t.csv")
    # nothing else keeps the results: each frame's faces are printed, as for --image
    code, out, err = live(fer_run, "--video", video, "--no-window", "--max-frames", 3, capsys=capsys)
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert code == 0 and [x["frame"] for x in lines[:-1]] == [0, 1, 2] and "summary" in lines[-1]
    assert all(len(x["faces"]) == 2 for x in lines[:-1])
    # --csv / --chart belong to a stream; bad names are refused before anything runs
    code, _, err = live(fer_run, "--image", video, "--csv", tmp_path / "x.csv", capsys=capsys)
    assert code == 2 and "--csv" in err and "--log" in err
    code, _, err = live(fer_run, "--video", video, "--chart", tmp_path / "x.gif", capsys=capsys)
    assert code == 2 and "--chart" in err and ".png" in err


@pytest.mark.data
def test_image_says_nothing_about_a_window_nobody_asked_for(tmp_path, fer_run, faces, capsys):
    frame, _ = next(scene.frames(faces[:1], 1, jitter=0))
    cv2.imwrite(str(tmp_path / "one.png"), frame)
    code, out, err = live(fer_run, "--image", tmp_path / "one.png", capsys=capsys)
    assert code == 0 and len(json.loads(out.strip().splitlines()[-1])["faces"]) == 1
    assert "window" not in err
