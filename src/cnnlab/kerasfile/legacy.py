"""The .h5 layout cnnlab wrote before its files became Keras models: a PyTorch state_dict in HDF5.

    /weights/<state-dict key>   one dataset per entry of the model's state_dict
    attrs: format = "cnnlab-h5", format_version = 1, arch, model_kwargs (JSON), classes, num_classes,
           input_shape, mean, std, preprocessing, dataset, tta

cnnlab still reads such files; it no longer writes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from cnnlab.errors import DataError

FORMAT = "cnnlab-h5"


def read(f, path: Path) -> tuple[torch.nn.Module, dict]:
    """(model in eval mode, checkpoint-like dict) from an open h5py file of this layout."""
    from cnnlab.models import registry
    if "weights" not in f:
        raise DataError(f"{path}: a {FORMAT} file without its /weights group; export it again with 'cnnlab export "
                        "MODEL --format h5'")
    meta = {"arch": str(f.attrs["arch"]), "model_kwargs": json.loads(f.attrs["model_kwargs"]),
            "classes": [str(c) for c in f.attrs["classes"]], "num_classes": int(f.attrs["num_classes"]),
            "input_shape": [int(v) for v in f.attrs["input_shape"]], "dataset": str(f.attrs["dataset"]) or None,
            "tta": str(f.attrs.get("tta", "none")), "format": "h5"}
    state = {k: torch.as_tensor(np.asarray(d[()])) for k, d in f["weights"].items()}
    model = registry.build(meta["arch"], meta["num_classes"], meta["input_shape"], **meta["model_kwargs"])
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise DataError(f"{path}: the weights do not fit model {meta['arch']!r} ({str(e).splitlines()[0]})") from None
    return model.eval(), meta
