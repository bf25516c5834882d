"""Inference time per face of fer-vgg (48×48 gray) in PyTorch and in ONNX Runtime, at batch 1 and batch 64, with
and without test-time augmentation (flip: each face and its mirror image in one batch of twice the size).

Random weights (time does not depend on their values); the ONNX file is the one `cnnlab export` writes. PyTorch
runs the model as `cnnlab predict` does (eval, inference mode, channels-last input); each number is the median (and
the minimum, "best") of `--repeats` timed calls after warm-up, divided by the batch size.

    PYTHONPATH=src python -m benchmarks.speed.fer_inference [--widths 24] [--batches 1 64] [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import torch

from benchmarks.common import timed, write

from cnnlab.data.fer2013 import CLASSES, MEAN, SHAPE, STD
from cnnlab.export import write_onnx
from cnnlab.models import registry
from cnnlab.models.common import count_params


def seconds(fn, repeats: int, warmup: int = 5) -> tuple[float, float]:
    """(median, min) of `repeats` timed calls; the min is the least disturbed by other processes."""
    timed(fn, 0, warmup)
    times = [timed(fn) for _ in range(repeats)]
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--widths", type=int, nargs="+", default=[24], help="fer-vgg widths")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 64], help="batch sizes")
    ap.add_argument("--repeats", type=int, default=30, help="timed calls per measurement")
    args = ap.parse_args()
    import onnxruntime as ort
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for width in args.widths:
            kwargs = {"mean": MEAN, "std": STD, "width": width}
            torch.manual_seed(0)
            model = registry.build("fer-vgg", len(CLASSES), SHAPE, **kwargs).eval()
            path = Path(tmp) / f"fer-vgg-{width}.onnx"
            write_onnx(model, {"arch": "fer-vgg", "classes": CLASSES, "input_shape": SHAPE, "model_kwargs": kwargs},
                       path)
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            for batch, tta in ((b, t) for b in args.batches for t in ("none", "flip")):
                x = torch.rand(batch, *SHAPE)
                if tta == "flip":
                    x = torch.cat([x, x.flip(-1)])
                xc = x.contiguous(memory_format=torch.channels_last)
                xn = x.numpy()

                def run_torch(i):
                    with torch.inference_mode():
                        model(xc)

                row = {"model": "fer-vgg", "width": width, "params": count_params(model), "batch": batch, "tta": tta}
                for name, fn in (("torch", run_torch), ("onnxruntime", lambda i: session.run(None, {"images": xn}))):
                    median, best = seconds(fn, args.repeats)
                    row[f"{name}_ms_per_face"] = round(1000 * median / batch, 3)
                    row[f"{name}_best_ms_per_face"] = round(1000 * best / batch, 3)
                results.append(row)
    write("fer_inference_cpu", results, "cpu", kind="speed",
          note=f"onnxruntime {ort.__version__}; ms per face = median of "
               f"{args.repeats} timed calls / batch (best = fastest call), measured in one run")

if __name__ == "__main__":
    main()
