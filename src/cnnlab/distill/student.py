"""The student: a model trained by the engine with the distillation loss in place of the cross-entropy.

The engine's `loss_fn` hook gets each training batch (after augmentation) and its rows in the training split;
`TeacherLogits` runs the teacher on that batch in inference mode under autocast. Without augmentation a row's
image is the same every epoch, so its logits are computed once and cached (by row) for the rest of the run, and
for every run that shares the same `TeacherLogits` (a sweep). `--teacher none` trains the same student with the
plain cross-entropy: the baseline (kd_loss with alpha = 1 is exactly that loss). Several teachers (`--teacher
A,B,C`) are one `Ensemble`; `--teacher-targets clean` computes its logits once on the stored training images
(`cnnlab.distill.ensemble`), `--teacher-targets views` once on a fixed set of augmented views of each image, which
the student then draws from (`cnnlab.distill.views`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from cnnlab.distill.loss import check, kd_loss
from cnnlab.engine.checkpoint import atomic_write_json
from cnnlab.engine.config import TrainConfig
from cnnlab.engine.evaluate import autocast
from cnnlab.engine.runfolder import RunFolder
from cnnlab.errors import UsageError


TARGETS = ("augmented", "clean", "views")  # where the teacher looks: each augmented batch, the stored image once,
VIEWS = 8  # or (views) this many stored augmented views of each image, once
DEFAULTS = {"teacher_flip": False, "teacher_targets": "augmented"}  # of a distill.json written before they existed


class TeacherLogits:
    """logits = TeacherLogits(teacher, num_classes, cache)(images, rows): the teacher's float32 logits for a batch,
    under the run's `precision` (`cnnlab.engine.evaluate.autocast`; bf16 where the student trains in bf16)."""

    def __init__(self, teacher: torch.nn.Module, num_classes: int, cache: bool, precision: str = "auto"):
        self.teacher = teacher.eval()
        self.num_classes = num_classes
        self.precision = precision
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.cache = cache
        self.store: torch.Tensor | None = None  # [rows, classes] logits, valid where self.known
        self.known: torch.Tensor | None = None
        self.computed = 0  # images the teacher has run on (a test checks the cache with it)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if next(self.teacher.parameters()).device != x.device:
            self.teacher = self.teacher.to(x.device).to(memory_format=torch.channels_last)
        self.computed += len(x)
        with torch.inference_mode(), autocast(x.device, self.precision):
            z = self.teacher(x).float()
        return z.clone()  # a normal tensor, usable in the student's autograd graph

    def __call__(self, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        if not self.cache:
            return self._forward(x)
        need = int(rows.max()) + 1
        if self.store is None or self.store.device != x.device or len(self.store) < need:
            size = max(need, 2 * len(self.store)) if self.store is not None else need
            store = torch.zeros(size, self.num_classes, device=x.device)
            known = torch.zeros(size, dtype=torch.bool, device=x.device)
            if self.store is not None:
                store[:len(self.store)] = self.store.to(x.device)
                known[:len(self.known)] = self.known.to(x.device)
            self.store, self.known = store, known
        todo = ~self.known[rows]
        if bool(todo.any()):
            self.store[rows[todo]] = self._forward(x[todo])
            self.known[rows[todo]] = True
        return self.store[rows]


def make_loss(logits_of, alpha: float, tau: float, t2_scale: bool = False, weight: torch.Tensor | None = None):
    """The engine's loss_fn(logits, targets, images, rows) for given alpha and tau (`logits_of`: a TeacherLogits or
    an ensemble's CleanTargets; `weight`: the hard term's class weights)."""
    check(alpha, tau)

    def loss_fn(logits, targets, images, rows):
        teacher = logits_of(images, rows) if alpha < 1 else None
        w = weight.to(logits.device) if weight is not None else None
        return kd_loss(logits, teacher, targets, alpha, tau, t2_scale, w)
    return loss_fn


def load_teacher(ref: str, dataset: str, classes: list[str], input_shape: list[int]):
    """(teacher model on the CPU, its checkpoint); a teacher of another dataset, class list or shape is refused."""
    from cnnlab.runs import load_model
    model, ckpt = load_model(ref, "cpu")
    if ckpt.get("dataset") not in (None, dataset):
        raise UsageError(f"--teacher {ref}: a {ckpt.get('dataset')} model; the student trains on {dataset}: "
                         f"train a teacher on {dataset} (cnnlab distill teacher ...)")
    if list(ckpt["classes"]) != list(classes):
        raise UsageError(f"--teacher {ref}: its {len(ckpt['classes'])} classes {ckpt['classes'][:10]} differ from "
                         f"the {len(classes)} classes of the data {classes[:10]}; use a teacher trained on this data")
    if list(ckpt["input_shape"]) != list(input_shape):
        raise UsageError(f"--teacher {ref}: input shape {ckpt['input_shape']} differs from the data's {input_shape}")
    return model, ckpt


def dataset_classes(cfg: TrainConfig) -> tuple[list[str], list[int]]:
    from cnnlab import data
    t = data.load(cfg.dataset, cfg.data, "test", cache=cfg.cache_dir)
    return t.classes, t.input_shape


def teacher_refs(teacher: str) -> list[str]:
    """The models of --teacher: one, or several separated by commas (an ensemble)."""
    refs = [r.strip() for r in str(teacher).split(",") if r.strip()]
    if not refs:
        raise UsageError(f"--teacher: expected a run folder, model file or shipped name (or several, separated by "
                         f"commas), got {teacher!r}")
    return refs


def teacher_digest(teacher: str) -> list[str]:
    """The sha256 of each teacher's checkpoint file (a shipped name's weights change with cnnlab's version, a run
    folder's as it trains): a resumed student checks that its teacher is still the same."""
    from cnnlab.runs import checkpoint_path
    return [hashlib.sha256(checkpoint_path(ref).read_bytes()).hexdigest() for ref in teacher_refs(teacher)]


def teacher_model(cfg: TrainConfig, teacher: str, flip: bool = False) -> tuple[torch.nn.Module, int]:
    """(the teacher, its number of classes): one model, or the Ensemble of several (or of one with its mirror)."""
    from cnnlab.distill.ensemble import Ensemble
    classes, shape = dataset_classes(cfg)
    loaded = [load_teacher(ref, cfg.dataset, classes, shape) for ref in teacher_refs(teacher)]
    if len(loaded) == 1 and not flip:
        return loaded[0][0], loaded[0][1]["num_classes"]
    return Ensemble([m for m, _ in loaded], flip), loaded[0][1]["num_classes"]


def teacher_logits(cfg: TrainConfig, teacher: str, flip: bool = False, targets: str = "augmented",
                   views: int = VIEWS):
    """What the student's loss asks for the teacher's logits: on each augmented batch ('augmented', cached by row
    when there is no augmentation), once on the stored training images ('clean', CleanTargets), or once on `views`
    augmented views of each image that the student's batches are then drawn from ('views', ViewTargets: the engine
    takes its `augment_fn`)."""
    if targets not in TARGETS:
        raise UsageError(f"--teacher-targets must be one of {', '.join(TARGETS)}, not {targets!r}")
    if views < 1:
        raise UsageError(f"--teacher-views must be a whole number of at least 1, not {views!r}")
    model, num_classes = teacher_model(cfg, teacher, flip)
    if targets == "views":
        return view_targets(cfg, model, flip, views)
    if targets == "clean":
        from cnnlab.distill.ensemble import CleanTargets
        from cnnlab.engine.logging import log
        from cnnlab.engine.train import load_splits
        images = load_splits(cfg)[0].images
        log(f"teacher: logits of {len(images)} training images, once", cfg.quiet)
        return CleanTargets(model, images, precision=cfg.precision)
    return TeacherLogits(model, num_classes, cache=not any(cfg.augment.values()), precision=cfg.precision)


def view_targets(cfg: TrainConfig, model: torch.nn.Module, flip: bool, views: int):
    """ViewTargets of cfg's training images, read from the run folder when a resumed run made the same ones."""
    from cnnlab.distill.ensemble import Ensemble
    from cnnlab.distill.views import FILE, ViewTargets, load_or_make
    from cnnlab.engine.logging import log, progress
    from cnnlab.engine.distributed import pick_device
    from cnnlab.engine.train import load_splits
    dev = pick_device(cfg.device, int(os.environ.get("LOCAL_RANK", "0")))  # the teacher runs where training will
    images = load_splits(cfg)[0].images.to(dev)
    model = model.to(dev).to(memory_format=torch.channels_last)
    invariant = isinstance(model, Ensemble) and model.flip
    log(f"teacher: logits of {views} augmented views of {len(images)} training images, once", cfg.quiet)
    path = Path(cfg.out) / FILE
    bar = progress(views * len(images), "teacher views", cfg.quiet)

    def make(stored):
        return ViewTargets(model, images, cfg.augment, views, cfg.seed, invariant, precision=cfg.precision,
                           progress=lambda done, _: bar.update(done - bar.n), stored=stored)
    try:
        targets = load_or_make(path, make)
    finally:
        bar.close()
    log(f"teacher views: {'saved to' if targets.computed else 'read from'} {path}", cfg.quiet)
    return targets


def views_option(teacher_targets: str, teacher_views: int) -> dict:
    """{"teacher_views": N} where the targets are views, else {}: what distill.json and sweep.json record of N."""
    return {"teacher_views": teacher_views} if teacher_targets == "views" else {}


def distill_info(teacher: str, alpha: float, tau: float, t2_scale: bool, teacher_flip: bool = False,
                 teacher_targets: str = "augmented", teacher_views: int = VIEWS) -> dict:
    """The distillation options distill.json records and a resumed or reused run must share (`check_same`), with the
    sha256 of the teacher's files."""
    return {"teacher": str(teacher), "alpha": alpha, "tau": tau, "t2_scale": t2_scale, "teacher_flip": teacher_flip,
            "teacher_targets": teacher_targets, **views_option(teacher_targets, teacher_views),
            "teacher_sha256": teacher_digest(teacher)}


def check_same(out: Path, info: dict) -> None:
    """A run resumed or reused in `out` must have been trained with the same teacher, alpha, tau and t2_scale."""
    path = out / "distill.json"
    if path.exists():
        old = json.loads(path.read_text())
        keys = ("teacher", "alpha", "tau", "t2_scale", "teacher_flip", "teacher_targets", "teacher_views",
                "teacher_sha256")
        changed = [k for k in keys if k in info and (k in old or k in DEFAULTS)
                   and old.get(k, DEFAULTS.get(k)) != info[k]]
        if changed == ["teacher_sha256"]:
            raise UsageError(f"--resume: the teacher {old['teacher']} is not the one {out} started with (its files' "
                             "sha256 differ): resume with the teacher's files as they were, or start another --out")
        if changed:
            raise UsageError(f"--resume: {out} was trained with {', '.join(f'{k}={old.get(k)!r}' for k in changed)}; "
                             "use the same distillation options, or another --out")


def _record(out: Path, info: dict, resume: bool) -> None:
    """distill.json: teacher, alpha, tau, t2_scale. A resumed run must use the same ones."""
    if int(os.environ.get("RANK", "0")) != 0:
        return
    run = RunFolder(out)
    holds_run = run.last.exists() or run.best.exists()
    if holds_run and resume:
        check_same(out, info)
    if not holds_run or resume:
        atomic_write_json(out / "distill.json", info)


def train_student(cfg: TrainConfig, teacher: str | None, alpha: float = 0.5, tau: float = 4.0, t2_scale: bool = False,
                  logits_of=None, teacher_flip: bool = False, teacher_targets: str = "augmented",
                  teacher_views: int = VIEWS) -> dict:
    """Train cfg's student into cfg.out: with kd_loss against `teacher` (a run folder / checkpoint / shipped name, or
    several separated by commas: their ensemble), or with the plain cross-entropy when teacher is None or 'none'.
    Returns the engine's result (test metrics)."""
    from cnnlab.engine.optim import class_weights
    from cnnlab.engine.train import load_splits, train
    from cnnlab.runs import initial_weights
    check(alpha, tau)
    init_model = initial_weights(cfg)  # --init: read now, so a wrong one stops before the teacher's work
    out = Path(cfg.out)
    if teacher in (None, "", "none"):
        labels_only = {"teacher": "none", "alpha": 1.0, "tau": None, "t2_scale": False, "loss": "cross-entropy"}
        _record(out, labels_only, cfg.resume)
        return train(cfg, init_model=init_model)
    info = distill_info(teacher, alpha, tau, t2_scale, teacher_flip, teacher_targets, teacher_views)
    RunFolder(out).prepare(cfg.resume)  # a typo in --out or --resume is refused before the teacher's work,
    if cfg.resume:
        check_same(out, info)  # and so is a resume with other distillation options
    if logits_of is None and alpha < 1:
        logits_of = teacher_logits(cfg, teacher, teacher_flip, teacher_targets, teacher_views)
    weight = class_weights(cfg, load_splits(cfg)[0], "cpu") if cfg.class_weights != "none" else None
    _record(out, {**info, "teacher_logits_cached": bool(logits_of and logits_of.cache),
                  "hard_term_class_weights": cfg.class_weights,
                  "loss": "alpha*H(y, softmax(z_s)) + (1-alpha)*H(softmax(z_t/tau), softmax(z_s/tau))"
                          + (" * tau^2" if t2_scale else "")}, cfg.resume)
    return train(cfg, loss_fn=make_loss(logits_of, alpha, tau, t2_scale, weight), init_model=init_model,
                 augment_fn=getattr(logits_of, "augment_fn", None))
