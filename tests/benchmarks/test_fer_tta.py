"""benchmarks/calibration/fer_tta.py: the shifted views, the averaged probabilities, and the validation split it
finds for a shipped model (the one every FER run shares, from the real data)."""

import torch

from benchmarks.ablation.fer_distill import splits
from benchmarks.calibration.fer_tta import model_and_validation, probabilities, shifted
from benchmarks.common import FER


def test_shifted_moves_the_image_and_repeats_the_border():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert torch.equal(shifted(x, 0, 0), x)
    down_right = shifted(x, 1, 2)
    assert torch.equal(down_right[..., 1:, 2:], x[..., :3, :2])  # content moved by (1, 2)
    assert torch.equal(down_right[..., 0, 2:], x[..., 0, :2])  # the top row repeated into the gap
    assert torch.equal(down_right[..., 1:, 0], x[..., :3, 0])  # the left column repeated into the gap
    assert torch.equal(shifted(shifted(x, 0, -1), 0, 1)[..., 1:], x[..., 1:])  # left, then right: all but column 0


def test_probabilities_average_the_softmax_of_every_view():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3)).eval()
    images = torch.randint(0, 256, (5, 1, 8, 8), dtype=torch.uint8)
    views = [(0, 0, False), (0, 0, True), (1, -1, True)]
    x = images.float() / 255
    want = sum(model(shifted(x.flip(-1) if f else x, dy, dx)).softmax(1) for dy, dx, f in views) / 3
    got = probabilities(model, images, views)
    assert torch.allclose(got, want, atol=1e-6)
    assert torch.allclose(got.sum(1), torch.ones(5))


def test_a_shipped_model_is_measured_on_the_validation_split_every_fer_run_shares():
    model, ckpt, val = model_and_validation("fer2013-vgg", FER)
    shared, _ = splits(str(FER))
    assert ckpt["dataset"] == "fer2013" and not model.training
    assert len(val) == len(shared) == 2872
    assert torch.equal(val.images, shared.images) and torch.equal(val.labels, shared.labels)
