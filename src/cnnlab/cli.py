"""The `cnnlab` command: one argparse tree; each sub-command is a few lines that call into the packages."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from cnnlab.errors import CnnlabError, UsageError

# Modules that add their own sub-commands with `register(subparsers)`.
EXTENSIONS = ["cnnlab.theory.cli", "cnnlab.tools_cli", "cnnlab.report.cli", "cnnlab.distill.cli", "cnnlab.live.cli",
              "cnnlab.handin.cli"]

Formatter = argparse.ArgumentDefaultsHelpFormatter


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CnnlabError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cnnlab", formatter_class=Formatter,
                                description="Convolutional-network experiments: EMNIST MLP vs CNN, FER-2013 expressions, "
                                            "CIFAR-10 distillation, and the theory questions as tested code.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__import__('cnnlab').__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_data(sub)
    add_train(sub)
    add_eval(sub)
    add_predict(sub)
    add_compare(sub)
    add_demo(sub)
    add_models(sub)
    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:  # an extension not written yet; any other import error is raised
            if e.name != name:
                raise
            continue
        module.register(sub)
    return p


# ---------------------------------------------------------------------------------------------------------------
# Shared options

def add_train_options(p: argparse.ArgumentParser, model: bool = True) -> None:
    """Options of every training command; None means 'the dataset's default recipe' (see `cnnlab.experiments`)."""
    g = p.add_argument_group("training (unset options take the dataset's default recipe)")
    g.add_argument("--data", help="dataset folder (see DESIGN.md for each dataset's layout)")
    g.add_argument("--recipe", help="named recipe of the dataset (fer2013: cpu or gpu; default gpu when CUDA is "
                                    "present, else cpu); the options below override its values")
    if model:
        g.add_argument("--model", help="model name (cnnlab models --all lists them); default: cnn")
    g.add_argument("--out", help="run folder to write", required=True)
    g.add_argument("--epochs", type=int, help="epochs")
    g.add_argument("--batch-size", type=int, help="batch size (global, split over torchrun processes)")
    g.add_argument("--lr", type=float, help="peak learning rate")
    g.add_argument("--weight-decay", type=float, help="L2 regularisation (weight decay on weights, not biases/BN)")
    g.add_argument("--dropout", type=float, help="dropout probability of the model's dropout layers")
    g.add_argument("--width", type=int, help="channel width of the CNN models (first stage's channels)")
    g.add_argument("--optimizer", choices=["adamw", "sgd"], help="optimiser (sgd uses Nesterov momentum 0.9)")
    g.add_argument("--schedule", choices=["cosine", "plateau", "none"], help="learning-rate schedule")
    g.add_argument("--label-smoothing", type=float, help="label smoothing of the cross-entropy")
    g.add_argument("--precision", choices=["auto", "bf16", "fp32"],
                   help="auto = bf16 autocast on CUDA, fp32 on CPU; bf16 also on a CPU with bf16 instructions")
    g.add_argument("--ema", type=float, help="decay of a moving average of the weights used for val/test/best.pt (0 = off)")
    g.add_argument("--tta", choices=["none", "flip"], help="test-time augmentation of the final metrics (flip: image + mirror)")
    g.add_argument("--class-weights", choices=["none", "balanced", "sqrt"],
                   help="weight the loss by inverse class frequency (balanced) or its square root (sqrt)")
    g.add_argument("--no-augment", action="store_true", help="turn the recipe's data augmentation off")
    g.add_argument("--param-budget", type=int, help="size the model (MLP hidden width, CNN width) to this many "
                                                     "parameters; an mlp without it matches the default cnn")
    g.add_argument("--seed", type=int, default=0, help="random seed (data split, init, shuffling, augmentation)")
    g.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto = cuda when available")
    g.add_argument("--val-fraction", type=float, default=0.1, help="stratified share of train used to pick best.pt")
    g.add_argument("--limit-train", type=int, help="use a seeded random subset of N training images")
    g.add_argument("--limit-test", type=int, help="use a seeded random subset of N test images")
    g.add_argument("--cache-dir", help="where decoded tensors are cached (default $CNNLAB_CACHE_DIR or ~/.cache/cnnlab)")
    g.add_argument("--download", action="store_true", help="download a missing dataset with torchvision (EMNIST, CIFAR-10)")
    g.add_argument("--checkpoint-steps", type=int, help="also save last.pt every N steps inside an epoch")
    g.add_argument("--max-steps", type=int, help="stop after N optimiser steps in total (continue later with --resume)")
    g.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    g.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")


