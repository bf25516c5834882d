"""The .h5 file: a Keras 3 model saved by Keras itself (`model.save`), plus two root attributes:
`class_names` (JSON list, in output order) and `cnnlab` (JSON: what cnnlab needs to read the file back).

Reading it back needs h5py only: the PyTorch model is rebuilt from the `cnnlab` attribute and its weights are
read from Keras' `model_weights` group (transposed back, so the round trip is exact). Files of the older layout
(PyTorch weights in HDF5, `format = "cnnlab-h5"`) are still read (`legacy`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from cnnlab.errors import DataError
from cnnlab.kerasfile.layers import WEIGHTS, keras_name, to_torch, weighted

FORMAT = "cnnlab-keras-h5"
FORMAT_VERSION = 2
INPUT = "float32 (N, H, W, C) pixel values 0-255, upright, as an image file reads; normalisation inside the model"
OUTPUT = "softmax probabilities (N, classes), one pass (cnnlab applies the tta itself)"
EXPECTED = "cnnlab reads the .h5 files that 'cnnlab export MODEL --format h5' writes"


def description(ckpt: dict) -> dict:
    """The `cnnlab` attribute: enough to rebuild the PyTorch model and use it as its checkpoint would be."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "arch": ckpt["arch"],
            "model_kwargs": ckpt.get("model_kwargs", {}), "num_classes": int(ckpt.get("num_classes",
                                                                                    len(ckpt["classes"]))),
            "input_shape": [int(v) for v in ckpt["input_shape"]], "dataset": ckpt.get("dataset") or None,
            "tta": ckpt.get("tta") or "none", "input": INPUT, "output": OUTPUT}


def save(model: torch.nn.Module, ckpt: dict, path: Path) -> None:
    """Write the Keras model of `model` to `path` (which must end in .h5: Keras picks the format by it)."""
    import h5py

    from cnnlab.kerasfile.build import build, quiet_keras
    with quiet_keras():
        build(model, ckpt["input_shape"], ckpt["arch"]).save(str(path))
    with h5py.File(path, "a") as f:
        f.attrs["class_names"] = json.dumps(list(ckpt["classes"]))
        f.attrs["cnnlab"] = json.dumps(description(ckpt))


def read(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """(PyTorch model in eval mode, checkpoint-like dict without weights) from a cnnlab .h5 (either layout)."""
    import h5py
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; export one with 'cnnlab export MODEL --format h5'")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DataError(f"{path}: not a readable HDF5 file ({str(e).splitlines()[0][:120]}); {EXPECTED}") from None
    try:
        with f:
            if "cnnlab" in f.attrs:
                return _read_keras(f, path)
            from cnnlab.kerasfile import legacy
            if f.attrs.get("format") == legacy.FORMAT:
                return legacy.read(f, path)
            what = "a Keras model that cnnlab did not write (no 'cnnlab' attribute)" if "model_config" in f.attrs \
                else "an HDF5 file that is not a Keras model (no model_config)"
            raise DataError(f"{path}: {what}; {EXPECTED}")
    except (OSError, KeyError, ValueError, TypeError) as e:  # a truncated or damaged file, a mangled attribute
        raise DataError(f"{path}: a damaged cnnlab .h5 ({e.__class__.__name__}: {str(e).splitlines()[0][:120]}); "
                        "export it again with 'cnnlab export MODEL --format h5'") from None


def short_name(weight_name: str) -> str:
    """'features_0_0/kernel' -> 'kernel'; a Keras that named a depthwise kernel 'depthwise_kernel' is read too."""
    short = weight_name.rsplit("/", 1)[-1].split(":")[0]
    return "kernel" if short == "depthwise_kernel" else short


def _read_keras(f, path: Path) -> tuple[torch.nn.Module, dict]:
    from cnnlab.models import registry
    meta = json.loads(f.attrs["cnnlab"])
    if meta.get("format") != FORMAT or "model_weights" not in f:
        raise DataError(f"{path}: its 'cnnlab' attribute is not a {FORMAT} description or the file has no "
                        f"model_weights; {EXPECTED}")
    classes = json.loads(f.attrs["class_names"])
    model = registry.build(meta["arch"], meta["num_classes"], meta["input_shape"], **meta["model_kwargs"])
    state = model.state_dict()
    groups = f["model_weights"]
    for torch_path, module, kind in weighted(model):
        name = keras_name(torch_path)
        if name not in groups:
            raise DataError(f"{path}: no weights for layer {name} of model {meta['arch']!r}; {EXPECTED}")
        group = groups[name]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]]
        arrays = {short_name(n): np.asarray(group[n][()]) for n in names}
        tensors = to_torch(arrays, kind)
        missing = [s for _, s, _, _ in WEIGHTS[kind] if getattr(module, s, None) is not None and s not in tensors]
        if missing:
            held = ", ".join(arrays) or "nothing"
            raise DataError(f"{path}: layer {name} holds {held}, not the {', '.join(missing)} of its PyTorch layer; "
                            f"{EXPECTED}")
        for suffix, array in tensors.items():
            key = f"{torch_path}.{suffix}"
            if tuple(array.shape) != tuple(state[key].shape):
                raise DataError(f"{path}: layer {name}'s {suffix} has shape {list(array.shape)}, model "
                                f"{meta['arch']!r} needs {list(state[key].shape)}; {EXPECTED}")
            state[key] = torch.from_numpy(array)
    model.load_state_dict(state)
    info = {"arch": meta["arch"], "model_kwargs": meta["model_kwargs"], "classes": [str(c) for c in classes],
            "num_classes": int(meta["num_classes"]), "input_shape": [int(v) for v in meta["input_shape"]],
            "dataset": meta.get("dataset") or None, "tta": meta.get("tta") or "none", "format": "h5"}
    return model.eval(), info
