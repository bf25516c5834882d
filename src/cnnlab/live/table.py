"""A video's expressions as a table: one row per face per frame (`frame`, `time_s`, `face` (the track id), `x`,
`y`, `w`, `h`, `label`, then one column per class with its probability), the per-face share of time of each
expression, and the overall shares that `cnnlab live` prints. pandas is imported only when a DataFrame is made."""

from __future__ import annotations

from collections import Counter

from cnnlab.atomic import atomic_path

COLUMNS = ["frame", "time_s", "face", "x", "y", "w", "h", "label"]


class Rows:
    """Collects the rows while a video is processed (plain tuples: cheap per frame), then makes the DataFrame."""

    def __init__(self, classes: list[str]):
        self.classes, self.rows = list(classes), []

    def add(self, frame: int, time_s: float, faces: list[dict]) -> None:
        for f in faces:
            p = f["probabilities"]
            self.rows.append((frame, round(time_s, 3), f["face"], *f["box"], f["label"], *(p[c] for c in self.classes)))

    def table(self):
        import pandas as pd
        return pd.DataFrame(self.rows, columns=COLUMNS + self.classes)


def class_columns(table) -> list[str]:
    """The probability columns of a table (those after the fixed ones)."""
    return [c for c in table.columns if c not in COLUMNS]


def shares(labels, classes) -> dict[str, float]:
    """{class: share of `labels` (one per face per frame) that are this class}, in class order; {} if none."""
    counts, n = Counter(labels), len(labels)
    return {c: round(counts[c] / n, 4) for c in classes} if n else {}


def summarize_expressions(table):
    """Per face (the index): frames seen, first and last second, then the share of its frames with each
    expression as the label (columns in class order). Empty table: an empty DataFrame with these columns."""
    import pandas as pd
    classes = class_columns(table)
    rows = {}
    for face, g in table.groupby("face", sort=True):
        rows[face] = {"frames": len(g), "first_s": float(g["time_s"].min()), "last_s": float(g["time_s"].max()),
                      **shares(g["label"].tolist(), classes)}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["frames", "first_s", "last_s", *classes])
    out.index.name = "face"
    return out


def write_csv(table, path) -> None:
    """The table as CSV (one header line, then the rows), written atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