def config_from_args(args, dataset: str, **overrides):
    """TrainConfig = built-in defaults < the dataset's recipe < the options given on the command line."""
    from cnnlab.engine.config import TrainConfig
    from cnnlab.experiments import defaults
    d = {**TrainConfig().to_dict(), **defaults(dataset, getattr(args, "recipe", None)), "dataset": dataset}
    simple = ["data", "model", "out", "epochs", "batch_size", "lr", "weight_decay", "optimizer", "schedule",
              "label_smoothing", "class_weights", "param_budget", "seed", "device", "val_fraction", "limit_train",
              "precision", "ema", "tta",
              "limit_test", "cache_dir", "checkpoint_steps", "max_steps"]
    for k in simple:
        v = getattr(args, k, None)
        if v is not None:
            d[k] = v
    d["model_kwargs"] = dict(d.get("model_kwargs") or {})
    if getattr(args, "dropout", None) is not None:
        d["model_kwargs"]["dropout"] = args.dropout
    if getattr(args, "width", None) is not None:
        d["model_kwargs"]["width"] = args.width
    if getattr(args, "no_augment", False):
        d["augment"] = {}
    for k in ("download", "resume", "quiet"):
        d[k] = bool(getattr(args, k, False))
    d.update(overrides)
    if d["data"] is None:
        raise UsageError("--data DIR is required: the folder holding the dataset (see 'cnnlab data check --help')")
    for k in ("epochs", "batch_size"):
        if d[k] is not None and d[k] <= 0:
            raise UsageError(f"--{k.replace('_', '-')} must be positive, got {d[k]}")
    if d["lr"] <= 0:
        raise UsageError(f"--lr must be positive, got {d['lr']}")
    return TrainConfig.from_dict(d)


def print_json(obj) -> None:
    print(json.dumps(obj, indent=2))


# ---------------------------------------------------------------------------------------------------------------
# data

def add_data(sub) -> None:
    p = sub.add_parser("data", help="check a dataset folder, or draw one sample per class", formatter_class=Formatter)
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    c = dsub.add_parser("check", help="validate a dataset's layout and print per-split, per-class counts",
                        formatter_class=Formatter)
    c.add_argument("dataset", choices=["emnist", "fer2013", "cifar10"])
    c.add_argument("--data", required=True, help="dataset folder")
    c.add_argument("--cache-dir", help="cache folder for decoded tensors")
    c.add_argument("--download", action="store_true", help="download a missing dataset (EMNIST, CIFAR-10)")
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    c.set_defaults(func=run_data_check)
    s = dsub.add_parser("samples", help="one labelled sample image per class, as a PNG grid", formatter_class=Formatter)
    s.add_argument("dataset", choices=["emnist", "fer2013", "cifar10"])
    s.add_argument("--data", required=True, help="dataset folder")
    s.add_argument("--out", required=True, help="PNG file to write")
    s.add_argument("--split", default="train", help="split to draw from")
    s.add_argument("--seed", type=int, default=0, help="which sample of each class (seeded)")
    s.add_argument("--cache-dir", help="cache folder for decoded tensors")
    s.set_defaults(func=run_data_samples)


def run_data_check(args) -> int:
    from cnnlab import data
    mod = data.get(args.dataset)
    report = {"dataset": args.dataset, "data": str(args.data), "splits": {}}
    for split in mod.SPLITS:
        t = mod.load(args.data, split, cache=args.cache_dir, download_missing=args.download)
        counts = t.counts()
        empty = [c for c, n in zip(t.classes, counts) if n == 0]
        report["splits"][split] = {"samples": len(t), "shape": t.input_shape, "classes": dict(zip(t.classes, counts)),
                                   "empty_classes": empty}
        extra = getattr(t, "note", None)
        if extra:
            report["splits"][split]["note"] = extra
    if args.json:
        print_json(report)
        return 0
    splits = list(report["splits"])
    classes = list(report["splits"][splits[0]]["classes"])
    print(f"{args.dataset} in {args.data}: " + ", ".join(f"{s} {report['splits'][s]['samples']:,}" for s in splits)
          + f"; {len(classes)} classes; image shape {report['splits'][splits[0]]['shape']}")
    print("class".ljust(10) + "".join(s.rjust(10) for s in splits))
    for c in classes:
        print(c.ljust(10) + "".join(str(report["splits"][s]["classes"].get(c, 0)).rjust(10) for s in splits))
    for s in splits:
        if report["splits"][s].get("note"):
            print(f"{s}: {report['splits'][s]['note']}")
        if report["splits"][s]["empty_classes"]:
            print(f"warning: {s} has no samples of {report['splits'][s]['empty_classes']}", file=sys.stderr)
    return 0


