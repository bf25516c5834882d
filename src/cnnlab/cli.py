"""The `cnnlab` command: one argparse tree; each sub-command is a few lines that call into the packages."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from cnnlab import data
from cnnlab.clikit import Formatter, Parser, add_device, nonneg_int, positive_int
from cnnlab.errors import CnnlabError, UsageError

# Modules that add their own sub-commands with `register(subparsers)`.
EXTENSIONS = ["cnnlab.theory.cli", "cnnlab.tools_cli", "cnnlab.report.cli", "cnnlab.distill.cli", "cnnlab.live.cli",
              "cnnlab.handin.cli"]
DATASETS = list(data.DATASETS)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    keep_freed_memory()
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except CnnlabError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (cnnlab ... | head): stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def keep_freed_memory() -> None:
    """Let glibc keep freed memory for reuse instead of returning every large block to the system at once.

    A batch of activations is far above glibc's mmap threshold, so by default each one is a fresh mmap whose pages
    the kernel must zero on first touch: `cnnlab eval` spent 17 s of system time on that. Measured in
    benchmarks/results/cli_speed_cpu.json. No effect on other C libraries."""
    import ctypes
    import ctypes.util
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    size = 1 << 30
    if mallopt(m_mmap_threshold, size):
        mallopt(m_trim_threshold, 2 * size)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="cnnlab", formatter_class=Formatter,
               description="Convolutional-network experiments: EMNIST MLP vs CNN, FER-2013 expressions, "
                           "CIFAR-10 distillation, and the theory questions as tested code.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__import__('cnnlab').__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_data(sub)
    add_train(sub)
    add_eval(sub)
    add_predict(sub)
    add_compare(sub)
    add_soup(sub)
    add_demo(sub)
    add_models(sub)
    add_recipes(sub)
    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:  # an extension not written yet; any other import error is raised
            if e.name != name:
                raise
            continue
        module.register(sub)
    for parser in parsers(p):  # one help layout for every command, whichever module added it
        parser.formatter_class = Formatter
    return p


def parsers(p: argparse.ArgumentParser):
    """`p` and every sub-command's parser under it."""
    yield p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from parsers(sub)


# ---------------------------------------------------------------------------------------------------------------
# Shared options

def add_train_options(p: argparse.ArgumentParser, model: bool = True, sizing: bool = True, recipes_of=None,
                      note: str = "Unset options take the dataset's recipe; --help after the dataset's name shows "
                                  "its values (e.g. cnnlab train fer2013 --help).") -> None:
    """Options of every training command (its parser made with add_help=False: -h/--help is RecipeHelp here).
    Unset options take the dataset's recipe (see `cnnlab.experiments`); `recipes_of(dataset)` gives what --help
    shows: ({name: TrainConfig fields}, default name, the option that picks one). `sizing=False` leaves out
    --width and --param-budget (models that have no width, like a ResNet)."""
    from cnnlab.engine.config import MODEL_KWARGS, OPTIONS, fields, option
    p.add_argument("-h", "--help", action=RecipeHelp, recipes_of=recipes_of or by_recipe)
    g = p.add_argument_group("training", note)
    left_out = ({"model"} if not model else set()) | ({"model_kwargs.width", "param_budget"} if not sizing else set())
    by_name = fields()
    for name in OPTIONS:
        if name in left_out:
            continue
        if name == "device":
            add_device(g)
        elif name == "no_augment":
            g.add_argument("--no-augment", action="store_true", help="turn the recipe's data augmentation off")
        elif name == "set":
            g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="set",
                           help="set any hyper-parameter, also those without an option of their own; dotted keys "
                                "reach into augment and model_kwargs (e.g. --set warmup_epochs=2 --set "
                                "augment.erase=0.25); repeatable, applied last, checked against the field's type, "
                                "saved in config.json; 'cnnlab recipes' lists the keys")
        elif name.startswith("model_kwargs."):
            kind, _, _, help_ = MODEL_KWARGS[name.partition(".")[2]]
            g.add_argument(option(name), type=kind, help=help_)
        else:
            add_field_option(g, by_name[name])


