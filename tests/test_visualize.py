"""cnnlab visualize: hooks capture the right tensors, the factorized filters compose exactly, Grad-CAM and saliency
follow their definitions, and the command writes its files for every conv model (and refuses an MLP)."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from cnnlab import visualize as vis
from cnnlab.cli import main
from cnnlab.models import registry
from cnnlab.models.cnn import FactorizedConv2d

CLASSES = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]


def build(arch, shape=(1, 28, 28), width=4, seed=0):
    torch.manual_seed(seed)
    kwargs = {"mean": [0.5] * shape[0], "std": [0.25] * shape[0]}
    kwargs.update({"hidden": 32} if arch == "mlp" else {"width": width})
    model = registry.build(arch, len(CLASSES), list(shape), **kwargs)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return model.eval(), kwargs


def write_checkpoint(path, arch, shape=(1, 28, 28)):
    """A best.pt with random weights, laid out as engine/train.py writes it."""
    model, kwargs = build(arch, shape)
    torch.save({"model": model.state_dict(), "arch": arch, "num_classes": len(CLASSES), "classes": CLASSES,
                "input_shape": list(shape), "model_kwargs": kwargs, "dataset": "fer2013", "config": {},
                "epoch": 1, "val_acc": 0.5}, path)
    return model


def face(path, size=(60, 50)):
    g = np.random.default_rng(0)
    Image.fromarray(g.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
    return path


def image_tensor(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand((1, *shape), generator=g)


def test_stage_outputs_end_each_resolution():
    cnn, _ = build("cnn")
    assert vis.stage_outputs(cnn) == ["features.0", "features.3", "features.5"]
    fer, _ = build("fer-vgg", (1, 48, 48))
    stages = vis.stage_outputs(fer)
    assert len(stages) == 4
    r = vis.inspect(fer, image_tensor((1, 48, 48)), stages, stages[-1])
    assert [tuple(r["maps"][s].shape) for s in stages] == [(4, 48, 48), (8, 24, 24), (16, 12, 12), (32, 6, 6)]


def test_hooks_capture_the_named_module_before_inplace_relu():
    model, _ = build("cnn")
    x = image_tensor((1, 28, 28))
    r = vis.inspect(model, x, ["features.0.1", "features.3"], "features.5")
    with torch.no_grad():
        z = model.norm(x)
        bn = model.features[0][1](model.features[0][0](z))  # batch-norm output, before the in-place ReLU
        stage2 = model.features[:4](z)
    assert (bn < 0).any()  # so an un-cloned capture would have been clipped by the ReLU
    assert torch.allclose(r["maps"]["features.0.1"], bn[0], atol=1e-6)
    assert torch.allclose(r["maps"]["features.3"], stage2[0], atol=1e-6)
    assert torch.allclose(r["probs"], model(x).softmax(1)[0].detach(), atol=1e-6)
    assert r["target"] == int(r["probs"].argmax())


def test_factorized_first_filters_are_the_composed_pair():
    model, _ = build("cnn-factorized")
    weights, caption = vis.first_filters(model)
    pair = model.features[0][0]
    assert isinstance(pair, FactorizedConv2d) and pair[0].kernel_size == (3, 1)
    assert weights.shape == (4, 1, 3, 3) and "3×1 then 1×3" in caption
    x = torch.randn(2, 1, 11, 9)
    with torch.no_grad():
        assert torch.allclose(F.conv2d(x, weights, padding=1), pair(x), atol=1e-5)
    plain, _ = build("cnn")
    w, _ = vis.first_filters(plain)
    assert torch.equal(w, plain.features[0][0].weight)


def test_gradcam_follows_its_definition():
    """Class 2's score = sum of channel 0 of the last stage (after pooling): Grad-CAM is that channel's map."""
    model, _ = build("cnn")
    fc1, fc2 = model.classifier[2], model.classifier[5]
    h = 28 // 8
    with torch.no_grad():
        fc1.weight.zero_()
        fc1.bias.zero_()
        fc1.weight[0, : h * h] = 1.0
        fc1.bias[0] = 1.0
        fc2.weight.zero_()
        fc2.bias.zero_()
        fc2.weight[2, 0] = 1.0
    x = image_tensor((1, 28, 28), seed=3)
    r = vis.inspect(model, x, ["features.5"], "features.5", target=2)
    a0 = r["maps"]["features.5"][0][None, None]
    want = F.interpolate(a0, size=(28, 28), mode="bilinear", align_corners=False)[0, 0]
    want = (want - want.min()) / (want.max() - want.min())
    assert r["gradcam"].shape == (28, 28)
    assert torch.allclose(r["gradcam"], want, atol=1e-5)


def test_saliency_is_zero_outside_the_receptive_field():
    """Class 0 reads only the left column of the last 3×3 map: pixels to the right cannot move its score."""
    model, _ = build("cnn")
    fc1, fc2 = model.classifier[2], model.classifier[5]
    with torch.no_grad():
        fc1.weight.zero_()
        for c in range(16):
            for row in range(3):
                fc1.weight[0, c * 9 + row * 3] = 1.0  # (channel c, row, column 0) of the flattened 16×3×3 map
        fc1.bias[0] = 1.0
        fc2.weight.zero_()
        fc2.weight[0, 0] = 1.0
    r = vis.inspect(model, image_tensor((1, 28, 28), seed=4), ["features.5"], "features.5", target=0)
    s = r["saliency"]
    assert s[:, :8].sum() > 0
    assert s[:, 17:].abs().max() == 0  # column 0 of the last map sees input columns -9..16 (its receptive field)


CONV_MODELS = [("cnn", (1, 28, 28)), ("cnn-factorized", (3, 32, 32)), ("fer-vgg", (1, 48, 48))]


@pytest.mark.parametrize("arch,shape", CONV_MODELS)
def test_command_writes_every_file(tmp_path, capsys, arch, shape):
    model = write_checkpoint(tmp_path / "best.pt", arch, shape)
    img = face(tmp_path / "face.png")
    out = tmp_path / "vis"
    assert main(["visualize", str(tmp_path), "--image", str(img), "--out", str(out)]) == 0
    pred = json.loads((out / "prediction.json").read_text())
    stages = vis.stage_outputs(model)
    assert pred["layers"] == stages and pred["gradcam"]["layer"] == stages[-1]
    for f in ["filters.png", "gradcam.png", *[f"featuremaps_{s}.png" for s in stages]]:
        assert (out / f).stat().st_size > 1000, f
        assert f in pred["files"]
    assert abs(sum(pred["probabilities"].values()) - 1) < 1e-4
    assert main(["predict", str(tmp_path), str(img)]) == 0
    predicted = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert predicted["label"] == pred["label"]


def test_layers_target_and_errors(tmp_path, capsys):
    write_checkpoint(tmp_path / "best.pt", "cnn")
    img = face(tmp_path / "face.png")
    base = ["visualize", str(tmp_path), "--image", str(img), "--out", str(tmp_path / "v")]
    assert main(base + ["--layers", "features.0.0", "--target", "sad", "--max-maps", "3"]) == 0
    pred = json.loads((tmp_path / "v" / "prediction.json").read_text())
    assert pred["layers"] == ["features.0.0"] and pred["gradcam"]["class"] == "sad"
    assert (tmp_path / "v" / "featuremaps_features.0.0.png").exists()
    capsys.readouterr()

    assert main(base + ["--layers", "features.9"]) == 2
    err = capsys.readouterr().err
    assert "no layer named 'features.9'" in err and "features.0.0" in err and "classifier" in err
    assert main(base + ["--layers", "classifier.2"]) == 2
    assert "not feature maps" in capsys.readouterr().err
    assert main(base + ["--target", "bored"]) == 2
    assert "--target 'bored'" in capsys.readouterr().err
    assert main(["visualize", str(tmp_path), "--image", str(tmp_path / "nope.png"), "--out", str(tmp_path / "w")]) == 2
    assert "no such file" in capsys.readouterr().err

    write_checkpoint(tmp_path / "mlp.pt", "mlp")
    assert main(["visualize", str(tmp_path / "mlp.pt"), "--image", str(img), "--out", str(tmp_path / "m")]) == 2
    assert "no convolutional layer" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
