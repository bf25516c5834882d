"""Export a trained model to ONNX (checked with ONNX Runtime) or to HDF5 as a Keras model (checked with Keras).

ONNX takes the input every cnnlab model takes: float images [N, C, H, W] = uint8 pixels / 255, the mean/std
normalisation inside the model; it outputs the logits (softmax gives the probabilities). It uses the TorchScript
exporter (`dynamo=False`): it needs no package beyond torch, where the default `dynamo=True` exporter also needs
`onnxscript`; opset 17 is supported by both on torch 2.11 to 2.14.

The .h5 is a Keras 3 model (cnnlab.kerasfile) that `keras.models.load_model` opens under any backend: float32
pixel values (N, H, W, C) 0-255 in, softmax probabilities out. cnnlab reads it back into the PyTorch model
(`load_h5`, h5py only), so every command that takes a model takes the .h5 file.

Both files carry what cnnlab needs to use them like a checkpoint: classes, input shape, dataset and the model's
test-time augmentation ("tta"), so `cnnlab eval|predict FILE` behaves as with the run folder it came from. An
.onnx file runs in ONNX Runtime (`load_onnx`); it cannot be trained further or explained with gradients.
docs/model-files.md describes both files.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from cnnlab.atomic import atomic_path
from cnnlab.errors import DataError, RunError

OPSET = 17
MIN_AGREEMENT = 0.995  # share of images on which the .h5 (in Keras) predicts the class the PyTorch model predicts
PREPROCESSING = ("input: float32 images [N, C, H, W] = uint8 pixels / 255 (C=1 gray or 3 RGB, resized to H×W); "
                 "mean/std normalisation is inside the model; output: logits (softmax = probabilities)")


def random_images(input_shape, n: int = 8, seed: int = 0) -> torch.Tensor:
    """uint8 images [N, C, H, W] for the equivalence checks: a black one, a white one and random ones."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, *input_shape), generator=g, dtype=torch.uint8)
    x[0], x[1] = 0, 255
    return x


def check_images(input_shape, n: int = 8, seed: int = 0) -> torch.Tensor:
    """Float inputs for the equivalence checks: `random_images` divided by 255."""
    return random_images(input_shape, n, seed).float() / 255


@torch.inference_mode()
def torch_probabilities(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    return model.eval()(x).float().softmax(1).numpy()


# ---------------------------------------------------------------------------------------------------------------
# ONNX

def metadata(ckpt: dict, model: torch.nn.Module | None = None) -> dict[str, str]:
    meta = {"arch": ckpt["arch"], "classes": json.dumps(list(ckpt["classes"])),
            "num_classes": str(int(ckpt.get("num_classes", len(ckpt["classes"])))),
            "input_shape": json.dumps(list(ckpt["input_shape"])),
            "model_kwargs": json.dumps(ckpt.get("model_kwargs", {})), "preprocessing": PREPROCESSING,
            "dataset": str(ckpt.get("dataset") or ""), "tta": str(ckpt.get("tta") or "none"), "producer": "cnnlab"}
    if model is not None:
        meta["params_total"] = str(sum(p.numel() for p in model.parameters()))
        meta["params_trainable"] = str(sum(p.numel() for p in model.parameters() if p.requires_grad))
    return meta


def write_onnx(model: torch.nn.Module, ckpt: dict, path: Path, opset: int = OPSET) -> None:
    """torch.onnx.export with a dynamic batch axis, then the model's metadata (classes, shape, ...) added.
    A model that is itself an ONNX file (OnnxModel) is written as it is."""
    import onnx
    if isinstance(model, OnnxModel):
        onnx.save(model.proto, str(path))
        return
    model = model.cpu().float().eval()
    x = check_images(ckpt["input_shape"], 2)
    with warnings.catch_warnings():  # the TorchScript exporter warns that dynamo=True is the new default
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=opset, input_names=["images"],
                          output_names=["logits"], dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    proto = onnx.load(str(path))
    for k, v in metadata(ckpt, model).items():
        proto.metadata_props.add(key=k, value=v)
    onnx.save(proto, str(path))


def onnx_probabilities(path: Path, x: torch.Tensor) -> np.ndarray:
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"images": x.numpy()})[0]
    return torch.from_numpy(logits).softmax(1).numpy()


def check_onnx(model: torch.nn.Module, path: Path, input_shape) -> float:
    """Largest |p_torch - p_onnxruntime| over a batch of 8 and a batch of 1 (the batch axis is dynamic)."""
    x = check_images(input_shape, 8)
    want = torch_probabilities(model.cpu(), x)
    batch = np.abs(onnx_probabilities(path, x) - want).max()
    single = np.abs(onnx_probabilities(path, x[2:3]) - want[2:3]).max()
    return float(max(batch, single))


