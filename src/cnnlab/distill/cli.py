"""`cnnlab distill teacher|student|sweep|compare`: CIFAR-10, a ResNet teacher distilled into a MobileNetV2 student.
`student` and `sweep` also take `--dataset fer2013` (the FER recipe's student, taught by one model or an ensemble).

Every handler imports torch and the rest inside itself, so `cnnlab --help` stays fast. Options left unset take
the recipes in `cnnlab.experiments.distill` (DEFAULTS for students, PROBE and FINETUNE for the teacher).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnlab.clikit import Formatter, positive_float, positive_int
from cnnlab.errors import UsageError

DATASET = "cifar10"
STUDENT_DATASETS = ("cifar10", "fer2013")  # what `student` and `sweep` train on (--dataset)
ARCHS = ("resnet50", "resnet18")
SWEEP_EPOCHS = 10  # a sweep's runs are short: epochs of each unless --epochs


def floats(text: str, option: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise UsageError(f"{option}: expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise UsageError(f"{option}: expected one or more comma-separated numbers, got {text!r}")
    return values


def config(args, recipe: dict | None = None, **overrides):
    """TrainConfig = built-in < the dataset's recipe (cifar10 unless --dataset) < `recipe` (a teacher's) <
    overrides < command line < --set."""
    from cnnlab.cli import config_from_args
    return config_from_args(args, getattr(args, "dataset", None) or DATASET, **{**(recipe or {}), **overrides})


def student_recipes(dataset, epochs: int | None = None):
    """What --help of a student command shows: the dataset's recipes (`epochs` when the command has its own
    default)."""
    from cnnlab.cli import dataset_recipes
    table, default = dataset_recipes(dataset if dataset in STUDENT_DATASETS else DATASET)
    if epochs is not None:
        table = {name: {**fields, "epochs": epochs} for name, fields in table.items()}
    return table, default, "--recipe"


def teacher_recipes(dataset):
    """What --help of `distill teacher` shows: the linear-probe and finetune recipes on top of cifar10's."""
    from cnnlab.cli import dataset_recipes
    from cnnlab.experiments.distill import FINETUNE, PROBE
    base = next(iter(dataset_recipes(DATASET)[0].values()))
    return {"linear-probe": {**base, **PROBE}, "finetune": {**base, **FINETUNE}}, "linear-probe", "--mode"


def _summary(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("accuracy", "precision_macro", "recall_macro", "f1_macro", "params_total",
                                    "params_trainable", "best_epoch", "train_seconds") if k in metrics}


# ---------------------------------------------------------------------------------------------------------------

def run_teacher(args) -> int:
    from cnnlab.cli import print_json
    from cnnlab.distill import teacher as teacher_training
    from cnnlab.experiments.distill import FINETUNE, PROBE
    from cnnlab.models.zoo import check_weights
    from cnnlab.engine.config import check_resumable, refuse_init
    check_weights(int(args.teacher_arch.removeprefix("resnet")), args.weights)
    cfg = config(args, PROBE if args.mode == "linear-probe" else FINETUNE, model=args.teacher_arch)
    refuse_init(cfg, "a teacher starts from --weights (ImageNet, a file, or none); leave --init out")
    check_resumable(cfg.out, cfg.resume)
    size = args.image_size or teacher_training.default_image_size(args.weights)
    scale = args.backbone_lr_scale if args.mode == "finetune" else 1.0
    cfg.model_kwargs = teacher_training.model_kwargs(cfg, size, scale)
    train_teacher = teacher_training.linear_probe if args.mode == "linear-probe" else teacher_training.finetune
    result = train_teacher(cfg, args.weights)
    if result and not result.get("stopped") and not cfg.quiet:
        print_json(_summary(result))
    return 0


def run_student(args) -> int:
    from cnnlab.cli import print_json
    from cnnlab.distill.loss import check
    from cnnlab.distill.student import train_student
    check(args.alpha, args.tau)
    cfg = config(args)
    result = train_student(cfg, args.teacher, args.alpha, args.tau, args.t2_scale,
                           teacher_flip=args.teacher_flip, teacher_targets=args.teacher_targets,
                           teacher_views=args.teacher_views)
    if result and not result.get("stopped") and not cfg.quiet:
        print_json(_summary(result))
    return 0


