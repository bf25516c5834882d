"""Does a written .h5 give what the PyTorch model gives? The file is opened as a Keras user opens it
(`keras.models.load_model`, no custom objects) and read back into PyTorch as cnnlab reads it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


@torch.inference_mode()
def torch_probabilities(model: torch.nn.Module, images: torch.Tensor) -> np.ndarray:
    """Softmax of `model` on uint8 images [N, C, H, W] (cnnlab's input: pixels / 255)."""
    return model.cpu().float().eval()(images.float() / 255).softmax(1).numpy()


def keras_input(images: torch.Tensor) -> np.ndarray:
    """The Keras model's input for uint8 images [N, C, H, W]: float32 pixel values (N, H, W, C)."""
    return images.permute(0, 2, 3, 1).float().numpy()


def keras_probabilities(path: Path, images: torch.Tensor, batch_size: int = 64) -> np.ndarray:
    from cnnlab.kerasfile.build import import_keras, quiet_keras
    keras = import_keras()
    with quiet_keras():
        kmodel = keras.models.load_model(str(path))
        return np.asarray(kmodel.predict(keras_input(images), batch_size=batch_size, verbose=0))


def parity(model: torch.nn.Module, path: Path, images: torch.Tensor) -> dict:
    """Agreement of the predicted classes and the largest probability difference between `model` and the Keras
    file, and the largest difference between `model` and the file read back into PyTorch (0 when exact)."""
    from cnnlab.kerasfile.build import import_keras
    from cnnlab.kerasfile.h5 import read
    keras = import_keras()
    want = torch_probabilities(model, images)
    got = keras_probabilities(path, images)
    back = torch_probabilities(read(path)[0], images)
    return {"images": len(images), "agreement": float((got.argmax(1) == want.argmax(1)).mean()),
            "max_abs_diff": float(np.abs(got - want).max()), "roundtrip_max_abs_diff": float(np.abs(back - want).max()),
            "keras": f"{keras.__version__} ({keras.backend.backend()} backend)"}