def export_onnx(model: torch.nn.Module, ckpt: dict, out: Path, opset: int = OPSET, tolerance: float = 1e-4) -> dict:
    """Write `out` only when ONNX Runtime gives the same probabilities as torch within `tolerance`."""
    with atomic_path(out) as tmp:
        write_onnx(model, ckpt, tmp, opset)
        diff = check_onnx(model, tmp, ckpt["input_shape"])
        if not diff <= tolerance:
            raise RunError(f"{out}: ONNX Runtime's probabilities differ from torch's by {diff:.3g} "
                           f"(> {tolerance:g}); the file was not written. Try another --opset")
    return {"file": str(out), "format": "onnx", "opset": opset, "max_abs_diff": diff, "tolerance": tolerance}


# ---------------------------------------------------------------------------------------------------------------
# HDF5: a Keras model (cnnlab.kerasfile)

def load_h5(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """(PyTorch model in eval mode, checkpoint-like dict without weights) from a .h5 written by `export_h5` (or by
    cnnlab before its .h5 files were Keras models)."""
    from cnnlab.kerasfile.h5 import read
    return read(path)


class OnnxModel(torch.nn.Module):
    """An exported .onnx file run by ONNX Runtime, with a torch module's call: float images [N, C, H, W] in,
    logits out (on the input's device). Inference only: it has no parameters to train or to differentiate."""

    def __init__(self, proto, path: Path):
        import onnxruntime as ort
        super().__init__()
        self.proto, self.path = proto, Path(path)
        self.session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.params_total = int(sum(np.prod(t.dims, dtype=np.int64) for t in proto.graph.initializer))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        images = x.detach().float().cpu().contiguous().numpy()
        return torch.from_numpy(self.session.run(None, {self.input_name: images})[0]).to(x.device)


def load_onnx(path: str | Path) -> tuple[OnnxModel, dict]:
    """(model, checkpoint-like dict without weights) from an .onnx file written by `cnnlab export`."""
    import onnx
    path = Path(path)
    try:
        proto = onnx.load(str(path))
    except Exception as e:  # protobuf's DecodeError and others: not an ONNX file
        raise DataError(f"{path}: not a readable ONNX file ({e.__class__.__name__}); export it again with "
                        "'cnnlab export RUN_DIR --format onnx'") from None
    meta = {p.key: p.value for p in proto.metadata_props}
    missing = [k for k in ("classes", "input_shape") if k not in meta]
    if missing:
        raise DataError(f"{path}: an ONNX model without cnnlab's metadata (no {' or '.join(missing)}), so cnnlab does "
                        "not know its classes and input; cnnlab reads the .onnx files that 'cnnlab export RUN_DIR "
                        "--format onnx' writes")
    classes = json.loads(meta["classes"])
    info = {"arch": meta.get("arch", "onnx"), "model_kwargs": json.loads(meta.get("model_kwargs", "{}")),
            "classes": classes, "num_classes": int(meta.get("num_classes", len(classes))),
            "input_shape": json.loads(meta["input_shape"]), "dataset": meta.get("dataset") or None,
            "tta": meta.get("tta") or "none", "format": "onnx",
            **{k: int(meta[k]) for k in ("params_total", "params_trainable") if k in meta}}
    try:
        model = OnnxModel(proto, path)
    except Exception as e:  # onnxruntime's own errors: an invalid graph
        raise DataError(f"{path}: ONNX Runtime cannot run this model ({str(e).splitlines()[0][:200]})") from None
    return model.eval(), info


def export_h5(model: torch.nn.Module, ckpt: dict, out: Path, images: torch.Tensor | None = None,
              tolerance: float = 1e-4) -> dict:
    """Write `out` as a Keras model, then open it with Keras and read it back into PyTorch on `images` (uint8
    [N, C, H, W]; random ones when None): kept only when Keras agrees with PyTorch on >= 99.5% of the classes and
    within `tolerance` on the probabilities, and the round trip is exact."""
    from cnnlab.kerasfile import check, h5
    if images is None:
        images = random_images(ckpt["input_shape"], 8)
    with atomic_path(out) as tmp:
        h5.save(model, ckpt, tmp)
        result = check.parity(model, tmp, images)
        if not (result["max_abs_diff"] <= tolerance and result["agreement"] >= MIN_AGREEMENT):
            raise RunError(f"{out}: Keras' probabilities differ from torch's by {result['max_abs_diff']:.3g} (> "
                           f"{tolerance:g}) or agree on only {result['agreement']:.1%} of the classes; the file was "
                           "not written")
        if result["roundtrip_max_abs_diff"] != 0.0:
            raise RunError(f"{out}: the model read back from the .h5 differs by {result['roundtrip_max_abs_diff']:.3g};"
                           " the file was not written")
    return {"file": str(out), "format": "h5", "keras_layers": _count_layers(out), "tolerance": tolerance, **result}


def _count_layers(path: Path) -> int:
    import h5py
    with h5py.File(path, "r") as f:
        return len(f["model_weights"].attrs["layer_names"])


def default_out(ref: str, fmt: str) -> Path:
    """RUN_DIR/model.<fmt> for a run folder, <checkpoint>.<fmt> beside a checkpoint file, ./<name>.<fmt> else."""
    p = Path(ref)
    if p.is_dir():
        return p / f"model.{fmt}"
    if p.is_file():
        return p.with_suffix(f".{fmt}")
    return Path(f"{ref}.{fmt}")
