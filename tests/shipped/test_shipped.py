"""The model shipped inside the package: listed, loadable by name, and accurate on real FER-2013 test faces."""

import json

import pytest

from conftest import FER, ROOT, cnnlab

from cnnlab.runs import shipped_cards


def test_models_lists_the_shipped_fer_model_with_its_card():
    cards = json.loads(cnnlab("models", "--json").stdout)["models"]
    card = next(c for c in cards if c["name"] == "fer2013-vgg")
    assert card["dataset"] == "fer2013" and len(card["classes"]) == 7
    assert {"accuracy", "f1_macro"} <= set(card["metrics"]) and card["command"].startswith(
        ("cnnlab train fer2013", "cnnlab distill student --dataset fer2013", "cnnlab soup "))
    full = next(c for c in shipped_cards() if c["name"] == "fer2013-vgg")
    if "soup" in full:  # a soup names its ingredients, each in the repository and in its command, to re-run it
        assert full["soup"]["models"] and set(full["soup"]["models"]) <= set(full["soup"]["ingredients_val_acc"])
        for model in full["soup"]["models"] + full["soup"]["left_out"]:
            assert (ROOT / model).exists() and model in full["command"], model


@pytest.mark.data
def test_shipped_model_predicts_real_faces_by_name(tmp_path):
    # 20 real test faces of each of 3 classes, as an --images folder
    for c in ("happy", "surprise", "neutral"):
        (tmp_path / c).mkdir()
        for f in sorted((FER / "test" / c).iterdir())[:20]:
            (tmp_path / c / f.name).symlink_to(f)
    m = json.loads(cnnlab("eval", "fer2013-vgg", "--images", tmp_path).stdout)
    assert m["num_samples"] == 60
    assert m["accuracy"] > 0.45  # chance is 1/7; happy and surprise are FER-2013's easiest classes
    line = json.loads(cnnlab("predict", "fer2013-vgg", next((tmp_path / "happy").iterdir())).stdout)
    assert set(line["probabilities"]) == {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"}
