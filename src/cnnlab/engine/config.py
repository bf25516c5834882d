"""One hyper-parameter structure per run, saved as config.json beside it (airbench's one dict, as a dataclass)."""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.clikit import DEVICE_HELP, DEVICES
from cnnlab.engine.runfolder import RunFolder
from cnnlab.errors import UsageError

SCHEDULES = ("cosine", "plateau", "none")
OPTIMIZERS = ("adamw", "sgd")
CLASS_WEIGHTS = ("none", "balanced", "sqrt")
PRECISIONS = ("auto", "fast", "bf16", "fp32")
TTAS = ("none", "flip")


def param(default=None, *, factory=None, help: str = "", choices: tuple | None = None, check=None,
          required: bool = False, run: bool = False):
    """A field of TrainConfig with what a user needs to know of it: its `help` (the text of its option, or of its
    --set key), its `choices`, `check` = (test, what the value must be) for a value that is not None, `required`
    on the command line, and `run`: a fact of one run (where, which data, how long), not of a recipe, so
    `cnnlab recipes` does not list it."""
    meta = {"help": help, "choices": choices, "check": check, "required": required, "run": run}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def _finite(v) -> bool:
    return math.isfinite(v)


POSITIVE = (lambda v: v > 0, "a positive integer")
UNIT = (lambda v: 0 <= v < 1, "in [0, 1)")


