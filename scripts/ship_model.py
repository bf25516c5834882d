"""Ship a trained run inside the package: src/cnnlab/shipped/NAME.pt (the best checkpoint, weights only as
trained) and NAME.json (its model card: dataset, classes, test metrics with and without the model's test-time
augmentation, per-class recall, confusion matrix, the exact command, training time and machine, inference time;
for a distilled student, its teacher and the loss's alpha and tau).

    PYTHONPATH=src python scripts/ship_model.py RUN_DIR NAME --command "cnnlab train ..." [--note "..."]
        [--face-margin 0.0] [--data ../shared/data/fer2013]

The inference time per face comes from benchmarks/results/fer_inference_cpu.json (run benchmarks/speed/fer_inference.py
first) for the run's architecture width.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "src" / "cnnlab" / "shipped"
sys.path.insert(0, str(ROOT))  # benchmarks.common


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("name")
    ap.add_argument("--command", required=True, help="the exact command that trained the run")
    ap.add_argument("--note", default="", help="how the training ran (what else shared the machine, resumes)")
    ap.add_argument("--face-margin", type=float, default=None, help="crop margin for live face crops")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"), help="folder holding the datasets")
    ap.add_argument("--to", default=str(SHIPPED), help="folder to write NAME.pt and NAME.json into")
    args = ap.parse_args()
    from benchmarks.common import machine

    from cnnlab import data
    from cnnlab.engine.checkpoint import build_from_checkpoint
    from cnnlab.engine.evaluate import evaluate
    from cnnlab.engine.metrics import classification_metrics
    from cnnlab.engine.runfolder import RunFolder
    run = Path(args.run)
    folder = RunFolder(run)
    ckpt = torch.load(folder.best, map_location="cpu", weights_only=False)
    metrics = json.loads(folder.metrics.read_text())
    config = json.loads(folder.config.read_text())
    keep = {k: ckpt[k] for k in ("model", "arch", "num_classes", "classes", "input_shape", "model_kwargs", "dataset",
                                 "config", "epoch", "val_acc", "tta") if k in ckpt}
    tta = ckpt.get("tta", "none")
    # the same test split without the test-time augmentation, for the card's second column
    test = data.load(ckpt["dataset"], Path(args.data) / ckpt["dataset"], "test")
    plain = evaluate(build_from_checkpoint(ckpt), test, torch.device("cpu"), 1024, "none")
    plain = classification_metrics(plain["preds"], plain["targets"], ckpt["classes"])
    width = ckpt["model_kwargs"].get("width")
    inference = []
    bench = ROOT / "benchmarks" / "results" / "fer_inference_cpu.json"
    if bench.exists():
        rec = json.loads(bench.read_text())
        inference = [{k: r[k] for k in ("batch", "tta", "torch_ms_per_face", "onnxruntime_ms_per_face") if k in r}
                     for r in rec["results"] if r.get("width") == width]
        inference = {"command": rec["command"], "machine": rec["machine"], "rows": inference}
    env = config["environment"]
    card = {
        "name": args.name, "dataset": ckpt["dataset"], "classes": ckpt["classes"], "arch": ckpt["arch"],
        "model_kwargs": {k: v for k, v in ckpt["model_kwargs"].items() if k not in ("mean", "std")},
        "input_shape": ckpt["input_shape"], "file": f"{args.name}.pt", "command": args.command,
        "recipe": config.get("recipe"), "tta": tta,
        "metrics": {**{k: metrics[k] for k in ("split", "num_samples", "accuracy", "precision_macro", "recall_macro",
                                               "f1_macro", "params_total", "best_epoch", "train_seconds")},
                    "tta": tta},
        "metrics_without_tta": {k: round(plain[k], 4) for k in ("accuracy", "precision_macro", "recall_macro",
                                                                  "f1_macro")},
        "recall_per_class": {c: round(v["recall"], 4) for c, v in metrics["per_class"].items()},
        "f1_per_class": {c: round(v["f1"], 4) for c, v in metrics["per_class"].items()},
        "confusion_matrix": metrics["confusion_matrix"],
        "training": {"epochs": config["epochs"], "train_seconds": metrics["train_seconds"],
                     "images_per_second": metrics.get("images_per_second"),
                     "machine": env.get("cuda_device") or machine("cpu", threads=False), "torch": env["torch"],
                     "note": args.note},
        "checkpoint_chosen_on": f"validation split ({config['val_fraction']:.0%} of train, stratified, seed "
                                f"{config['seed'] if config.get('split_seed') is None else config['split_seed']})",
        "inference_cpu": inference,
        "preprocess": {"input": "gray 48x48, pixel/255; mean/std inside the model",
                       **({"face_margin": args.face_margin} if args.face_margin is not None else {})},
    }
    kd = run / "distill.json"
    if kd.exists():  # a distilled student: who taught it, and how
        kd = json.loads(kd.read_text())
        card["teacher"] = {"models": kd["teacher"].split(","), "ensemble": "mean of the members' probabilities"
                           + (", each over the face and its mirror" if kd.get("teacher_flip") else ""),
                           **{k: kd.get(k) for k in ("alpha", "tau", "t2_scale", "teacher_targets", "loss")},
                           **({"teacher_views": kd["teacher_views"]} if "teacher_views" in kd else {})}
    soup = run / "soup.json"
    if soup.exists():  # a model soup: which models were averaged, chosen how; no training of its own
        soup = json.loads(soup.read_text())
        card["training"] = {"epochs": None, "train_seconds": None, "machine": card["training"]["machine"],
                            "torch": env["torch"], "note": args.note}
        card["checkpoint_chosen_on"] += ": each ingredient's checkpoint, and which went into the soup"
        card["soup"] = {"method": soup["method"], "models": [i["model"] for i in soup["ingredients"] if i["in_soup"]],
                        "left_out": [i["model"] for i in soup["ingredients"] if not i["in_soup"]],
                        "val_acc": soup["val_acc"], "ingredients_val_acc": {i["model"]: i["val_acc"]
                                                                            for i in soup["ingredients"]}}
    to = Path(args.to)
    to.mkdir(parents=True, exist_ok=True)
    torch.save(keep, to / f"{args.name}.pt")
    (to / f"{args.name}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card["metrics"]))


if __name__ == "__main__":
    main()
