"""The chart of a video's expressions: per face (one panel each, the faces seen longest first), the probability of
each expression over time as stacked bands (each band's height is that expression's probability, so the bands
fill 0 to 1 and the widest band is the label), seconds on the x axis, in the colours of cnnlab.live.colours. Stacked
bands stay readable at 30 frames a second for a minute, where seven crossing lines do not. A face's bands stop
where it was not seen. matplotlib is imported only here."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.atomic import atomic_path
from cnnlab.errors import UsageError
from cnnlab.live.colours import hex_colour
from cnnlab.live.table import class_columns, shares

MAX_FACES = 6  # panels: a crowd's briefly seen faces would make the chart unreadable


def plot_expressions(table, path: str | Path | None = None, max_faces: int = MAX_FACES):
    """The figure (matplotlib); also written to `path` (.png, .svg or .pdf) when given."""
    import matplotlib
    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    if path is not None and Path(path).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(f"{path}: a chart is written as .png, .svg or .pdf")
    classes = class_columns(table)
    faces = table["face"].value_counts().index[:max_faces].tolist() if len(table) else []
    fig, axes = plt.subplots(max(len(faces), 1), 1, figsize=(10, 1.2 + 2.0 * max(len(faces), 1)), sharex=True,
                             squeeze=False)
    end = float(table["time_s"].max()) if len(table) else 1.0
    for ax, face in zip(axes[:, 0], faces):
        g = table[table["face"] == face].sort_values("time_s")
        t = g["time_s"].to_numpy(dtype=float)
        y = g[classes].to_numpy(dtype=float).T
        gaps = np.flatnonzero(np.diff(t) > 3 * np.median(np.diff(t))) + 1 if len(t) > 2 else np.array([], int)
        share = shares(g["label"].tolist(), classes)
        top = max(share, key=share.get)
        for part in np.split(np.arange(len(t)), gaps):  # a band per stretch of frames where the face was seen
            ax.stackplot(t[part], y[:, part], colors=[hex_colour(c) for c in classes], linewidth=0)
        ax.set_ylim(0, 1)
        ax.set_xlim(0, max(end, 1e-3))
        ax.set_ylabel("probability")
        ax.set_title(f"face {face}: {len(g)} frames, {t[0]:.1f}–{t[-1]:.1f} s; mostly {top} ({share[top]:.0%})",
                     fontsize=10, loc="left")
        ax.grid(alpha=0.3, color="black")
    if not faces:
        axes[0, 0].text(0.5, 0.5, "no face found in this video", ha="center", va="center",
                        transform=axes[0, 0].transAxes)
    axes[-1, 0].set_xlabel("time (s)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=hex_colour(c)) for c in classes]
    fig.legend(handles, classes, loc="upper center", ncol=len(classes) or 1, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110)
        plt.close(fig)
    return fig
