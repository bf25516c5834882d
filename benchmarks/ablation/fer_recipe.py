"""One measured step of the FER-2013 CPU recipe search: train a variant of a named recipe, score it on validation.

    PYTHONPATH=src python -m benchmarks.ablation.fer_recipe NAME --epochs 10 \
        [--set ema=0.999 --set augment.erase=0.25 ...]

Trains `cnnlab train fer2013 --recipe cpu` with the given overrides into runs/recipe/NAME (resumable), then scores
best.pt on the validation split (carved from train; the test split is never looked at here): accuracy with and
without the flip average, macro-F1 and per-class recall. Writes benchmarks/results/fer_recipe_NAME.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from benchmarks.common import FER, write

from cnnlab.engine.checkpoint import build_from_checkpoint, load_checkpoint
from cnnlab.engine.config import TrainConfig, apply_overrides
from cnnlab.engine.evaluate import evaluate
from cnnlab.engine.metrics import classification_metrics
from cnnlab.engine.runfolder import RunFolder
from cnnlab.engine.train import load_splits, train
from cnnlab.experiments import defaults


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name")
    ap.add_argument("--recipe", default="cpu")
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--data", default=str(FER))
    ap.add_argument("--runs", default="runs/recipe")
    args = ap.parse_args()
    d = {**TrainConfig().to_dict(), **defaults("fer2013", args.recipe), "dataset": "fer2013", "data": args.data,
         "epochs": args.epochs, "out": str(Path(args.runs) / args.name), "quiet": True}
    d["augment"], d["model_kwargs"] = dict(d["augment"]), dict(d["model_kwargs"])
    cfg = TrainConfig.from_dict(apply_overrides(d, args.set)).check()
    cfg = dataclasses.replace(cfg, resume=RunFolder(cfg.out).last.exists())
    t0 = time.time()
    train(cfg)
    wall = time.time() - t0
    _, val, _ = load_splits(cfg)
    ckpt = load_checkpoint(RunFolder(cfg.out).best)
    model = build_from_checkpoint(ckpt)
    scores = {}
    for tta in ("none", "flip"):
        r = evaluate(model, val, "cpu", 1024, tta)
        m = classification_metrics(r["preds"], r["targets"], val.classes)
        scores[tta] = {"val_accuracy": round(m["accuracy"], 4), "val_f1_macro": round(m["f1_macro"], 4),
                       "val_recall": {c: round(v["recall"], 3) for c, v in m["per_class"].items()}}
    results = {"overrides": args.set, "epochs": args.epochs, "best_epoch": ckpt.get("epoch"),
               "wall_seconds_this_call": round(wall), "val": scores,
               "config": {k: getattr(cfg, k) for k in ("model_kwargs", "augment", "lr", "ema", "precision",
                                                       "label_smoothing", "class_weights", "batch_size")}}
    write(f"fer_recipe_{args.name}", results, note="score on the validation split (10% of train, seed 0); "
          "the wall time includes whatever else ran on the shared CPU")


if __name__ == "__main__":
    main()
