"""The images `cnnlab export --format h5` checks the Keras file on: real test images of the model's dataset when
there are some (--data, or the EMNIST sample shipped in the package), random ones otherwise."""

from __future__ import annotations

import torch

from cnnlab.errors import DataError, UsageError

N_REAL = 32


def evenly(images: torch.Tensor, n: int = N_REAL) -> torch.Tensor:
    """`n` images spread over the whole set (every class of a set sorted by class)."""
    index = torch.linspace(0, len(images) - 1, min(n, len(images))).round().long()
    return images[index]


def check_images(ckpt: dict, data: str | None, cache: str | None = None) -> tuple[torch.Tensor, str]:
    """(uint8 images [N, C, H, W], where they come from)."""
    from cnnlab.export import random_images
    dataset, shape = ckpt.get("dataset"), list(ckpt["input_shape"])
    if data:
        if not dataset:
            raise UsageError(f"--data {data}: the model does not say its dataset; leave --data out (random images)")
        from cnnlab import data as datasets
        t = datasets.load(dataset, data, "test", cache=cache)
        if t.input_shape != shape:
            raise DataError(f"--data {data}: {dataset} images of shape {t.input_shape}, the model takes {shape}; "
                            "give the folder of the dataset the model was trained on")
        return evenly(t.images), f"{min(N_REAL, len(t))} {dataset} test images from {data}"
    if dataset == "emnist" and shape == [1, 28, 28]:
        from cnnlab.data.emnist import load_sample
        return evenly(load_sample("test").images), f"{N_REAL} test images of the EMNIST sample shipped with cnnlab"
    return random_images(shape, 8), "8 random images (--data DIR checks on real test images)"
