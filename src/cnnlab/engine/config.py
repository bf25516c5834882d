"""One hyper-parameter structure per run, saved as config.json beside it (airbench's one dict, as a dataclass)."""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import platform
import subprocess
import typing
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.errors import UsageError

SCHEDULES = ("cosine", "plateau", "none")
OPTIMIZERS = ("adamw", "sgd")
CLASS_WEIGHTS = ("none", "balanced", "sqrt")
PRECISIONS = ("auto", "fast", "bf16", "fp32")
TTAS = ("none", "flip")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class TrainConfig:
    dataset: str = "emnist"
    recipe: str | None = None  # the named recipe of cnnlab.experiments these values started from
    data: str | None = None
    out: str = "runs/run"
    model: str = "cnn"
    model_kwargs: dict = field(default_factory=dict)  # e.g. {"dropout": 0.3}; resolved values are saved
    param_budget: int | None = None
    epochs: int = 10
    batch_size: int = 256
    eval_batch_size: int = 1024
    optimizer: str = "adamw"  # adamw | sgd
    lr: float = 2e-3
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4  # L2 regularisation (decoupled for adamw)
    schedule: str = "cosine"  # one of SCHEDULES
    warmup_epochs: float = 0.5
    label_smoothing: float = 0.0
    class_weights: str = "none"  # one of CLASS_WEIGHTS (loss weighted by inverse class frequency, or its sqrt)
    augment: dict = field(default_factory=dict)  # keys of cnnlab.data.augment.apply
    precision: str = "auto"  # auto (bf16 autocast on CUDA, fp32 on CPU) | fast (also a CPU with AVX-512) | bf16 | fp32
    ema: float = 0.0  # decay of an exponential moving average of the weights (0 = off); val/test/best.pt use it
    tta: str = "none"  # test-time augmentation of the final metrics and of the model card: none | flip
    seed: int = 0
    split_seed: int | None = None  # seed of the validation carve (None: seed): runs of other seeds share one val
    device: str = "auto"
    val_fraction: float = 0.1
    limit_train: int | None = None
    limit_test: int | None = None
    cache_dir: str | None = None
    download: bool = False
    checkpoint_steps: int = 200  # also save last.pt every N steps inside an epoch, so a killed run resumes there
    max_steps: int | None = None  # stop (resumably) after this many optimizer steps in total
    resume: bool = False
    quiet: bool = False

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def check(self) -> "TrainConfig":
        """Every field has its type and a sensible range; a wrong one is a UsageError naming its option."""
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            try:
                setattr(self, f.name, coerce(value, hints[f.name]))
            except ValueError:
                raise UsageError(f"{option(f.name)}: expected {type_name(hints[f.name])}, got {value!r}") from None
        for name, (test, what) in RANGES.items():
            value = getattr(self, name)
            if value is not None and not test(value):
                raise UsageError(f"{option(name)} must be {what}, got {value}")
        for name, choices in CHOICES.items():
            if getattr(self, name) not in choices:
                raise UsageError(f"{option(name)} must be one of {', '.join(choices)}, not {getattr(self, name)!r}")
        for key, value in self.augment.items():
            if key not in AUGMENT:
                raise UsageError(f"{option('augment.' + key)}: unknown augmentation {key!r}; the keys are "
                                 f"{', '.join(AUGMENT)}")
            kind, test, what = AUGMENT[key]
            try:
                value = self.augment[key] = coerce(value, kind)
            except ValueError:
                raise UsageError(f"{option('augment.' + key)}: expected {type_name(kind)}, got {value!r}") from None
            if not test(value):
                raise UsageError(f"{option('augment.' + key)} must be {what}, got {value}")
        for key, (test, what) in MODEL_KWARGS.items():
            value = self.model_kwargs.get(key)
            if value is not None and (isinstance(value, bool) or not test(value)):
                raise UsageError(f"{option('model_kwargs.' + key)} must be {what}, got {value!r}")
        return self


def _finite(v) -> bool:
    return math.isfinite(v)


# field -> (test, what the value must be); None (where allowed) means "not set".
RANGES = {
    "epochs": (lambda v: v > 0, "a positive integer"),
    "batch_size": (lambda v: v > 0, "a positive integer"),
    "eval_batch_size": (lambda v: v > 0, "a positive integer"),
    "lr": (lambda v: _finite(v) and v > 0, "a positive number"),
    "momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "weight_decay": (lambda v: _finite(v) and v >= 0, "a number >= 0"),
    "warmup_epochs": (lambda v: _finite(v) and v >= 0, "a number of epochs >= 0"),
    "label_smoothing": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "ema": (lambda v: 0 <= v < 1, "a decay in (0, 1) such as 0.999, or 0 for none"),
    "val_fraction": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "param_budget": (lambda v: v > 0, "a positive number of parameters"),
    "limit_train": (lambda v: v > 0, "a positive number of images"),
    "limit_test": (lambda v: v > 0, "a positive number of images"),
    "checkpoint_steps": (lambda v: v > 0, "a positive number of steps"),
    "max_steps": (lambda v: v > 0, "a positive number of steps"),
}
CHOICES = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "class_weights": CLASS_WEIGHTS, "precision": PRECISIONS,
           "tta": TTAS, "device": DEVICES}
