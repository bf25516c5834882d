"""benchmarks/calibration/fer_tta.py: the validation split it finds for a shipped model (the one every FER run
shares, from the real data)."""

import torch

from benchmarks.calibration.fer_tta import model_and_validation
from benchmarks.common import FER
from benchmarks.fer_scoring import splits


def test_a_shipped_model_is_measured_on_the_validation_split_every_fer_run_shares():
    model, ckpt, val = model_and_validation("fer2013-vgg", FER)
    shared, _ = splits(str(FER))
    assert ckpt["dataset"] == "fer2013" and not model.training
    assert len(val) == len(shared) == 2872
    assert torch.equal(val.images, shared.images) and torch.equal(val.labels, shared.labels)
