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


def plot(runs: dict[str, Path], path: Path, title: str) -> dict[str, dict]:
    """Two panels (loss, accuracy), one colour per run, solid train and dashed test; returns the scalars read."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from cnnlab.atomic import atomic_path
    read = {name: scalars(run) for name, run in runs.items()}
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric, label in ((axes[0], "loss", "loss"), (axes[1], "accuracy", "accuracy")):
        for i, (name, tags) in enumerate(read.items()):
            for split, style, marker in zip(SPLITS, ("-", "--"), ("o", "s")):
                points = tags.get(f"{metric}/{split}", [])
                if points:
                    steps, values = zip(*points)
                    ax.plot(steps, values, style, color=colours[i % len(colours)], marker=marker, markersize=4,
                            label=f"{name} {split}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.suptitle(f"{title} (from the TensorBoard logs)", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return read
