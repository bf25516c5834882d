"""One hyper-parameter structure per run, saved as config.json beside it (airbench's one dict, as a dataclass)."""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SCHEDULES = ("cosine", "plateau", "none")
CLASS_WEIGHTS = ("none", "balanced", "sqrt")


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
    precision: str = "auto"  # auto (bf16 autocast on CUDA, fp32 on CPU) | bf16 (also on CPU) | fp32
    ema: float = 0.0  # decay of an exponential moving average of the weights (0 = off); val/test/best.pt use it
    tta: str = "none"  # test-time augmentation of the final metrics and of the model card: none | flip
    seed: int = 0
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


# The fields that must agree between a run and its --resume (the others, like epochs, may change).
RESUME_KEYS = ("dataset", "model", "model_kwargs", "param_budget", "batch_size", "optimizer", "seed",
               "val_fraction", "limit_train")


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