# The keys of cnnlab.data.augment.apply: (type, test, what the value must be).
AUGMENT = {
    "crop_pad": (int, lambda v: v >= 0, "a number of pixels >= 0"),
    "crop_mode": (str, lambda v: v in ("constant", "reflect", "replicate"), "constant, reflect or replicate"),
    "flip": (bool, lambda v: True, "true or false"),
    "degrees": (float, lambda v: 0 <= v <= 180, "a rotation in [0, 180] degrees"),
    "scale": (float, lambda v: 0 <= v < 1, "in [0, 1)"),
    "erase": (float, lambda v: 0 <= v <= 1, "a probability in [0, 1]"),
}
MODEL_KWARGS = {"dropout": (lambda v: isinstance(v, (int, float)) and 0 <= v < 1, "a probability in [0, 1)"),
                "width": (lambda v: isinstance(v, int) and v > 0, "a positive integer")}
# Fields with an option of their own on the command line; every other field is set with --set.
FLAGS = {"data", "recipe", "model", "out", "epochs", "batch_size", "lr", "weight_decay", "optimizer", "schedule",
         "label_smoothing", "precision", "ema", "tta", "class_weights", "param_budget", "seed", "device",
         "val_fraction", "limit_train", "limit_test", "cache_dir", "checkpoint_steps", "max_steps"}


def option(name: str) -> str:
    """How a user sets a field: --limit-train, --width (model_kwargs.width), or --set warmup_epochs."""
    name = {"model_kwargs.width": "width", "model_kwargs.dropout": "dropout"}.get(name, name)
    return f"--{name.replace('_', '-')}" if name in FLAGS | {"width", "dropout"} else f"--set {name}"


def type_name(kind) -> str:
    return " or ".join("none" if t is type(None) else t.__name__ for t in typing.get_args(kind) or (kind,))


def coerce(value, kind):
    """`value` as type `kind` (int, float, bool, str, dict, or an Optional of one); ValueError when it is not one.
    Text is parsed (the values of --set); an int is a float too, a bool is never a number."""
    kinds = typing.get_args(kind) or (kind,)
    if value is None:
        if type(None) in kinds:
            return None
        raise ValueError
    if isinstance(value, str) and type(None) in kinds and value.lower() in ("none", "null"):
        return None
    for t in kinds:
        if t is type(None):
            continue
        if t is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in BOOLS:
                return BOOLS[value.lower()]
        elif t is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and re_int(value):
                return int(value)
        elif t is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
        elif t is str:
            if isinstance(value, str):
                return value
        elif t is dict:
            if isinstance(value, dict):
                return dict(value)
            if isinstance(value, str):
                parsed = literal(value)
                if isinstance(parsed, dict):
                    return parsed
    raise ValueError


BOOLS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False, "1": True, "0": False}


def re_int(text: str) -> bool:
    return text.strip().lstrip("+-").isdigit()


def literal(text: str):
    """A value of --set in a dict field whose type is not known: JSON or a Python literal, else the text."""
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError):
            pass
    return text


def apply_overrides(d: dict, assignments: list[str]) -> dict:
    """A copy of the config dict `d` with each "key=value" (dotted keys into dict fields: "augment.erase=0.25",
    "model_kwargs.width=32") applied. Values take the type of the field (or of the dict entry they replace);
    TrainConfig.check then checks the ranges. A key that is not a field is a UsageError."""
    d = {k: dict(v) if isinstance(v, dict) else v for k, v in d.items()}
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
                d[field_name] = coerce(raw, hints[field_name])
            except ValueError:
                raise UsageError(f"--set {a}: {field_name} takes {type_name(hints[field_name])}, not {raw!r}") from None
            continue
        if hints[field_name] is not dict or not sub or "." in sub:
            raise UsageError(f"--set {a}: only the dict fields take a dotted key (augment.KEY, model_kwargs.KEY)")
        table = d.setdefault(field_name, {})
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
            table[sub] = coerce(raw, kind)
        except ValueError:
            raise UsageError(f"--set {a}: {key} takes {type_name(kind)}, not {raw!r}") from None
    return d


# The fields that must agree between a run and its --resume (the others, like epochs, may change).
RESUME_KEYS = ("dataset", "model", "model_kwargs", "param_budget", "batch_size", "optimizer", "seed", "split_seed",
               "val_fraction", "limit_train",
               "lr", "weight_decay", "momentum", "nesterov")  # these four live in the optimiser's saved state


def stage(cfg: TrainConfig, **changes) -> TrainConfig:
    """`cfg` with `changes` for one run of a multi-run command (compare, sweep, distill compare): with --resume, a
    run that started continues from its last.pt, and one that had not started yet starts."""
    cfg = dataclasses.replace(cfg, **changes)
    if cfg.resume and not (Path(cfg.out) / "last.pt").exists():
        cfg = dataclasses.replace(cfg, resume=False)
    return cfg


def check_resumable(out, resume: bool) -> None:
    """--resume of a command needs a folder that holds something to resume; a typo in --out is an error."""
    out = Path(out)
    if resume and not (out.is_dir() and any(out.iterdir())):
        raise UsageError(f"nothing to resume in {out}: the folder {'is empty' if out.is_dir() else 'does not exist'}; "
                         "check --out, or leave out --resume to start")


def environment() -> dict:
    import torch
    import torch.distributed as dist
    import torchvision

    import cnnlab
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                                text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"cnnlab": cnnlab.__version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
            "python": platform.python_version(), "platform": platform.platform(), "git_commit": commit,
            "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "distributed_backend": dist.get_backend() if dist.is_available() and dist.is_initialized() else None}


def save_config(cfg: TrainConfig, path: Path, extra: dict | None = None) -> None:
    from cnnlab.engine.checkpoint import atomic_write_text
    atomic_write_text(path, json.dumps({**cfg.to_dict(), **(extra or {}), "environment": environment()}, indent=2) + "\n")
