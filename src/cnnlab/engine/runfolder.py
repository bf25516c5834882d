"""A run folder (docs/run-folder.md): the names of its files, written once here, and the writing and resuming of
them. Every file is written atomically, so a killed run never leaves half a file."""

from __future__ import annotations

from pathlib import Path

from cnnlab.atomic import atomic_torch_save, atomic_write_json
from cnnlab.engine.logging import write_history
from cnnlab.errors import DataError, UsageError

# What last.pt holds besides the model, for train() to continue from it ("ema" may be None).
RESUME_STATE_KEYS = ("optimizer", "scheduler", "epoch", "step", "global_step", "history", "best", "stats", "rng",
                     "config")


def model_description(arch: str, classes: list[str], input_shape, model_kwargs: dict, dataset: str, config: dict,
                      **extra) -> dict:
    """The part of every checkpoint of a run that says which model it is and how it was made (load_checkpoint
    checks for it); `extra` (e.g. the test-time augmentation, "tta") comes before "config"."""
    return {"arch": arch, "num_classes": len(classes), "classes": classes, "input_shape": input_shape,
            "model_kwargs": model_kwargs, "dataset": dataset, **extra, "config": config}


def history_row(epoch: int, train_totals, val: dict, test: dict, lr: float, seconds: float) -> dict:
    """One epoch of history.csv (and of last.pt's history): `train_totals` = (loss sum, correct, images) of the
    epoch's training, `val` and `test` {"loss", "acc"}, `seconds` its training time."""
    loss_sum, correct, images = (float(v) for v in train_totals)
    return {"epoch": epoch, "train_loss": loss_sum / images, "train_acc": correct / images,
            "val_loss": val["loss"], "val_acc": val["acc"], "test_loss": test["loss"], "test_acc": test["acc"],
            "lr": lr, "seconds": round(seconds, 3), "train_seconds": seconds, "images": images}


def checkpoint(weights: dict, description: dict, **state) -> dict:
    """The dict a run's .pt file holds: the weights, the model's description, then `state` (epoch, optimiser...)."""
    return {"model": weights, **description, **state}


def saved_val_accuracy(path: str | Path) -> float | None:
    """The validation accuracy a checkpoint file was saved with (None for a run without a validation split)."""
    import torch
    return torch.load(path, map_location="cpu", weights_only=False).get("val_acc")


class RunFolder:
    """One run's folder: each file's name is a class attribute, each file's path an attribute of the instance."""

    CONFIG = "config.json"  # the run's settings, data and machine
    HISTORY = "history.csv"  # one row per epoch
    METRICS = "metrics.json"  # best.pt on the test split: written last, so it marks a finished run
    LAST = "last.pt"  # the latest state, for --resume
    BEST = "best.pt"  # the weights with the best validation accuracy
    TB = "tb"  # TensorBoard scalars
    PLOTS = "plots"  # the figures below
    CURVES = "curves.png"
    CONFUSION = "confusion_matrix.png"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.config, self.history, self.metrics = (self.path / n for n in (self.CONFIG, self.HISTORY, self.METRICS))
        self.last, self.best, self.tb = (self.path / n for n in (self.LAST, self.BEST, self.TB))
        self.plots = self.path / self.PLOTS
        self.curves, self.confusion = self.plots / self.CURVES, self.plots / self.CONFUSION

    def holds_run(self) -> bool:
        """True once a run has written its state here (a folder with only config.json has not)."""
        return any(p.exists() for p in (self.last, self.best, self.history, self.metrics))

    def prepare(self, resume: bool, settings: dict | None = None) -> dict | None:
        """The state to resume from (or None for a new run). Refuses to overwrite a run unless `resume`;
        `settings` ({TrainConfig field: value}) must agree with those last.pt was made with."""
        if not resume:
            if self.holds_run():
                raise UsageError(f"--out {self.path} already holds a run; pass --resume to continue it, or choose "
                                 "another --out")
            return None
        if not self.last.exists():
            raise UsageError(f"nothing to resume in {self.path}: no {self.LAST}; check --out, or leave out --resume "
                             "to start a new run")
        state = self.resume()
        old = state["config"]
        changed = [k for k, v in (settings or {}).items() if old.get(k) != v]
        if changed:
            raise UsageError(f"--resume: {self.last} was made with other settings "
                             f"({', '.join(f'{k}={old.get(k)!r}' for k in changed)}); "
                             "use the same options, or another --out for a new run")
        return state

    def resume(self) -> dict:
        """last.pt, checked as every checkpoint is (load_checkpoint) and for the state a run continues from."""
        from cnnlab.engine.checkpoint import load_checkpoint
        state = load_checkpoint(self.last)
        missing = [k for k in RESUME_STATE_KEYS if k not in state]
        if missing:
            raise DataError(f"{self.last}: not a state to resume from (missing {missing}); "
                            "leave out --resume and start a new run in another --out")
        return state

    def save_last(self, weights: dict, description: dict, **state) -> None:
        atomic_torch_save(checkpoint(weights, description, **state), self.last)

    def save_best(self, weights: dict, description: dict, **state) -> None:
        atomic_torch_save(checkpoint(weights, description, **state), self.best)

    def write_history(self, rows: list[dict]) -> None:
        write_history(self.history, rows)

    def best_val_accuracy(self) -> float | None:
        """The validation accuracy saved with best.pt, what a choice between finished runs reads (None without a
        validation split)."""
        return saved_val_accuracy(self.best)

    def write_metrics(self, metrics: dict) -> None:
        atomic_write_json(self.metrics, metrics)

    def draw(self, history: list[dict], metrics: dict, title: str) -> None:
        """plots/: the curves of `history` and the confusion matrix of `metrics`."""
        from cnnlab import plots
        plots.curves(history, self.curves, title=title)
        plots.confusion(metrics["confusion_matrix"], metrics["classes"], self.confusion)

    def last_good_state_note(self) -> str:
        """The end of an error message: where the last good state is, when last.pt exists ('' otherwise)."""
        return f" {self.last} holds the last good state" if self.last.exists() else ""
