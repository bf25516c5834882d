"""Does the moving average of the weights (--ema) pay at the end of a FER-2013 run? Validation accuracy and
macro-F1 of a run's last.pt: its raw weights against their moving average, without and with the flip average.
The test split is not looked at.

    PYTHONPATH=src python -m benchmarks.ablation.fer_ema RUN_DIR

Writes benchmarks/results/fer_ema_cpu.json.
"""

from __future__ import annotations

import argparse
import sys

import torch

from benchmarks.common import write

from cnnlab.engine.checkpoint import build_from_checkpoint, load_checkpoint
from cnnlab.engine.config import TrainConfig
from cnnlab.engine.evaluate import predict_logits
from cnnlab.engine.metrics import classification_metrics
from cnnlab.engine.runfolder import RunFolder
from cnnlab.engine.train import load_splits


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run")
    args = ap.parse_args()
    ckpt = load_checkpoint(RunFolder(args.run).last)
    if not ckpt.get("ema"):
        sys.exit(f"{args.run}/last.pt holds no moving average: train with --ema 0.999")
    cfg = TrainConfig.from_dict(ckpt["config"])
    _, val, _ = load_splits(cfg)
    averaged = {k.removeprefix("module."): v for k, v in ckpt["ema"].items() if k != "n_averaged"}
    rows = []
    for weights, state in (("raw", ckpt["model"]), ("moving average", averaged)):
        model = build_from_checkpoint({**ckpt, "model": state}, args.run)
        for tta in ("none", "flip"):
            logits = predict_logits(model, val.images, torch.device("cpu"), 512, tta, "fp32")
            m = classification_metrics(logits.argmax(1), val.labels, val.classes)
            rows.append({"weights": weights, "tta": tta, "val_accuracy": round(m["accuracy"], 4),
                         "val_f1_macro": round(m["f1_macro"], 4)})
            print(rows[-1], file=sys.stderr)
    write("fer_ema_cpu", rows, kind="result",
          note=f"{args.run}/last.pt (epoch {ckpt.get('epoch')}, decay {cfg.ema}) on its validation split "
               f"({len(val)} faces), fp32")


if __name__ == "__main__":
    main()
