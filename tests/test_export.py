"""cnnlab export --format onnx: same probabilities in ONNX Runtime, dynamic batch (the .h5: test_keras_h5.py)."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from cnnlab import export
from cnnlab.cli import main
from cnnlab.models import registry

CLASSES = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
MODELS = [("mlp", [1, 28, 28], {"hidden": 32}), ("cnn", [1, 28, 28], {"width": 4}),
          ("cnn-factorized", [3, 32, 32], {"width": 4}), ("fer-vgg", [1, 48, 48], {"width": 4}),
          # the torchvision-zoo models of the distillation: the MobileNetV2 student (CIFAR stem) at its real size,
          # and the ResNet teacher, which resizes its input inside the model (to 224 in the recipe; 48 here)
          ("mobilenetv2-cifar", [3, 32, 32], {}), ("resnet18", [3, 32, 32], {"image_size": 48})]


def write_checkpoint(path, arch, shape, hparams, seed=0):
    """A best.pt with random weights, laid out as engine/train.py writes it. Batch-norm layers get random scales and
    shifts, and running statistics measured on random images as training would (random statistics would leave
    a deep network, like MobileNetV2, with the same output for every input: nothing to compare)."""
    kwargs = {"mean": [0.5] * shape[0], "std": [0.25] * shape[0], **hparams}
    torch.manual_seed(seed)
    model = registry.build(arch, len(CLASSES), shape, **kwargs)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.weight.data.uniform_(0.5, 1.5)
        m.bias.data.uniform_(-0.2, 0.2)
        m.momentum = None  # running statistics = the average over the batches seen
    with torch.no_grad():
        model.train()(images(shape, 64, seed=seed + 100))
    for m in bns:
        m.momentum = 0.1
    ckpt = {"model": model.state_dict(), "arch": arch, "num_classes": len(CLASSES), "classes": CLASSES,
            "input_shape": shape, "model_kwargs": kwargs, "dataset": "fer2013", "config": {}, "epoch": 1,
            "val_acc": 0.5}
    torch.save(ckpt, path)
    return model.eval()


def images(shape, n, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8).float() / 255


def run_cli(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("arch,shape,hparams", MODELS, ids=[m[0] for m in MODELS])
def test_onnx_matches_torch(tmp_path, capsys, arch, shape, hparams):
    run = tmp_path / "run"
    run.mkdir()
    model = write_checkpoint(run / "best.pt", arch, shape, hparams)
    code, out, err = run_cli(["export", str(run), "--format", "onnx"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["file"] == str(run / "model.onnx") and report["max_abs_diff"] <= 1e-4
    # independently of the command's own check: other inputs, two batch sizes (the batch axis is dynamic)
    session = ort.InferenceSession(str(run / "model.onnx"), providers=["CPUExecutionProvider"])
    for n in (1, 5):
        x = images(shape, n, seed=n + 10)
        got = torch.from_numpy(session.run(None, {"images": x.numpy()})[0])
        with torch.no_grad():
            want = model(x)
        assert got.shape == (n, len(CLASSES))
        assert n == 1 or (want - want[0]).abs().max() > 1e-2  # the output depends on the input
        # the logits (a freshly initialised zoo model's are tiny: its probabilities are all about 1/7 and would hide
        # a wrong input scaling), and the probabilities
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-5), (got - want).abs().max()
        assert torch.allclose(got.softmax(1), want.softmax(1), atol=1e-4, rtol=0)
    proto = onnx.load(str(run / "model.onnx"))
    assert {o.domain or "ai.onnx": o.version for o in proto.opset_import}["ai.onnx"] == export.OPSET
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["classes"]) == CLASSES and json.loads(meta["input_shape"]) == shape
    assert meta["arch"] == arch


def test_opset_and_tolerance_from_the_command_line(tmp_path, capsys):
    model = write_checkpoint(tmp_path / "best.pt", "mobilenetv2-cifar", [3, 32, 32], {})
    code, out, err = run_cli(["export", str(tmp_path), "--opset", "13", "--tolerance", "1e-3"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["opset"] == 13 and report["tolerance"] == 1e-3 and 0 < report["max_abs_diff"] <= 1e-4
    proto = onnx.load(str(tmp_path / "model.onnx"))
    assert {o.domain or "ai.onnx": o.version for o in proto.opset_import}["ai.onnx"] == 13
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    x = images([3, 32, 32], 3)
    with torch.no_grad():
        assert np.allclose(session.run(None, {"images": x.numpy()})[0], model(x).numpy(), atol=1e-4)
    # a tolerance below the difference just measured: refused, and the file is left as it was
    before = (tmp_path / "model.onnx").read_bytes()
    code, _, err = run_cli(["export", str(tmp_path), "--opset", "13", "--tolerance",
                                 f"{report['max_abs_diff'] / 10:g}"], capsys)
    assert code == 1 and "differ" in err and "model.onnx" in err
    assert (tmp_path / "model.onnx").read_bytes() == before


def test_default_out_names(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "c.pt").write_bytes(b"")
    assert export.default_out(str(tmp_path / "run"), "onnx") == tmp_path / "run" / "model.onnx"
    assert export.default_out(str(tmp_path / "c.pt"), "h5") == tmp_path / "c.h5"
    assert str(export.default_out("fer-vgg-shipped", "onnx")) == "fer-vgg-shipped.onnx"


def test_failed_onnx_check_exits_1_and_writes_nothing(tmp_path, capsys, monkeypatch):
    write_checkpoint(tmp_path / "best.pt", "cnn", [1, 28, 28], {"width": 4})
    real = export.onnx_probabilities
    monkeypatch.setattr(export, "onnx_probabilities", lambda path, x: real(path, x) + 1e-3)  # a broken runtime
    code, _, err = run_cli(["export", str(tmp_path), "--out", str(tmp_path / "m.onnx")], capsys)
    assert code == 1
    assert "differ" in err and "m.onnx" in err
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob(".*tmp*"))


def test_bad_inputs(tmp_path, capsys):
    code, _, err = run_cli(["export", str(tmp_path / "nothing-here")], capsys)
    assert code == 2 and "neither a run folder" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(["export", str(tmp_path / "empty")], capsys)
    assert code == 2 and "no best.pt" in err