def run_sweep(args) -> int:
    from cnnlab.distill.sweep import sweep
    from cnnlab.engine.config import check_resumable
    alphas, taus = floats(args.alphas, "--alphas"), floats(args.taus, "--taus")
    if args.teacher in ("", "none"):
        raise UsageError("--teacher: a sweep of alpha and tau needs a teacher run folder (cnnlab distill teacher ...)")
    cfg = config(args, epochs=SWEEP_EPOCHS)
    check_resumable(cfg.out, cfg.resume)
    result = sweep(cfg, args.teacher, alphas, taus, Path(args.out), args.t2_scale, args.teacher_flip,
                   args.teacher_targets, args.teacher_views)
    if result and not result.get("stopped"):
        print((Path(args.out) / "sweep.md").read_text())
    return 0


def run_compare(args) -> int:
    from cnnlab.distill.compare import compare
    from cnnlab.models.zoo import check_weights
    from cnnlab.engine.config import check_resumable, refuse_init
    check_weights(int(args.teacher_arch.removeprefix("resnet")), args.weights)
    cfg = config(args)
    refuse_init(cfg, "distill compare trains its teacher and students from their start; fine-tune one student "
                     "with cnnlab distill student --init")
    check_resumable(cfg.out, cfg.resume)
    result = compare(cfg, Path(args.out), teacher_arch=args.teacher_arch, weights=args.weights,
                     image_size=args.image_size, probe_epochs=args.probe_epochs,
                     alphas=floats(args.alphas, "--alphas"), taus=floats(args.taus, "--taus"),
                     sweep_epochs=args.sweep_epochs, t2_scale=args.t2_scale, distill_from=args.distill_from,
                     backbone_lr_scale=args.backbone_lr_scale)
    if result and not result.get("stopped"):
        print((Path(args.out) / "comparison.md").read_text())
    return 0


# ---------------------------------------------------------------------------------------------------------------

def _teacher_options(p) -> None:
    p.add_argument("--teacher-arch", choices=ARCHS, default="resnet50", help="the teacher's torchvision ResNet")
    p.add_argument("--arch", dest="teacher_arch", choices=ARCHS, help=argparse.SUPPRESS)  # the old name
    p.add_argument("--weights", default="imagenet",
                   help="backbone weights: 'imagenet' (torchvision's ImageNet weights, IMAGENET1K_V2 for ResNet-50; "
                        "downloaded once, then cached), 'none' (random initialisation), or a local state-dict FILE")
    p.add_argument("--image-size", type=positive_int,
                   help="images are resized to this on the device, inside the model; default 224 with pretrained "
                        "weights, 32 (CIFAR's own size) with --weights none")
    from cnnlab.experiments.distill import BACKBONE_LR_SCALE
    p.add_argument("--backbone-lr-scale", type=positive_float, default=BACKBONE_LR_SCALE,
                   help="fine-tuning: the backbone's learning rate as a fraction of the final layer's")


def _kd_options(p) -> None:
    p.add_argument("--t2-scale", action="store_true",
                   help="multiply the soft term by tau² (Hinton et al.), so its gradients keep their size across tau")


def _student_options(p) -> None:
    """What `student` and `sweep` add to the compare pipeline's options: the dataset and how the teacher looks."""
    from cnnlab.distill.student import TARGETS, VIEWS
    p.add_argument("--dataset", choices=STUDENT_DATASETS, default=DATASET,
                   help="the data the student trains on (unset options take this dataset's recipe)")
    p.add_argument("--teacher-flip", action="store_true",
                   help="the teacher's probabilities are the average over each image and its mirror image")
    p.add_argument("--teacher-targets", choices=TARGETS, default="augmented",
                   help="augmented: the teacher runs on each augmented batch the student sees; clean: it runs once "
                        "on the stored training images and the student's augmented views reuse those logits (cheap "
                        "for an ensemble); views: it runs once on --teacher-views augmented views of each image, "
                        "and the student's batches are drawn from those views (kept in the run folder)")
    p.add_argument("--teacher-views", type=positive_int, default=VIEWS, metavar="N",
                   help="with --teacher-targets views: augmented views of each training image (the teacher's cost is "
                        "N passes over the training images, once)")


STUDENT_NOTE = "Unset options take the student recipe of --dataset, cifar10 by default (listed at the end)."


