"""`cnnlab export fer2013-vgg --format h5`: how long a user waits for the Keras file, how big it is against the
model's weights, and how well Keras agrees with cnnlab on the whole FER-2013 test split.

    PYTHONPATH=src python -m benchmarks.speed.h5_export --data ../shared/data/fer2013 [--repeats 3] [--note TEXT]

The export runs as its own process (`python -m cnnlab export ...`: Keras' import included, as a user sees it);
wall time and the process's user and system CPU seconds are the medians over the repeats. The agreement is
measured after, in this process: the written file opened with `keras.models.load_model` (PyTorch backend) and run
on every test image, against cnnlab's model in one pass (no test-time augmentation).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, median, run_once, write


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the FER-2013 folder (its test split is read)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--note", default="", help="what else ran on the machine, appended to the result's note")
    args = ap.parse_args()
    from cnnlab import data
    from cnnlab.kerasfile import check
    from cnnlab.kerasfile.images import N_REAL
    from cnnlab.runs import checkpoint_path, load_model

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fer2013-vgg.h5"
        argv = ["export", "fer2013-vgg", "--format", "h5", "--data", args.data, "--out", str(out)]
        runs = [run_once(ROOT / "src", argv) for _ in range(args.repeats)]
        model, _ = load_model("fer2013-vgg")
        weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
        test = data.load("fer2013", args.data, "test")
        p_torch = check.torch_probabilities(model, test.images)
        p_keras = check.keras_probabilities(out, test.images)
        size = out.stat().st_size
    load = os.getloadavg()[0]
    row = {"command": "cnnlab export fer2013-vgg --format h5 --data DIR", "wall_s": median(runs, "wall"),
           "user_s": median(runs, "user"), "sys_s": median(runs, "sys"), "h5_bytes": size, "weights_bytes": weights,
           "pt_bytes": checkpoint_path("fer2013-vgg").stat().st_size, "test_images": len(test),
           "same_class": float((p_keras.argmax(1) == p_torch.argmax(1)).mean()),
           "max_abs_diff": float(np.abs(p_keras - p_torch).max())}
    write("h5_export_cpu", [row], kind="speed",
          note=f"medians of {args.repeats} runs, each a whole process (Python, torch and Keras 3 imports, the "
               f"export, and its check: the file opened with keras.models.load_model and run on {N_REAL} test images, "
               f"then read back into PyTorch); weights_bytes: the float32 state dict; load average {load:.1f} on "
               f"{os.cpu_count()} cores when it ended. same_class and max_abs_diff: the written file in Keras "
               "(PyTorch backend) against cnnlab on every test image, one pass"
               + (f". {args.note}" if args.note else ""))


if __name__ == "__main__":
    main()