@dataclass
class TrainConfig:
    """Every hyper-parameter of a run. The command line's options, --set, the checks and the recipe help are made
    from these fields (OPTIONS says which have an option of their own, in the order --help lists them)."""
    dataset: str = param("emnist", help="the dataset's name", run=True)
    recipe: str | None = param(help="named recipe of the dataset; the options below override its values", run=True)
    data: str | None = param(help="dataset folder (docs/datasets.md shows each dataset's layout)", required=True,
                             run=True)
    out: str = param("runs/run", help="run folder to write", required=True, run=True)
    model: str = param("cnn", help="model name (cnnlab models --all lists them)")
    model_kwargs: dict = param(factory=dict, help="arguments of the model, e.g. {\"dropout\": 0.3} (MODEL_KWARGS "
                                                  "are checked); the resolved values are saved")
    param_budget: int | None = param(help="size the model (MLP hidden width, CNN width) to this many parameters; an "
                                          "mlp without it matches the default cnn",
                                     check=(lambda v: v > 0, "a positive number of parameters"))
    epochs: int = param(10, help="epochs", check=POSITIVE)
    batch_size: int = param(256, help="batch size (global, split over torchrun processes)", check=POSITIVE)
    eval_batch_size: int = param(1024, help="batch size of validation and test", check=POSITIVE)
    optimizer: str = param("adamw", help="optimiser (sgd uses Nesterov momentum 0.9)", choices=OPTIMIZERS)
    lr: float = param(2e-3, help="peak learning rate", check=(lambda v: _finite(v) and v > 0, "a positive number"))
    momentum: float = param(0.9, help="momentum of sgd", check=UNIT)
    nesterov: bool = param(True, help="Nesterov momentum for sgd")
    weight_decay: float = param(5e-4, help="L2 regularisation (weight decay on weights, not biases/BN)",
                                check=(lambda v: _finite(v) and v >= 0, "a number >= 0"))
    schedule: str = param("cosine", help="learning-rate schedule: cosine = linear warm-up then cosine decay; "
                                         "plateau = halve on a flat val accuracy", choices=SCHEDULES)
    warmup_epochs: float = param(0.5, help="epochs of the cosine schedule's linear warm-up",
                                 check=(lambda v: _finite(v) and v >= 0, "a number of epochs >= 0"))
    label_smoothing: float = param(0.0, help="label smoothing of the cross-entropy", check=UNIT)
    class_weights: str = param("none", help="weight the loss by inverse class frequency (balanced) or its square root "
                                            "(sqrt)", choices=CLASS_WEIGHTS)
    augment: dict = param(factory=dict, help="data augmentation: the keys of cnnlab.data.augment.apply (AUGMENT)")
    precision: str = param("auto", help="auto = bf16 autocast on CUDA, fp32 on CPU; fast = bf16 also on a CPU with "
                                        "AVX-512 (elsewhere CPU bf16 is emulated, ~10x slower than fp32); bf16, fp32 = "
                                        "always that", choices=PRECISIONS)
    ema: float = param(0.0, help="decay of a moving average of the weights used for val/test/best.pt (0 = off)",
                       check=(lambda v: 0 <= v < 1, "a decay in (0, 1) such as 0.999, or 0 for none"))
    tta: str = param("none", help="test-time augmentation of the final metrics (flip: image + mirror); saved in "
                                  "best.pt, so eval and predict use it too", choices=TTAS)
    seed: int = param(0, help="random seed (data split, init, shuffling, augmentation)", run=True)
    split_seed: int | None = param(help="seed of the validation carve (None: seed): runs of other seeds share one val")
    device: str = param("auto", help=DEVICE_HELP, choices=DEVICES, run=True)
    val_fraction: float = param(0.1, help="stratified share of train used to pick best.pt", check=UNIT)
    limit_train: int | None = param(help="use a seeded random subset of N training images",
                                    check=(lambda v: v > 0, "a positive number of images"), run=True)
    limit_test: int | None = param(help="use a seeded random subset of N test images",
                                   check=(lambda v: v > 0, "a positive number of images"), run=True)
    cache_dir: str | None = param(help="where decoded tensors are cached (default: $CNNLAB_CACHE_DIR or "
                                       "~/.cache/cnnlab)", run=True)
    download: bool = param(False, help="download a missing dataset with torchvision (EMNIST, CIFAR-10)", run=True)
    checkpoint_steps: int = param(200, help="also save last.pt every N steps inside an epoch",
                                  check=(lambda v: v > 0, "a positive number of steps"))
    max_steps: int | None = param(help="stop after N optimiser steps in total (continue later with --resume)",
                                  check=(lambda v: v > 0, "a positive number of steps"), run=True)
    resume: bool = param(False, help="continue the run in --out from its last.pt (an error when there is none)",
                         run=True)
    init: str | None = param(help="start from the weights of this model (run folder, .pt or .h5 file, or shipped name) "
                                  "of the same model, classes and input: a fine-tune, with a new optimiser and "
                                  "schedule", run=True)
    quiet: bool = param(False, help="no progress bars or per-epoch lines; the final line (test accuracy and run "
                                    "folder) is still printed", run=True)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def check(self) -> "TrainConfig":
        """Every field has its type and the range or choices its metadata gives; a wrong one is a UsageError naming
        its option."""
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            try:
                setattr(self, f.name, conform(value, hints[f.name]))
            except ValueError:
                raise UsageError(f"{option(f.name)}: expected {type_name(hints[f.name])}, got {value!r}") from None
        for f in dataclasses.fields(self):
            value, check, choices = getattr(self, f.name), f.metadata["check"], f.metadata["choices"]
            if check is not None and value is not None and not check[0](value):
                raise UsageError(f"{option(f.name)} must be {check[1]}, got {value}")
            if choices is not None and value not in choices:
                raise UsageError(f"{option(f.name)} must be one of {', '.join(choices)}, not {value!r}")
        for key, value in self.augment.items():
            if key not in AUGMENT:
                raise UsageError(f"{option('augment.' + key)}: unknown augmentation {key!r}; the keys are "
                                 f"{', '.join(AUGMENT)}")
            kind, test, what = AUGMENT[key]
            try:
                value = self.augment[key] = conform(value, kind)
            except ValueError:
                raise UsageError(f"{option('augment.' + key)}: expected {type_name(kind)}, got {value!r}") from None
            if not test(value):
                raise UsageError(f"{option('augment.' + key)} must be {what}, got {value}")
        for key, (_, test, what, _) in MODEL_KWARGS.items():
            value = self.model_kwargs.get(key)
            if value is not None and (isinstance(value, bool) or not test(value)):
                raise UsageError(f"{option('model_kwargs.' + key)} must be {what}, got {value!r}")
        return self


def fields() -> dict[str, dataclasses.Field]:
    """TrainConfig's fields by name, each with its metadata (see `param`)."""
    return {f.name: f for f in dataclasses.fields(TrainConfig)}