def register(sub) -> None:
    from cnnlab.cli import add_train_options
    p = sub.add_parser("distill", formatter_class=Formatter,
                       help="CIFAR-10 knowledge distillation: ResNet teacher (linear probe or fine-tuned) "
                            "-> MobileNetV2",
                       description="Knowledge distillation on CIFAR-10. The student's loss is "
                                   "alpha*H(y, softmax(z_s)) + (1-alpha)*H(softmax(z_t/tau), softmax(z_s/tau)).")
    dsub = p.add_subparsers(dest="distill_command", required=True, metavar="ACTION")

    t = dsub.add_parser("teacher", formatter_class=Formatter, add_help=False,
                        help="train the teacher: ResNet with a new 10-way layer, linear probe or fine-tuning")
    t.add_argument("--mode", choices=["linear-probe", "finetune"], default="linear-probe",
                   help="linear-probe: freeze the backbone, compute its features once, train the final layer on them; "
                        "finetune: train every layer (the backbone at --backbone-lr-scale times the learning rate)")
    _teacher_options(t)
    add_train_options(t, model=False, sizing=False, recipes_of=teacher_recipes,
                      note="Unset options take the recipe of --mode (listed at the end).")
    t.set_defaults(func=run_teacher)

    s = dsub.add_parser("student", formatter_class=Formatter, add_help=False,
                        help="train the student (MobileNetV2, CIFAR stem) with the distillation loss, or alone")
    s.add_argument("--teacher", required=True, metavar="RUN_DIR[,RUN_DIR...]|none",
                   help="the teacher's run folder (or checkpoint, or shipped model's name); several separated by "
                        "commas are one teacher, the average of their probabilities; 'none' trains the student on "
                        "the labels alone")
    s.add_argument("--alpha", type=float, default=0.5, help="weight of the hard-label term, in [0, 1]")
    s.add_argument("--tau", type=float, default=4.0, help="softmax temperature of the soft term, > 0")
    _kd_options(s)
    _student_options(s)
    add_train_options(s, recipes_of=student_recipes, note=STUDENT_NOTE)
    s.set_defaults(func=run_student)

    w = dsub.add_parser("sweep", formatter_class=Formatter, add_help=False,
                        help="short student runs over a grid of alpha and tau, the best chosen on validation "
                             "accuracy: sweep.json, sweep.md, sweep.png")
    w.add_argument("--teacher", required=True, metavar="RUN_DIR[,RUN_DIR...]",
                   help="the teacher's run folder, or several separated by commas (their ensemble)")
    w.add_argument("--alphas", default="0.1,0.5,0.9", help="comma-separated values of alpha")
    w.add_argument("--taus", default="1,2,4,8", help="comma-separated values of tau")
    _kd_options(w)
    _student_options(w)
    add_train_options(w, recipes_of=lambda dataset: student_recipes(dataset, SWEEP_EPOCHS), note=STUDENT_NOTE)
    w.set_defaults(func=run_sweep)

    c = dsub.add_parser("compare", formatter_class=Formatter, add_help=False,
                        help="teacher (linear probe, fine-tuned), best distilled student, student alone: one table",
                        description="Runs every stage into --out (reused with --resume): teacher-probe/, "
                                    "teacher-finetune/, sweep/, student/, student-no-teacher/, then comparison.md. "
                                    "The training options below set the students (and --epochs also the fine-tuned "
                                    "teacher); the teachers otherwise follow their recipes.")
    _teacher_options(c)
    c.add_argument("--probe-epochs", type=positive_int, default=30, help="epochs of the linear probe's final layer")
    c.add_argument("--alphas", default="0.1,0.5,0.9", help="comma-separated values of alpha for the sweep")
    c.add_argument("--taus", default="1,2,4,8", help="comma-separated values of tau for the sweep")
    c.add_argument("--sweep-epochs", type=positive_int,
                   help="epochs of each sweep run (default: --epochs, so the best sweep run is the distilled student)")
    c.add_argument("--distill-from", choices=["finetune", "linear-probe"], default="finetune",
                   help="which teacher the students learn from")
    _kd_options(c)
    add_train_options(c, recipes_of=student_recipes,
                      note="Unset options take the cifar10 recipe of the student (listed at the end).")
    c.set_defaults(func=run_compare)
