"""Ship a trained run inside the package: src/cnnlab/shipped/NAME.pt (the best checkpoint, weights only as
trained) and NAME.json (its model card: dataset, classes, test metrics, the exact command, time and machine).

    PYTHONPATH=src python scripts/ship_model.py RUN_DIR NAME --command "cnnlab train ..." [--face-margin 0.0]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

SHIPPED = Path(__file__).resolve().parents[1] / "src" / "cnnlab" / "shipped"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("name")
    ap.add_argument("--command", required=True, help="the exact command that trained the run")
    ap.add_argument("--face-margin", type=float, default=None, help="crop margin for live face crops")
    args = ap.parse_args()
    run = Path(args.run)
    ckpt = torch.load(run / "best.pt", map_location="cpu", weights_only=False)
    metrics = json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())
    keep = {k: ckpt[k] for k in ("model", "arch", "num_classes", "classes", "input_shape", "model_kwargs", "dataset",
                                 "config", "epoch", "val_acc")}
    torch.save(keep, SHIPPED / f"{args.name}.pt")
    env = config["environment"]
    card = {
        "name": args.name, "dataset": ckpt["dataset"], "classes": ckpt["classes"], "arch": ckpt["arch"],
        "model_kwargs": {k: v for k, v in ckpt["model_kwargs"].items() if k not in ("mean", "std")},
        "input_shape": ckpt["input_shape"], "file": f"{args.name}.pt", "command": args.command,
        "metrics": {k: metrics[k] for k in ("split", "num_samples", "accuracy", "precision_macro", "recall_macro",
                                            "f1_macro", "params_total", "best_epoch", "train_seconds")},
        "recall_per_class": {c: round(v["recall"], 4) for c, v in metrics["per_class"].items()},
        "trained_on": env.get("cuda_device") or f"CPU ({env['platform']})", "torch": env["torch"],
        "checkpoint_chosen_on": f"validation split ({config['val_fraction']:.0%} of train, stratified, seed {config['seed']})",
        "preprocess": {"input": "gray 48x48, pixel/255; mean/std inside the model",
                       **({"face_margin": args.face_margin} if args.face_margin is not None else {})},
    }
    (SHIPPED / f"{args.name}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card["metrics"]))


if __name__ == "__main__":
    main()