def base_type(name: str) -> type:
    """The type of field `name` without its None: int for `int | None`."""
    hint = typing.get_type_hints(TrainConfig)[name]
    return next(t for t in typing.get_args(hint) or (hint,) if t is not type(None))


# The keys of cnnlab.data.augment.apply: (type, test, what the value must be).
AUGMENT = {
    "crop_pad": (int, lambda v: v >= 0, "a number of pixels >= 0"),
    "crop_mode": (str, lambda v: v in ("constant", "reflect", "replicate"), "constant, reflect or replicate"),
    "flip": (bool, lambda v: True, "true or false"),
    "degrees": (float, lambda v: 0 <= v <= 180, "a rotation in [0, 180] degrees"),
    "scale": (float, lambda v: 0 <= v < 1, "in [0, 1)"),
    "erase": (float, lambda v: 0 <= v <= 1, "a probability in [0, 1]"),
}
# The keys of model_kwargs with an option of their own: (type, test, what the value must be, help).
MODEL_KWARGS = {
    "dropout": (float, lambda v: isinstance(v, (int, float)) and 0 <= v < 1, "a probability in [0, 1)",
                "dropout probability of the model's dropout layers"),
    "width": (int, lambda v: isinstance(v, int) and v > 0, "a positive integer",
              "channel width of the CNN models (first stage's channels)")}
# The training options of the command line, in the order --help lists them: a field (--name, with dashes), a key of
# model_kwargs (--key), or an option that is no field (--no-augment, --set). Every other field is set with --set.
OPTIONS = ("data", "out", "recipe", "model", "epochs", "batch_size", "lr", "weight_decay", "model_kwargs.dropout",
           "model_kwargs.width", "optimizer", "schedule", "label_smoothing", "precision", "ema", "tta",
           "class_weights", "no_augment", "param_budget", "set", "seed", "device", "val_fraction", "limit_train",
           "limit_test", "cache_dir", "download", "checkpoint_steps", "max_steps", "resume", "init", "quiet")


def option(name: str) -> str:
    """How a user sets a field: --limit-train, --width (model_kwargs.width), or --set warmup_epochs."""
    return f"--{name.rpartition('.')[2].replace('_', '-')}" if name in OPTIONS else f"--set {name}"


def type_name(kind) -> str:
    return " or ".join("none" if t is type(None) else t.__name__ for t in typing.get_args(kind) or (kind,))


def _parse_int(text: str) -> int:
    if not text.strip().lstrip("+-").isdigit():
        raise ValueError
    return int(text)


def _parse_dict(text: str) -> dict:
    value = literal(text)
    if not isinstance(value, dict):
        raise ValueError
    return value


# How text (a value of --set) becomes each type of a field; ValueError when it is not one.
PARSERS = {bool: lambda text: BOOLS[text.lower()], int: _parse_int, float: float, str: str, dict: _parse_dict}
BOOLS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False, "1": True, "0": False}


def parse(text: str, kind):
    """The text `text` as a value of type `kind` (int, float, bool, str, dict, or an Optional of one)."""
    kinds = typing.get_args(kind) or (kind,)
    if type(None) in kinds and text.lower() in ("none", "null"):
        return None
    for t in kinds:
        try:
            return PARSERS[t](text)
        except (KeyError, ValueError):
            pass
    raise ValueError


def conform(value, kind):
    """`value` as type `kind`; ValueError when it is not one. Text is parsed; an int is a float too, a bool is never
    a number."""
    kinds = typing.get_args(kind) or (kind,)
    if isinstance(value, str):
        return parse(value, kind)
    if value is None and type(None) in kinds or isinstance(value, bool) and bool in kinds:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and int in kinds:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float in kinds:
        return float(value)
    if isinstance(value, dict) and dict in kinds:
        return dict(value)
    raise ValueError


def literal(text: str):
    """A value of --set in a dict field whose type is not known: JSON or a Python literal, else the text."""
    for parse_ in (json.loads, ast.literal_eval):
        try:
            return parse_(text)
        except (ValueError, SyntaxError):
            pass
    return text


