"""FER-2013's named recipes (cpu, gpu), bf16 on the CPU, the moving average of the weights, and test-time
augmentation (flip) in evaluation and in the live classifier."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnlab.cli import main
from cnnlab.data.fer2013 import CLASSES, MEAN, STD
from cnnlab.engine.evaluate import autocast, predict_logits, uses_bf16
from cnnlab.errors import UsageError
from cnnlab.experiments import default_recipe, defaults, recipes
from cnnlab.models import registry

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fer2013"


def fer_model(seed=0, width=8):
    torch.manual_seed(seed)
    return registry.build("fer-vgg", 7, [1, 48, 48], mean=MEAN, std=STD, width=width).eval()


def test_recipe_table():
    table = recipes("fer2013")
    assert set(table) == {"cpu", "gpu"}
    assert table["cpu"]["precision"] == "fast" and table["gpu"]["precision"] == "auto"
    gpu_defaults = defaults("fer2013", "gpu")
    assert gpu_defaults["recipe"] == "gpu" and gpu_defaults["epochs"] == table["gpu"]["epochs"]
    expected = "gpu" if torch.cuda.is_available() else "cpu"
    assert default_recipe("fer2013") == expected and defaults("fer2013")["recipe"] == expected
    assert defaults("emnist")["recipe"] == "default"
    with pytest.raises(UsageError, match="--recipe must be one of cpu, gpu"):
        defaults("fer2013", "fast")


@pytest.mark.data
def test_train_saves_the_recipe_and_the_averaged_weights(tmp_path):
    out = tmp_path / "run"
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = main(["train", "fer2013", "--recipe", "cpu", "--data", str(DATA), "--out", str(out), "--limit-train",
                     "400", "--limit-test", "70", "--epochs", "1", "--width", "8", "--device", "cpu", "--quiet"])
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    cpu = recipes("fer2013")["cpu"]
    assert config["recipe"] == "cpu" and config["precision"] == "fast" and config["tta"] == "flip"
    assert config["ema"] == cpu["ema"] > 0 and config["augment"] == cpu["augment"]
    assert config["model_kwargs"]["width"] == 8  # the option given overrides the recipe
    assert json.loads((out / "metrics.json").read_text())["tta"] == "flip"
    best = torch.load(out / "best.pt", weights_only=False)
    last = torch.load(out / "last.pt", weights_only=False)
    assert best["tta"] == "flip"
    # best.pt holds the moving average, not the last raw weights
    key = "features.0.0.weight"
    assert torch.equal(best["model"][key], last["ema"]["module." + key])
    assert not torch.equal(best["model"][key], last["model"][key])


def test_bad_ema_and_recipe_options(tmp_path, capsys):
    base = ["train", "fer2013", "--data", str(DATA), "--out", str(tmp_path / "r"), "--limit-train", "50", "--quiet"]
    assert main([*base, "--ema", "1.5"]) == 2
    assert "--ema must be a decay in (0, 1)" in capsys.readouterr().err
    assert main([*base, "--recipe", "fast"]) == 2
    assert "--recipe must be one of cpu, gpu" in capsys.readouterr().err


def test_flip_tta_is_the_mean_of_the_two_passes():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48 * 48, 7))  # not mirror-symmetric
    images = torch.randint(0, 256, (5, 1, 48, 48), dtype=torch.uint8)
    p_flip = predict_logits(model, images, torch.device("cpu"), tta="flip").softmax(1)
    p = predict_logits(model, images, torch.device("cpu")).softmax(1)
    p_mirror = predict_logits(model, images.flip(-1), torch.device("cpu")).softmax(1)
    torch.testing.assert_close(p_flip, (p + p_mirror) / 2, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(p_flip, p, atol=1e-4)  # the mirror image does change the answer
    with pytest.raises(UsageError, match="--tta"):
        predict_logits(model, images, torch.device("cpu"), tta="ten-crop")


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_live_classifier_uses_the_models_tta(backend):
    from cnnlab.live.model import Classifier
    model = fer_model(1)
    ckpt = {"arch": "fer-vgg", "classes": CLASSES, "num_classes": 7, "input_shape": [1, 48, 48],
            "model_kwargs": {"mean": MEAN, "std": STD, "width": 8}, "tta": "flip"}
    crops = np.random.default_rng(0).integers(0, 256, (3, 1, 48, 48), dtype=np.uint8)
    flip = Classifier(model, ckpt, torch.device("cpu"), backend)
    plain = Classifier(model, ckpt, torch.device("cpu"), backend, tta="none")
    assert flip.tta == "flip" and plain.tta == "none"
    np.testing.assert_allclose(flip(crops), (plain(crops) + plain(crops[..., ::-1])) / 2, atol=1e-5)


def test_bf16_autocast_on_the_cpu_only_when_asked_or_fast():
    conv = torch.nn.Conv2d(1, 4, 3)
    x = torch.rand(2, 1, 8, 8)
    with autocast(torch.device("cpu"), "bf16"):
        assert conv(x).dtype == torch.bfloat16
    for precision in ("auto", "fp32"):
        with autocast(torch.device("cpu"), precision):
            assert conv(x).dtype == torch.float32
    # fast: bf16 only where oneDNN runs it with AVX-512 (emulated on AVX2 machines: ~10x slower than fp32)
    with autocast(torch.device("cpu"), "fast"):
        assert conv(x).dtype == (torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else torch.float32)
    assert uses_bf16(torch.device("cuda"), "fast") and uses_bf16(torch.device("cuda"), "auto")
    assert not uses_bf16(torch.device("cuda"), "fp32")
    with pytest.raises(UsageError, match="--precision"):
        autocast(torch.device("cpu"), "fp16")
