"""`cnnlab predict` and `cnnlab visualize` with a face model given a photo: the faces are found and cropped as
`cnnlab live --image` finds and crops them, one result per face; a face crop is still classified whole.

The photo is built here from real FER-2013 test faces (../shared/data/fer2013/test) pasted, ×3, into a 640×480
frame (cnnlab.live.scene); the model is the shipped fer2013-vgg, the issue's own command."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cnnlab.cli import main
from cnnlab.live import scene
from cnnlab.live.detect import make_detector

pytestmark = pytest.mark.data

ROOT = Path(__file__).resolve().parents[1]
FER = ROOT.parent / "shared" / "data" / "fer2013"
MODEL = "fer2013-vgg"


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> tuple[Path, list]:
    """A 640×480 photo of three FER test faces that `live --image`'s detector finds alone in a frame, and their
    boxes."""
    pool, _ = scene.fer_faces(FER, 30)
    keep = scene.detectable(pool, make_detector("yunet", 640), 3)
    assert len(keep) == 3, f"YuNet found only {len(keep)} of 30 FER test faces"
    frame, truth = next(scene.frames([pool[i] for i in keep], 1, jitter=0))
    path = tmp_path_factory.mktemp("photo") / "three faces.png"
    cv2.imwrite(str(path), frame)
    return path, truth


def run(args, capsys) -> tuple[int, list[str], str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out.strip().splitlines(), out.err


def test_predict_gives_one_line_per_face_as_live_finds_them(photo, capsys):
    path, truth = photo
    code, lines, err = run(["predict", MODEL, path, "--device", "cpu"], capsys)
    assert code == 0, err
    results = [json.loads(line) for line in lines]
    assert [r["face"] for r in results] == [0, 1, 2] and all(r["file"] == str(path) for r in results)
    boxes = [r["box"] for r in results]
    assert all(scene.centre_in(boxes, box).sum() == 1 for box in truth)  # each pasted face found once
    assert [b[0] for b in boxes] == sorted(b[0] for b in boxes)  # numbered left to right
    for r in results:
        assert abs(sum(r["probabilities"].values()) - 1) < 1e-4 and r["label"] == max(r["probabilities"],
                                                                                     key=r["probabilities"].get)
    assert len(err.strip().splitlines()) == 1 and "3 face(s) found" in err and "live --image" in err
    # the same photo through `cnnlab live --image`: the same boxes and the same expression per face
    code, lines, err = run(["live", MODEL, "--image", path, "--no-window", "--device", "cpu"], capsys)
    assert code == 0, err
    faces = json.loads(lines[-1])["faces"]
    assert [f["box"] for f in faces] == [r["box"] for r in results]
    for f, r in zip(faces, results):
        probs = f["probabilities"]
        assert max(probs, key=probs.get) == r["label"]
        assert all(abs(probs[c] - r["probabilities"][c]) < 2e-3 for c in probs)


def test_face_crops_stay_whole_and_a_photo_without_a_face_says_so(photo, tmp_path, capsys):
    path, _ = photo
    crop = tmp_path / "crop.png"  # a FER-2013 image: a face crop already, classified whole as before
    cv2.imwrite(str(crop), scene.fer_faces(FER, 1)[0][0])
    code, lines, err = run(["predict", MODEL, crop, "--device", "cpu"], capsys)
    assert code == 0 and len(lines) == 1 and "face" not in json.loads(lines[0]) and err == ""
    # --whole-image: the photo as one image, one line
    code, lines, _ = run(["predict", MODEL, path, "--whole-image", "--device", "cpu"], capsys)
    assert code == 0 and len(lines) == 1 and "face" not in json.loads(lines[0])
    # a photo with no face: one line naming the file and the ways out, exit 2; --skip-bad goes on with the others
    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), scene.background())
    code, lines, err = run(["predict", MODEL, wall, "--device", "cpu"], capsys)
    assert code == 2 and lines == [] and len(err.strip().splitlines()) == 1
    assert str(wall) in err and "no face found" in err and "--whole-image" in err and "live --image" in err
    code, lines, err = run(["predict", MODEL, wall, crop, "--skip-bad", "--device", "cpu"], capsys)
    assert code == 0 and [json.loads(x)["file"] for x in lines] == [str(crop)] and "skipped 1 of 2" in err


def test_visualize_looks_at_one_face_of_the_photo(photo, tmp_path, capsys):
    path, _ = photo
    # visualize explains one forward pass: the model without its flip test-time augmentation
    code, lines, _ = run(["predict", MODEL, path, "--device", "cpu", "--tta", "none"], capsys)
    predicted = [json.loads(line) for line in lines]
    for face in (0, 2):
        out = tmp_path / f"v{face}"
        code, lines, err = run(["visualize", MODEL, "--image", path, "--out", out, "--face", face], capsys)
        assert code == 0, err
        result = json.loads((out / "prediction.json").read_text())
        assert result["face"] == {"index": face, "faces": 3, "box": predicted[face]["box"]}
        assert result["label"] == predicted[face]["label"]
        assert np.allclose([result["probabilities"][c] for c in result["probabilities"]],
                           [predicted[face]["probabilities"][c] for c in result["probabilities"]], atol=1e-5)
        assert f"looking at face {face}" in err and (out / "gradcam.png").is_file()
    code, _, err = run(["visualize", MODEL, "--image", path, "--out", tmp_path / "v9", "--face", 9], capsys)
    assert code == 2 and "--face 9" in err and "3 face(s)" in err and len(err.strip().splitlines()) == 1
    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), scene.background())
    code, _, err = run(["visualize", MODEL, "--image", wall, "--out", tmp_path / "vw"], capsys)
    assert code == 2 and "no face found" in err and "--whole-image" in err
    code, _, err = run(["visualize", MODEL, "--image", wall, "--out", tmp_path / "vw", "--whole-image"], capsys)
    assert code == 0 and "face" not in json.loads((tmp_path / "vw" / "prediction.json").read_text())