def apply_overrides(values: dict, assignments: list[str]) -> dict:
    """A copy of the config dict `values` with each "key=value" (dotted keys into dict fields: "augment.erase=0.25",
    "model_kwargs.width=32") applied. Values take the type of the field (or of the dict entry they replace);
    TrainConfig.check then checks the ranges. A key that is not a field is a UsageError."""
    values = {k: dict(v) if isinstance(v, dict) else v for k, v in values.items()}
    hints = typing.get_type_hints(TrainConfig)
    for a in assignments:
        key, eq, raw = a.partition("=")
        key = key.strip()
        if not eq or not key:
            raise UsageError(f"--set {a}: expected KEY=VALUE, e.g. --set warmup_epochs=2 or --set augment.erase=0.25")
        field_name, dot, sub = key.partition(".")
        if field_name not in hints:
            raise UsageError(f"--set {a}: {field_name!r} is not a hyper-parameter; the keys are "
                             f"{', '.join(sorted(hints))} (cnnlab recipes lists them with their values)")
        if not dot:
            try:
                values[field_name] = parse(raw, hints[field_name])
            except ValueError:
                raise UsageError(f"--set {a}: {field_name} takes {type_name(hints[field_name])}, not {raw!r}") from None
            continue
        if hints[field_name] is not dict or not sub or "." in sub:
            raise UsageError(f"--set {a}: only the dict fields take a dotted key (augment.KEY, model_kwargs.KEY)")
        table = values.setdefault(field_name, {})
        old = table.get(sub)
        kind = AUGMENT[sub][0] if field_name == "augment" and sub in AUGMENT else (
            float if isinstance(old, float) else type(old) if isinstance(old, (bool, int, str)) else None)
        if raw.strip().lower() in ("none", "null") and field_name == "model_kwargs":
            table.pop(sub, None)  # back to the model's own default
            continue
        if kind is None:
            table[sub] = literal(raw)
            continue
        try:
            table[sub] = parse(raw, kind)
        except ValueError:
            raise UsageError(f"--set {a}: {key} takes {type_name(kind)}, not {raw!r}") from None
    return values


# The fields that must agree between a run and its --resume (the others, like epochs, may change).
RESUME_KEYS = ("dataset", "model", "model_kwargs", "param_budget", "batch_size", "optimizer", "seed", "split_seed",
               "val_fraction", "limit_train",
               "lr", "weight_decay", "momentum", "nesterov")  # these four live in the optimiser's saved state


def config_for_run(cfg: TrainConfig, **changes) -> TrainConfig:
    """`cfg` with `changes` for one run of a multi-run command (compare, sweep, distill compare): with --resume, a
    run that started continues from its last.pt, and one that had not started yet starts."""
    cfg = dataclasses.replace(cfg, **changes)
    if cfg.resume and not RunFolder(cfg.out).last.exists():
        cfg = dataclasses.replace(cfg, resume=False)
    return cfg


def check_resumable(out, resume: bool) -> None:
    """--resume of a command needs a folder that holds something to resume; a typo in --out is an error."""
    out = Path(out)
    if resume and not (out.is_dir() and any(out.iterdir())):
        raise UsageError(f"nothing to resume in {out}: the folder {'is empty' if out.is_dir() else 'does not exist'}; "
                         "check --out, or leave out --resume to start")


def refuse_init(cfg: TrainConfig, why: str) -> None:
    """A command that starts its models from their own weights refuses --init in one line saying `why`."""
    if cfg.init:
        raise UsageError(f"--init {cfg.init}: {why}")


# What config.json says of the machine and versions (a part of cnnlab.environment's description).
RUN_ENVIRONMENT = ("cnnlab", "torch", "torchvision", "python", "platform", "git_commit", "cuda_device",
                   "distributed_backend")


def save_config(cfg: TrainConfig, path: Path, extra: dict | None = None) -> None:
    from cnnlab.engine.checkpoint import atomic_write_text
    from cnnlab.environment import environment
    env = environment()
    atomic_write_text(path, json.dumps({**cfg.to_dict(), **(extra or {}),
                                        "environment": {k: env[k] for k in RUN_ENVIRONMENT}}, indent=2) + "\n")