def run_data_samples(args) -> int:
    import torch

    from cnnlab import data
    from cnnlab.report.plots import image_grid
    t = data.load(args.dataset, args.data, args.split, cache=args.cache_dir)
    g = torch.Generator().manual_seed(args.seed)
    picks, titles = [], []
    for i, name in enumerate(t.classes):
        idx = torch.nonzero(t.labels == i).flatten()
        if len(idx):
            picks.append(int(idx[torch.randint(len(idx), (1,), generator=g)]))
            titles.append(name)
    image_grid(t.images[picks].numpy(), titles, Path(args.out), cols=min(16, len(picks)),
               suptitle=f"{args.dataset} ({args.split}): one sample per class")
    print(f"wrote {args.out} ({len(picks)} classes)")
    return 0


# ---------------------------------------------------------------------------------------------------------------
# train / eval / predict

def add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model; keeps best.pt by validation accuracy and evaluates it on test",
                       formatter_class=Formatter)
    p.add_argument("dataset", choices=["emnist", "fer2013", "cifar10"])
    add_train_options(p)
    p.set_defaults(func=run_train)


def run_train(args) -> int:
    from cnnlab.engine.train import train
    cfg = config_from_args(args, args.dataset)
    result = train(cfg)
    if result and not result.get("stopped") and not cfg.quiet:
        print_json({k: result[k] for k in ("accuracy", "precision_macro", "recall_macro", "f1_macro", "params_total",
                                           "best_epoch") if k in result})
    return 0


def add_eval(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a run's best checkpoint; prints the metrics JSON", formatter_class=Formatter)
    p.add_argument("run", metavar="RUN_DIR|MODEL", help="run folder, checkpoint file or shipped model name")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="dataset folder (only the split read must be there)")
    src.add_argument("--images", help="folder of <class>/<image> files with the model's class names")
    p.add_argument("--split", default="test", help="split of --data to evaluate")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=1024, help="evaluation batch size")
    p.add_argument("--cache-dir", help="cache folder for decoded tensors")
    p.add_argument("--skip-bad", action="store_true", help="with --images: skip unreadable images and report them")
    p.add_argument("--out", help="also write the metrics JSON to this file")
    p.set_defaults(func=run_eval)


def run_eval(args) -> int:
    from cnnlab import data
    from cnnlab.data.images import read_folder
    from cnnlab.engine.checkpoint import atomic_write_json
    from cnnlab.engine.distributed import pick_device
    from cnnlab.engine.evaluate import evaluate
    from cnnlab.engine.metrics import classification_metrics
    from cnnlab.models.common import count_params
    from cnnlab.runs import load_model
    device = pick_device(args.device)
    model, ckpt = load_model(args.run, device)
    skipped = []
    if args.images:
        t, skipped = read_folder(args.images, ckpt["classes"], ckpt["input_shape"], skip_bad=args.skip_bad)
        split = "images"
    else:
        dataset = ckpt.get("dataset")
        if dataset is None:
            raise UsageError(f"{args.run}: the checkpoint does not say its dataset; use --images DIR")
        t = data.load(dataset, args.data, args.split, cache=args.cache_dir)
        split = args.split
        if t.classes != ckpt["classes"] or t.input_shape != list(ckpt["input_shape"]):
            raise UsageError(f"{args.data}: its {len(t.classes)} classes / shape {t.input_shape} do not match the "
                             f"model's {len(ckpt['classes'])} classes / shape {ckpt['input_shape']}")
    r = evaluate(model, t, device, args.batch_size)
    metrics = {**classification_metrics(r["preds"], r["targets"], ckpt["classes"]), "split": split,
               "params_total": count_params(model), "params_trainable": count_params(model, True),
               "best_epoch": ckpt.get("epoch"), "loss": r["loss"]}
    if skipped:
        metrics["skipped_files"] = [str(s) for s in skipped]
        print(f"skipped {len(skipped)} unreadable image(s)", file=sys.stderr)
    if args.out:
        atomic_write_json(Path(args.out), metrics)
    print_json(metrics)
    return 0


