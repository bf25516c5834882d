"""A user's first hour (issue 11), model files: .pt, .h5 and .onnx accepted back by eval, predict, visualize
and export, files from elsewhere said what they are, and predict --skip-bad."""

import json

import h5py
import numpy as np
import pytest
import torch

from cnnlab.cli import main
from cnnlab.data.fer2013 import CLASSES
from cnnlab.models import registry
from conftest import FER, run_main

pytestmark = pytest.mark.data


# ---------------------------------------------------------------------------------------------------------------
# 9. model files back: .pt, .h5 and .onnx in eval, predict, visualize and export

@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """A small random fer-vgg checkpoint whose model asks for flip TTA, and its .h5 and .onnx exports."""
    d = tmp_path_factory.mktemp("files")
    torch.manual_seed(0)
    kwargs = {"mean": [0.5], "std": [0.25], "width": 4}
    model = registry.build("fer-vgg", 7, [1, 48, 48], **kwargs).eval()
    with torch.no_grad():  # confident outputs, so that an image and its mirror get clearly different probabilities
        model.classifier[-1].weight.mul_(100)
    torch.save({"model": model.state_dict(), "arch": "fer-vgg", "num_classes": 7, "classes": CLASSES,
                "input_shape": [1, 48, 48], "model_kwargs": kwargs, "dataset": "fer2013", "tta": "flip",
                "config": {}, "epoch": 1}, d / "best.pt")
    assert main(["export", str(d / "best.pt"), "--format", "h5", "--out", str(d / "m.h5")]) == 0
    assert main(["export", str(d / "best.pt"), "--format", "onnx", "--out", str(d / "m.onnx")]) == 0
    images = []
    for c in CLASSES[:3]:
        (d / "imgs" / c).mkdir(parents=True)
        for f in sorted((FER / "test" / c).iterdir())[:2]:
            (d / "imgs" / c / f.name).write_bytes(f.read_bytes())
            images.append(d / "imgs" / c / f.name)
    return d, model, images


def test_predict_takes_every_model_file_and_uses_its_tta(model_files, capsys):
    from cnnlab.data.images import read_image
    from cnnlab.engine.evaluate import predict_logits
    d, model, images = model_files
    x = torch.from_numpy(np.stack([read_image(f, [1, 48, 48]) for f in images]))
    want = predict_logits(model, x, torch.device("cpu"), tta="flip").softmax(1)
    plain = predict_logits(model, x, torch.device("cpu"), tta="none").softmax(1)
    assert not torch.allclose(want, plain, atol=1e-4)  # flip TTA changes the numbers, so the test can tell
    for ref in ("best.pt", "m.h5", "m.onnx"):
        code, out, err = run_main(["predict", d / ref, *images], capsys)
        assert code == 0, err
        got = [json.loads(line) for line in out.strip().splitlines()]
        probs = torch.tensor([[g["probabilities"][c] for c in CLASSES] for g in got])
        assert torch.allclose(probs, want, atol=1e-4), ref
    code, out, _ = run_main(["predict", d / "m.onnx", *images, "--tta", "none"], capsys)
    probs = torch.tensor([[json.loads(line)["probabilities"][c] for c in CLASSES] for line in out.splitlines()])
    assert torch.allclose(probs, plain, atol=1e-4)


def test_eval_gives_the_same_metrics_for_every_model_file(model_files, capsys):
    d, _, _ = model_files
    results = {}
    for ref in ("best.pt", "m.h5", "m.onnx"):
        code, out, err = run_main(["eval", d / ref, "--images", d / "imgs"], capsys)
        assert code == 0, err
        results[ref] = json.loads(out)
    assert len({json.dumps(r["confusion_matrix"]) for r in results.values()}) == 1
    assert {r["tta"] for r in results.values()} == {"flip"}
    assert results["m.onnx"]["params_total"] == results["best.pt"]["params_total"] > 0
    with h5py.File(d / "m.h5") as f:
        assert json.loads(f.attrs["cnnlab"])["tta"] == "flip"


def test_a_torch_only_command_refuses_onnx_and_foreign_files_say_what_they_are(model_files, tmp_path, capsys):
    d, _, images = model_files
    code, _, err = run_main(["visualize", d / "m.onnx", "--image", images[0], "--out", tmp_path / "v"], capsys)
    assert code == 2 and "an ONNX model cannot be used here" in err and "Grad-CAM" in err and ".h5" in err
    code, _, err = run_main(["export", d / "m.onnx", "--format", "h5", "--out", tmp_path / "x.h5"], capsys)
    assert code == 2 and "an ONNX model cannot be used here" in err
    code, _, err = run_main(["eval", images[0], "--images", d / "imgs"], capsys)
    assert code == 2 and "a JPEG image, not a model" in err and ".onnx" in err
    with h5py.File(tmp_path / "keras.h5", "w") as f:
        f.attrs["model_config"] = "{}"
    code, _, err = run_main(["predict", tmp_path / "keras.h5", images[0]], capsys)
    assert code == 2 and "a Keras model that cnnlab did not write" in err
    import onnx
    from onnx import TensorProto, helper
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in ("x", "y")]
    onnx.save(helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", io[:1], io[1:])),
              str(tmp_path / "other.onnx"))  # a valid ONNX model from elsewhere: no classes, no input shape
    code, _, err = run_main(["predict", tmp_path / "other.onnx", images[0]], capsys)
    assert code == 2 and "without cnnlab's metadata" in err


def test_onnx_model_back_to_onnx_is_the_same_file(model_files, tmp_path, capsys):
    d, _, _ = model_files
    code, out, err = run_main(["export", d / "m.onnx", "--format", "onnx", "--out", tmp_path / "again.onnx"], capsys)
    assert code == 0, err
    assert (tmp_path / "again.onnx").read_bytes() == (d / "m.onnx").read_bytes()


# ---------------------------------------------------------------------------------------------------------------
# 13. predict --skip-bad

def test_predict_skip_bad(model_files, tmp_path, capsys):
    d, _, images = model_files
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    code, out, err = run_main(["predict", d / "best.pt", images[0], broken, tmp_path / "missing.png", images[1]],
                              capsys)
    assert code == 2 and "broken.jpg" in err and "--skip-bad" in err and out == ""
    code, out, err = run_main(["predict", d / "best.pt", images[0], broken, tmp_path / "missing.png", images[1],
                               "--skip-bad"], capsys)
    assert code == 0
    assert [json.loads(line)["file"] for line in out.splitlines()] == [str(images[0]), str(images[1])]
    assert "skipped 2 of 4 image(s)" in err and "broken.jpg" in err and "missing.png" in err
