"""Figures a person would rather look at than read: curves, confusion matrices, image grids. Ground floor: the
engine, the report, the hand-in and the notebooks all draw with it; it imports nothing of cnnlab but the atomic
writer."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cnnlab.atomic import atomic_path  # noqa: E402


def save(fig, path: Path) -> Path:
    """Save atomically (temporary file, then rename)."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def curves(history: list[dict], path: Path, title: str = "") -> Path:
    """Loss and accuracy per epoch for train, val and test."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = [int(h["epoch"]) for h in history]
    for ax, metric in zip(axes, ("loss", "acc")):
        for split, style in (("train", "-o"), ("val", "--s"), ("test", "-^")):
            ys = [h.get(f"{split}_{metric}") for h in history]
            if any(y is not None for y in ys):
                ax.plot(epochs, [np.nan if y is None else y for y in ys], style, ms=3 if len(epochs) > 3 else 6,
                        label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy" if metric == "acc" else "loss")
        epoch_axis(ax, epochs)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return save(fig, path)


def epoch_axis(ax, epochs: list[int]) -> None:
    """Whole epochs on the x axis, and room around a single one (not an axis from 0.96 to 1.04)."""
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if epochs and min(epochs) == max(epochs):
        ax.set_xlim(epochs[0] - 1, epochs[0] + 1)


def confusion(matrix, classes: list[str], path: Path, normalize: bool = True) -> Path:
    """Counts (left) and row-normalised recall per true class (right); rows true, columns predicted."""
    cm = np.asarray(matrix, dtype=float)
    k = len(classes)
    size = max(6.0, min(14.0, 0.17 * k + 3.5))  # inches per panel: 7 classes 6, 62 classes 14 (labels still apart)
    panels = [("counts", cm)]
    if normalize:
        panels.append(("row-normalised", cm / np.maximum(cm.sum(1, keepdims=True), 1)))
    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels), size), layout="constrained")
    axes = np.atleast_1d(axes)
    for ax, (name, m) in zip(axes, panels):
        draw_confusion(fig, ax, m, classes, normalized=name != "counts",
                       title="row-normalised (diagonal = recall)" if name != "counts" else name)
    return save(fig, path)


def draw_confusion(fig, ax, cm: np.ndarray, classes: list[str], normalized: bool, title: str) -> None:
    """One confusion-matrix panel on `ax`: rows true, columns predicted; values written in when there are few."""
    k = len(classes)
    im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1 if normalized else None)
    ax.set_title(title)
    fs = 7 if k > 30 else 9
    longest = max((len(str(c)) for c in classes), default=0)
    rotation = 90 if k > 12 else 40 if longest > 4 else 0  # words under narrow columns would run together
    ax.set_xticks(range(k), classes, rotation=rotation, ha="right" if rotation == 40 else "center",
                  rotation_mode="anchor" if rotation == 40 else "default", fontsize=fs)
    ax.set_yticks(range(k), classes, fontsize=fs)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 15:
        for i in range(k):
            for j in range(k):
                v = cm[i, j]
                ax.text(j, i, f"{v:.2f}" if normalized else f"{int(v)}", ha="center", va="center", fontsize=8,
                        color="white" if v > (1.0 if normalized else cm.max()) / 2 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)


def image_grid(images, titles: list[str], path: Path, cols: int = 16, cmap: str = "gray", suptitle: str = "") -> Path:
    """uint8 images [N, C, H, W] in a labelled grid."""
    images = np.asarray(images)
    n = len(images)
    cols = min(cols, n)
    rows = (n + cols - 1) // cols
    cell = 0.9 if cols >= 12 else 1.3  # inches per image: a short row gets room for its labels
    # constrained layout keeps the title above the labels of the first row (bbox "tight" then trims the margins)
    size = (max(cols * cell, 4.0), rows * (cell + 0.25) + (0.4 if suptitle else 0))
    fig, axes = plt.subplots(rows, cols, figsize=size, layout="constrained")
    axes = np.atleast_1d(axes).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, img, t in zip(axes, images, titles):
        ax.imshow(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0), cmap=cmap if img.shape[0] == 1 else None,
                  vmin=0, vmax=255)
        ax.set_title(t, fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return save(fig, path)


def overlay_curves(histories: dict[str, list[dict]], path: Path, title: str = "") -> Path:
    """Several runs on the same axes: loss and accuracy per epoch, test solid, train dashed, one colour per run.
    One legend below both panels says it in that form: a colour per run, then the two line styles."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = {"train": "--", "test": "-"}
    handles = []
    for n, (name, history) in enumerate(histories.items()):
        epochs = [int(h["epoch"]) for h in history]
        color = colors[n % len(colors)]
        handles.append(Patch(color=color, label=name))
        for ax, metric in zip(axes, ("loss", "acc")):
            for split, style in styles.items():
                ys = [h.get(f"{split}_{metric}") for h in history]
                if any(y is not None for y in ys):
                    ax.plot(epochs, [np.nan if y is None else y for y in ys], style, marker="o", ms=3, color=color,
                            label=f"{name} {split}")
    handles += [Line2D([], [], color="0.3", ls=style, lw=1.5, label=split) for split, style in styles.items()]
    every_epoch = sorted({int(h["epoch"]) for history in histories.values() for h in history})
    for ax, metric in zip(axes, ("loss", "accuracy")):
        epoch_axis(ax, every_epoch)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), handlelength=3.5, fontsize=9,
               frameon=False)
    fig.suptitle(title)
    return save(fig, path)


def confusion_panel(matrix, classes: list[str], path: Path, normalized: bool = False, title: str = "") -> Path:
    """One confusion matrix panel (counts, or rows normalised to sum 1), sized to stay legible with many classes."""
    cm = np.asarray(matrix, dtype=float)
    if normalized:
        cm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    k = len(classes)
    size = max(4.5, min(16.0, 0.24 * k + 2.5))
    fig, ax = plt.subplots(figsize=(size + 1, size))
    draw_confusion(fig, ax, cm, classes, normalized,
                   title or ("row-normalised (diagonal = recall)" if normalized else "counts"))
    return save(fig, path)