def add_field_option(g, f) -> None:
    """The option of TrainConfig field `f`, from its type (a switch for a bool) and metadata (help, choices,
    required); without a default, so that an option left out keeps the recipe's value."""
    from cnnlab.engine.config import base_type, option
    kind, meta = base_type(f.name), f.metadata
    if kind is bool:
        g.add_argument(option(f.name), action="store_true", help=meta["help"])
        return
    extra = {"type": kind} if kind in (int, float) else {}
    if meta["choices"]:
        extra["choices"] = meta["choices"]
    if meta["required"]:
        extra["required"] = True
    g.add_argument(option(f.name), help=meta["help"], **extra)


def config_from_args(args, dataset: str, **overrides):
    """TrainConfig = built-in defaults < the dataset's recipe < overrides (a sub-command's own recipe) < the
    options given on the command line < --set; then checked (TrainConfig.check)."""
    from cnnlab.engine.config import MODEL_KWARGS, OPTIONS, TrainConfig, apply_overrides, base_type, fields
    from cnnlab.experiments import defaults
    d = {**TrainConfig().to_dict(), **defaults(dataset, getattr(args, "recipe", None)), "dataset": dataset}
    d.update(overrides)
    for name in fields().keys() & set(OPTIONS) - {"recipe"}:  # the recipe is picked above
        v = getattr(args, name, None)
        if base_type(name) is bool:  # a switch: as given on this command line
            d[name] = bool(v)
        elif v is not None:
            d[name] = v
    d["model_kwargs"] = dict(d.get("model_kwargs") or {})
    for key in MODEL_KWARGS:
        if getattr(args, key, None) is not None:
            d["model_kwargs"][key] = getattr(args, key)
    if getattr(args, "no_augment", False):
        d["augment"] = {}
    d = apply_overrides(d, getattr(args, "set", None) or [])
    if d["data"] is None:
        raise UsageError("--data DIR is required: the folder holding the dataset (see 'cnnlab data check --help')")
    return TrainConfig.from_dict(d).check()


# ---------------------------------------------------------------------------------------------------------------
# Help that shows the recipes

def dataset_recipes(dataset: str | None) -> tuple[dict[str, dict], str | None]:
    """({recipe name: every TrainConfig field}, the default recipe's name) of a dataset; ({}, None) for none."""
    from cnnlab.engine.config import TrainConfig
    from cnnlab.experiments import default_recipe, recipes
    if dataset is None:
        return {}, None
    base = TrainConfig().to_dict()
    return {name: {**base, **fields} for name, fields in recipes(dataset).items()}, default_recipe(dataset)


def by_recipe(dataset: str | None) -> tuple[dict[str, dict], str | None, str]:
    """What RecipeHelp shows for `cnnlab train DATASET --help`: the dataset's recipes, picked by --recipe."""
    return (*dataset_recipes(dataset), "--recipe")


def recipe_value(recipe: dict, dest: str):
    """The value a recipe gives the option whose argparse dest is `dest` (None: the recipe does not set it, or the
    option is no field of a recipe, or one that is required on every command line)."""
    from cnnlab.engine.config import MODEL_KWARGS, fields
    if dest in MODEL_KWARGS:
        return (recipe.get("model_kwargs") or {}).get(dest)
    if dest == "no_augment":
        return ", ".join(f"{k}={v}" for k, v in recipe.get("augment", {}).items()) or "none"
    field_ = fields().get(dest)
    return None if field_ is None or field_.metadata["required"] else recipe.get(dest)


