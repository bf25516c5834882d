"""Do cnnlab's Keras .h5 files give PyTorch's probabilities under another Keras backend, as a grader opens them?

    PYTHONPATH=src python -m benchmarks.peers.h5_backends --python /path/to/tf-venv/bin/python --backend tensorflow \
        [--data ../shared/data]

Each architecture a practical question's best model can be is exported with `cnnlab export --format h5` (random
weights, batch-norm statistics measured on real images, as tests/kerasfile/test_keras_h5.py does), and the shipped
FER-2013 model too. The other Python (one with keras and the backend installed, without cnnlab on its path) opens each
file with `keras.models.load_model` and predicts on real test images of the matching dataset; its probabilities
are compared with cnnlab's PyTorch model. Neither TensorFlow nor JAX is a cnnlab dependency: give --python.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import DATA, write

CLASSES = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
MODELS = {"mlp": ("mlp", [1, 28, 28], {"hidden": 32}), "cnn": ("cnn", [1, 28, 28], {"width": 8}),
          "cnn-factorized": ("cnn-factorized", [3, 32, 32], {"width": 8}),
          "fer-vgg": ("fer-vgg", [1, 48, 48], {"width": 8}),
          "fer-vgg factorized": ("fer-vgg", [1, 48, 48], {"width": 8, "factorized": True}),
          "mobilenetv2-cifar": ("mobilenetv2-cifar", [3, 32, 32], {}), "mobilenetv2": ("mobilenetv2", [3, 32, 32], {}),
          "resnet18 (resize to 64)": ("resnet18", [3, 32, 32], {"image_size": 64}),
          "resnet50 (resize to 224)": ("resnet50", [3, 32, 32], {"image_size": 224})}
OTHER = """
import json, sys
import numpy as np
import keras
rows = []
for name, h5, x in json.loads(sys.argv[1]):
    rows.append([name, keras.models.load_model(h5).predict(np.load(x), verbose=0).tolist()])
backend = keras.backend.backend()
print(json.dumps({"keras": keras.__version__, "backend": backend, "rows": rows,
                  "backend_version": __import__(backend).__version__,
                  "cnnlab_imported": any(m.split(".")[0] == "cnnlab" for m in sys.modules)}))
"""


def real_images(shape, data: Path, n: int) -> torch.Tensor:
    from cnnlab import data as datasets
    from cnnlab.kerasfile.images import evenly
    name, folder = {(1, 28): ("emnist", "emnist-byclass-reduced"), (1, 48): ("fer2013", "fer2013"),
                    (3, 32): ("cifar10", "cifar10")}[(shape[0], shape[1])]
    return evenly(datasets.load(name, data / folder, "test").images, n)


def random_model(arch, shape, hparams, data: Path):
    """Random weights; batch norm with random scales and shifts, its statistics measured on real images."""
    from cnnlab.models import registry
    kwargs = {"mean": [0.5] * shape[0], "std": [0.25] * shape[0], **hparams}
    torch.manual_seed(0)
    model = registry.build(arch, len(CLASSES), shape, **kwargs)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.momentum = None
    with torch.no_grad():
        model.train()(real_images(shape, data, 64).float() / 255)
    ckpt = {"model": model.state_dict(), "arch": arch, "num_classes": len(CLASSES), "classes": CLASSES,
            "input_shape": shape, "model_kwargs": kwargs, "dataset": None, "config": {}, "epoch": 1}
    return model.eval(), ckpt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", required=True, help="a Python with keras and the backend installed")
    ap.add_argument("--backend", required=True, choices=["tensorflow", "jax", "torch"])
    ap.add_argument("--data", default=str(DATA),
                    help="folder holding emnist-byclass-reduced/, fer2013/ and cifar10/")
    ap.add_argument("--images", type=int, default=32, help="test images per model")
    args = ap.parse_args()
    from cnnlab.cli import main as cnnlab
    from cnnlab.runs import load_model
    data = Path(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        want, jobs = {}, []
        entries = [(name, *random_model(arch, shape, hp, data), shape) for name, (arch, shape, hp) in MODELS.items()]
        shipped, ckpt = load_model("fer2013-vgg")
        entries.append(("fer2013-vgg (shipped, trained)", shipped, None, [1, 48, 48]))
        for i, (name, model, ckpt, shape) in enumerate(entries):
            ref = "fer2013-vgg"
            if ckpt is not None:
                ref = str(tmp / f"{i}.pt")
                torch.save(ckpt, ref)
            if cnnlab(["export", ref, "--format", "h5", "--out", str(tmp / f"{i}.h5")]) != 0:
                raise SystemExit(f"export of {name} failed")
            x = real_images(shape, data, args.images)
            with torch.no_grad():
                want[name] = model(x.float() / 255).softmax(1).numpy()
            np.save(tmp / f"{i}.npy", x.permute(0, 2, 3, 1).float().numpy())
            jobs.append([name, str(tmp / f"{i}.h5"), str(tmp / f"{i}.npy")])
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        r = subprocess.run([args.python, "-c", OTHER, json.dumps(jobs)], capture_output=True, text=True, cwd=tmp,
                           env={**env, "KERAS_BACKEND": args.backend})
        if r.returncode != 0:
            raise SystemExit(r.stderr[-2000:])
        other = json.loads(r.stdout.strip().splitlines()[-1])
    rows = []
    for name, p in other["rows"]:
        p = np.asarray(p, dtype=np.float32)
        rows.append({"model": name, "test_images": len(p),
                     "same_class": float((p.argmax(1) == want[name].argmax(1)).mean()),
                     "max_abs_diff": float(np.abs(p - want[name]).max())})
    write(f"h5_backend_{other['backend']}", rows, kind="result",
          note=f"the .h5 written by cnnlab export (Keras {other['keras']} on PyTorch) opened with "
               f"keras.models.load_model by Keras {other['keras']} on the {other['backend']} backend "
               f"({other['backend']} {other['backend_version']}) in a Python "
               f"without cnnlab (cnnlab imported there: {other['cnnlab_imported']}); probabilities against cnnlab's "
               "PyTorch model, fp32, on real test images of each model's input (EMNIST, FER-2013, CIFAR-10); the "
               "architectures have random weights with measured batch-norm statistics, the shipped model is trained")


if __name__ == "__main__":
    main()
