"""cnnlab.experiments.emnist: the comparison's text."""

from cnnlab.engine.config import TrainConfig


def test_one_epoch_is_singular():
    from cnnlab.experiments.emnist import markdown
    row = {"model": "cnn", "params": 10, "accuracy": 0.5, "precision_macro": 0.5, "recall_macro": 0.5, "f1_macro": 0.5,
           "train_seconds": 1.0, "images_per_second": 10.0}
    text = markdown({"dataset": "emnist", "models": [row]}, TrainConfig(epochs=1))
    assert "1 epoch," in text and "1 epochs" not in text
