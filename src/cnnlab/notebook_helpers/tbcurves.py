"""Loss and accuracy curves read back from a run's TensorBoard event files (tb/), drawn for train and test: what
TensorBoard shows, as a figure that can live in a notebook's HTML."""

from __future__ import annotations

from pathlib import Path

SPLITS = ("train", "test")


def scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value), ...]} of every scalar in run/tb (all event files, as TensorBoard merges them)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from cnnlab.engine.runfolder import RunFolder
    acc = EventAccumulator(str(RunFolder(run).tb), size_guidance={"scalars": 0})
    acc.Reload()
    out = {}
    for tag in acc.Tags().get("scalars", []):
        points = {}
        for e in acc.Scalars(tag):  # a resumed run rewrites the steps it redid: keep the last value of each step
            points[int(e.step)] = float(e.value)
        out[tag] = sorted(points.items())
    return out


def histories(read: dict[str, dict]) -> dict[str, list[dict]]:
    """Each run's scalars as rows of a history (epoch, train_loss, test_acc, ...), the shape plots.py draws."""
    out = {}
    for name, tags in read.items():
        rows: dict[int, dict] = {}
        for metric, short in (("loss", "loss"), ("accuracy", "acc")):
            for split in SPLITS:
                for step, value in tags.get(f"{metric}/{split}", []):
                    rows.setdefault(step, {"epoch": step})[f"{split}_{short}"] = value
        out[name] = [rows[step] for step in sorted(rows)]
    return out


def plot(runs: dict[str, Path], path: Path, title: str) -> dict[str, dict]:
    """Two panels (loss, accuracy), one colour per run, test solid and train dashed (as the report draws them);
    returns the scalars read."""
    from cnnlab import plots
    read = {name: scalars(run) for name, run in runs.items()}
    plots.overlay_curves(histories(read), path, title=f"{title} (from the TensorBoard logs)")
    return read