def recipe_lines(table: dict[str, dict], default: str | None) -> list[str]:
    """One line per recipe: every field as KEY=VALUE, in the form --set takes (dotted keys into dicts); not the
    fields of one run (TrainConfig's `run` metadata)."""
    from cnnlab.engine.config import fields
    of_a_run = {name for name, f in fields().items() if f.metadata["run"]}
    lines = []
    for name, recipe in table.items():
        items = []
        for k, v in recipe.items():
            if k in of_a_run:
                continue
            if isinstance(v, dict):
                items += [f"{k}.{sub}={x}" for sub, x in v.items()] or [f"{k}={{}}"]
            elif v is not None:
                items.append(f"{k}={v}")
        mark = " (the default here)" if name == default and len(table) > 1 else ""
        lines.append(f"  {name}{mark}: " + " ".join(items))
    return lines


class RecipeHelp(argparse.Action):
    """-h/--help of a training command: each option shows its value in the recipe(s) of the dataset named before
    --help (`cnnlab train fer2013 --help`), and the recipes are listed in full at the end."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, recipes_of=None,
                 help="show this help, with the recipe values, and exit"):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)
        self.recipes_of = recipes_of

    def __call__(self, parser, namespace, values, option_string=None):
        dataset = getattr(namespace, "dataset", None)
        table, default, chooser = self.recipes_of(dataset)
        if table:
            for action in parser._actions:
                if action.default is not None or not action.option_strings or action.help in (None, argparse.SUPPRESS):
                    continue
                if action.dest == "recipe":
                    if chooser == "--recipe":
                        action.help += (f" (one recipe: {default})" if len(table) == 1 else
                                        f" (one of {', '.join(table)}; default here: {default})")
                    continue
                values_ = {name: recipe_value(fields, action.dest) for name, fields in table.items()}
                if all(v is None for v in values_.values()):
                    continue
                shown = {name: "none" if v is None else v for name, v in values_.items()}
                text = (f"default: {next(iter(shown.values()))}" if len(set(map(str, shown.values()))) == 1
                        else "; ".join(f"{name}: {v}" for name, v in shown.items()))
                action.help = f"{action.help} ({text})".replace("%", "%%")
            title = f"Recipes{' of ' + dataset if dataset else ''}, picked by {chooser}"
            parser.epilog = "\n".join([f"{title} (KEY=VALUE as --set takes them):", *recipe_lines(table, default)])
        parser.print_help()
        parser.exit()


def print_json(obj) -> None:
    from cnnlab.atomic import short_floats
    print(json.dumps(short_floats(obj), indent=2))


CACHE_HELP = "cache folder for decoded tensors (default: $CNNLAB_CACHE_DIR or ~/.cache/cnnlab)"
MODEL_HELP = ("run folder, shipped model name (cnnlab models), or a .pt, .h5 or .onnx file written by cnnlab "
              "(cnnlab export)")


# ---------------------------------------------------------------------------------------------------------------
# data

def add_data(sub) -> None:
    p = sub.add_parser("data", help="check a dataset folder, or draw one sample per class", formatter_class=Formatter)
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    c = dsub.add_parser("check", help="validate a dataset's layout and print per-split, per-class counts",
                        formatter_class=Formatter)
    c.add_argument("dataset", choices=DATASETS)
    c.add_argument("--data", required=True, help="dataset folder (docs/datasets.md shows each dataset's layout)")
    c.add_argument("--cache-dir", help=CACHE_HELP)
    c.add_argument("--download", action="store_true", help="download a missing dataset (EMNIST, CIFAR-10)")
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    c.set_defaults(func=run_data_check)
    s = dsub.add_parser("samples", help="one labelled sample image per class, as a PNG grid", formatter_class=Formatter)
    s.add_argument("dataset", choices=DATASETS)
    s.add_argument("--data", required=True, help="dataset folder (docs/datasets.md shows each dataset's layout)")
    s.add_argument("--out", required=True, help="PNG file to write")
    s.add_argument("--split", default="train", help="split to draw from")
    s.add_argument("--seed", type=int, default=0, help="which sample of each class (seeded)")
    s.add_argument("--cache-dir", help=CACHE_HELP)
    s.set_defaults(func=run_data_samples)


def run_data_check(args) -> int:
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
    for s in splits:  # a split's note (e.g. CIFAR-10 batches missing) was printed by the loader
        if report["splits"][s]["empty_classes"]:
            print(f"warning: {s} has no samples of {report['splits'][s]['empty_classes']}", file=sys.stderr)
    return 0


def run_data_samples(args) -> int:
    import torch

    from cnnlab.plots import image_grid
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
                       formatter_class=Formatter, add_help=False)
    p.add_argument("dataset", choices=DATASETS, help="the dataset; its recipe gives the defaults")
    add_train_options(p)
    p.set_defaults(func=run_train)


def run_train(args) -> int:
    from cnnlab.engine.train import train
    from cnnlab.runs import initial_weights
    cfg = config_from_args(args, args.dataset)
    result = train(cfg, init_model=initial_weights(cfg))
    if result and not result.get("stopped") and not cfg.quiet:
        print_json({k: result[k] for k in ("accuracy", "precision_macro", "recall_macro", "f1_macro", "params_total",
                                           "best_epoch") if k in result})
    return 0


def add_tta(p) -> None:
    from cnnlab.engine.config import TTAS
    p.add_argument("--tta", choices=TTAS, help="test-time augmentation: none, or flip (the mean of the image's and "
                                               "its mirror's probabilities); default: the model's own (its 'tta')")


def add_eval(sub) -> None:
    p = sub.add_parser("eval", formatter_class=Formatter,
                       help="evaluate a model on a dataset split or a folder of images; prints the metrics JSON")
    p.add_argument("run", metavar="MODEL", help=MODEL_HELP)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="dataset folder (only the split read must be there); required unless --images")
    src.add_argument("--images", help="folder of <class>/<image> files with the model's class names; required "
                                      "unless --data")
    p.add_argument("--split", default="test", help="split of --data to evaluate")
    add_tta(p)
    add_device(p)
    p.add_argument("--batch-size", type=positive_int, default=256, help="evaluation batch size")
    p.add_argument("--cache-dir", help=CACHE_HELP)
    p.add_argument("--skip-bad", action="store_true", help="with --images: skip unreadable images and report them")
    p.add_argument("--out", help="also write the metrics JSON to this file")
    p.set_defaults(func=run_eval)


def run_eval(args) -> int:
    from cnnlab.atomic import atomic_write_json
    from cnnlab.data.images import read_folder
    from cnnlab.engine.distributed import pick_device
    from cnnlab.engine.evaluate import evaluate
    from cnnlab.engine.metrics import classification_metrics
    from cnnlab.runs import load_model, param_counts
    device = pick_device(args.device)
    model, ckpt = load_model(args.run, device)
    tta = args.tta or ckpt.get("tta") or "none"
    skipped = []
    if args.images:
        t, skipped = read_folder(args.images, ckpt["classes"], ckpt["input_shape"], skip_bad=args.skip_bad)
        split = "images"
    else:
        dataset = ckpt.get("dataset")
        if dataset is None:
            raise UsageError(f"{args.run}: the model does not say its dataset; use --images DIR")
        t = data.load(dataset, args.data, args.split, cache=args.cache_dir)
        split = args.split
        if t.classes != ckpt["classes"] or t.input_shape != list(ckpt["input_shape"]):
            raise UsageError(f"{args.data}: its {len(t.classes)} classes / shape {t.input_shape} do not match the "
                             f"model's {len(ckpt['classes'])} classes / shape {ckpt['input_shape']}")
    print(f"evaluating {len(t):,} images ({split}) on {device}" + (", each also mirrored (--tta flip)" if tta == "flip"
                                                                    else ""), file=sys.stderr, flush=True)
    r = evaluate(model, t, device, args.batch_size, tta)
    total, trainable = param_counts(model, ckpt)
    metrics = {**classification_metrics(r["preds"], r["targets"], ckpt["classes"]), "split": split, "tta": tta,
               "params_total": total, "params_trainable": trainable, "best_epoch": ckpt.get("epoch"),
               "loss": r["loss"]}
    if skipped:
        metrics["skipped_files"] = [str(s) for s in skipped]
        print(f"skipped {len(skipped)} unreadable image(s)", file=sys.stderr)
    if args.out:
        atomic_write_json(Path(args.out), metrics)
    print_json(metrics)
    return 0


def add_predict(sub) -> None:
    p = sub.add_parser("predict", help="classify image files: one JSON line per image", formatter_class=Formatter)
    p.add_argument("run", metavar="MODEL", help=MODEL_HELP)
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    add_tta(p)
    add_device(p)
    p.add_argument("--top", type=nonneg_int, default=0, help="keep only the N most probable classes (0 = all)")
    p.add_argument("--skip-bad", action="store_true",
                   help="skip missing or unreadable images, and photos with no face for a face model (each named on "
                        "stderr, then a count), instead of stopping at the first")
    p.add_argument("--whole-image", action="store_true",
                   help="a face model (FER-2013) classifies each image whole, as one face; by default it finds the "
                        "faces of an image larger than twice its input as 'cnnlab live --image' does and gives one "
                        "line per face, with its index and box")
    p.set_defaults(func=run_predict)


def run_predict(args) -> int:
    import numpy as np
    import torch

    from cnnlab import photo
    from cnnlab.data.images import read_image
    from cnnlab.engine.distributed import pick_device
    from cnnlab.engine.evaluate import predict_logits
    from cnnlab.errors import DataError
    from cnnlab.runs import load_model
    device = pick_device(args.device)
    model, ckpt = load_model(args.run, device)
    tta = args.tta or ckpt.get("tta") or "none"
    files, arrays, skipped = [], [], []  # files: (file, {"face": index, "box": box} for a face found in a photo)
    for f in args.images:
        try:
            if not Path(f).is_file():
                raise DataError(f"no such image file: {f}")
            if photo.needs_faces(Path(f), ckpt, args.whole_image):
                boxes, crops = photo.find_faces(Path(f), args.run)
                if not len(boxes):
                    raise photo.no_face(Path(f))
                print(photo.found_line(Path(f), len(boxes)), file=sys.stderr)
                arrays += list(crops)
                files += [(f, {"face": i, "box": [int(v) for v in box]}) for i, box in enumerate(boxes)]
                continue
            arrays.append(read_image(Path(f), ckpt["input_shape"]))
            files.append((f, {}))
        except DataError as e:
            if not args.skip_bad:
                raise UsageError(f"{e}; --skip-bad skips such files") from None
            skipped.append(f)
            print(f"skipped: {e}", file=sys.stderr)
    if skipped:
        print(f"skipped {len(skipped)} of {len(args.images)} image(s)", file=sys.stderr)
    if not arrays:
        raise DataError("none of the images could be read")
    probs = predict_logits(model, torch.from_numpy(np.stack(arrays)), device, tta=tta).softmax(1)
    classes = ckpt["classes"]
    from cnnlab.prediction import prediction
    for (f, face), p in zip(files, probs):
        print(json.dumps({"file": f, **face, **prediction(classes, p.tolist(), args.top)}))
    return 0


# ---------------------------------------------------------------------------------------------------------------
# compare / demo / models / recipes

def add_compare(sub) -> None:
    p = sub.add_parser("compare", help="EMNIST: MLP vs CNN vs factorized CNN at matched parameter budgets",
                       formatter_class=Formatter, add_help=False)
    p.add_argument("dataset", choices=["emnist"], help="the dataset (EMNIST only); its recipe gives the defaults")
    add_train_options(p, model=False, recipes_of=lambda dataset: by_recipe("emnist"))
    p.set_defaults(func=run_compare)


def run_compare(args) -> int:
    from cnnlab.engine.config import check_resumable, refuse_init
    from cnnlab.experiments.emnist import compare
    cfg = config_from_args(args, args.dataset)
    refuse_init(cfg, "compare trains each model from its start; fine-tune one model with cnnlab train --init")
    check_resumable(cfg.out, cfg.resume)
    result = compare(cfg, Path(args.out))
    if not result.get("stopped"):
        print((Path(args.out) / "comparison.md").read_text())
    return 0


def add_soup(sub) -> None:
    p = sub.add_parser("soup", help="average the weights of models fine-tuned from one start (a model soup): one "
                                    "model, as fast as each", formatter_class=Formatter,
                       description="A model soup (Wortsman et al. 2022): the weights of fine-tunes of one model "
                                   "(cnnlab train --init), averaged into one model of the same size and speed. Each "
                                   "model is scored on the validation split they all held out; the soup is written "
                                   "as a run folder (best.pt, soup.json, metrics.json on the test split) that every "
                                   "command taking a MODEL reads.")
    p.add_argument("models", nargs="+", metavar="MODEL",
                   help="two or more run folders, .pt or .h5 files or shipped names of one architecture and width, "
                        "trained on one dataset with one validation split")
    p.add_argument("--data", required=True, help="the models' dataset folder (its train split gives validation)")
    p.add_argument("--out", required=True, help="new run folder to write the soup into")
    p.add_argument("--greedy", action="store_true",
                   help="add the models best first, keeping each only if validation accuracy does not drop "
                        "(default: average them all)")
    add_device(p)
    p.add_argument("--cache-dir", help=CACHE_HELP)
    p.add_argument("--quiet", action="store_true", help="print only the result")
    p.set_defaults(func=run_soup)


def run_soup(args) -> int:
    from cnnlab.soup import soup
    result = soup(args.models, args.data, args.out, greedy=args.greedy, cache_dir=args.cache_dir,
                  device=args.device, quiet=args.quiet)
    print_json({"val_acc": result["val_acc"], "models": [i["model"] for i in result["ingredients"] if i["in_soup"]],
                **{k: result["test"][k] for k in ("accuracy", "precision_macro", "recall_macro", "f1_macro")}})
    return 0


def add_demo(sub) -> None:
    p = sub.add_parser("demo", help="the main job, offline, in minutes on a CPU: MLP vs CNN vs factorized CNN on a "
                                    "real EMNIST sample shipped in the package, then report.html",
                       formatter_class=Formatter)
    p.add_argument("--out", required=True, help="folder to write (runs, comparison, report.html)")
    p.add_argument("--epochs", type=positive_int, default=6, help="epochs per model")
    add_device(p)
    p.add_argument("--resume", action="store_true", help="continue the demo in --out, reusing its finished runs")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_demo)


def run_demo(args) -> int:
    from cnnlab.engine.config import check_resumable
    from cnnlab.experiments.demo import demo
    check_resumable(args.out, args.resume)
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
    fields = ("name", "dataset", "classes", "metrics", "command", "file")
    cards = [{k: c.get(k) for k in fields} for c in shipped_cards()]
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


def add_recipes(sub) -> None:
    p = sub.add_parser("recipes", help="each dataset's named training recipes, with every value",
                       formatter_class=Formatter,
                       description="The hyper-parameters 'cnnlab train DATASET' starts from: each recipe (--recipe "
                                   "NAME) with every field, as KEY=VALUE in the form --set takes.")
    p.add_argument("dataset", nargs="?", choices=DATASETS, help="only this dataset (default: all)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_recipes)


def run_recipes(args) -> int:
    out = {}
    for dataset in [args.dataset] if args.dataset else DATASETS:
        table, default = dataset_recipes(dataset)
        out[dataset] = {"default": default, "recipes": table}
    if args.json:
        print_json(out)
        return 0
    for dataset, entry in out.items():
        print(f"{dataset}:")
        print("\n".join(recipe_lines(entry["recipes"], entry["default"])))
    return 0