def add_predict(sub) -> None:
    p = sub.add_parser("predict", help="classify image files: one JSON line per image", formatter_class=Formatter)
    p.add_argument("run", metavar="RUN_DIR|MODEL", help="run folder, checkpoint file or shipped model name")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--top", type=int, default=0, help="keep only the N most probable classes (0 = all)")
    p.set_defaults(func=run_predict)


def run_predict(args) -> int:
    import numpy as np
    import torch

    from cnnlab.data.images import read_image
    from cnnlab.engine.distributed import pick_device
    from cnnlab.engine.evaluate import predict_logits
    from cnnlab.runs import load_model
    device = pick_device(args.device)
    model, ckpt = load_model(args.run, device)
    missing = [f for f in args.images if not Path(f).is_file()]
    if missing:
        raise UsageError(f"no such image file: {missing[0]}")
    images = torch.from_numpy(np.stack([read_image(Path(f), ckpt["input_shape"]) for f in args.images]))
    probs = predict_logits(model, images, device).softmax(1)
    classes = ckpt["classes"]
    for f, p in zip(args.images, probs):
        order = p.argsort(descending=True)[: args.top or len(classes)]
        print(json.dumps({"file": f, "class": classes[int(order[0])],
                          "probabilities": {classes[int(i)]: round(float(p[i]), 6) for i in order}}))
    return 0


# ---------------------------------------------------------------------------------------------------------------
# compare / demo / models

def add_compare(sub) -> None:
    p = sub.add_parser("compare", help="EMNIST: MLP vs CNN vs factorized CNN at matched parameter budgets",
                       formatter_class=Formatter)
    p.add_argument("dataset", choices=["emnist"])
    add_train_options(p, model=False)
    p.set_defaults(func=run_compare)


def run_compare(args) -> int:
    from cnnlab.experiments.emnist import compare
    cfg = config_from_args(args, args.dataset)
    result = compare(cfg, Path(args.out))
    if not result.get("stopped"):
        print((Path(args.out) / "comparison.md").read_text())
    return 0


def add_demo(sub) -> None:
    p = sub.add_parser("demo", help="the main job, offline, in minutes on a CPU: MLP vs CNN vs factorized CNN on a "
                                    "real EMNIST sample shipped in the package, then report.html",
                       formatter_class=Formatter)
    p.add_argument("--out", required=True, help="folder to write (runs, comparison, report.html)")
    p.add_argument("--epochs", type=int, default=6, help="epochs per model")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--resume", action="store_true", help="reuse finished runs in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_demo)


def run_demo(args) -> int:
    from cnnlab.experiments.demo import demo
    report = demo(Path(args.out), epochs=args.epochs, device=args.device, resume=args.resume, quiet=args.quiet)
    print(f"report: {report}")
    return 0


def add_models(sub) -> None:
    p = sub.add_parser("models", help="list the models shipped inside the package", formatter_class=Formatter)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--all", action="store_true", help="also list every architecture name cnnlab can train")
    p.set_defaults(func=run_models)


def run_models(args) -> int:
    from cnnlab.models.registry import MODELS
    from cnnlab.runs import shipped_cards
    cards = [{k: c.get(k) for k in ("name", "dataset", "classes", "metrics", "command", "file")} for c in shipped_cards()]
    if args.json:
        print_json({"models": cards, **({"architectures": sorted(MODELS)} if args.all else {})})
        return 0
    for c in cards:
        acc = (c.get("metrics") or {}).get("accuracy")
        print(f"{c['name']:24s} {c['dataset']:10s} {len(c['classes'])} classes"
              + (f"  test accuracy {acc:.4f}" if acc is not None else ""))
    if not cards:
        print("no shipped models")
    if args.all:
        print("architectures: " + ", ".join(sorted(MODELS)))
    return 0
