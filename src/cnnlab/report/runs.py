"""Reading run folders for a report: config.json, metrics.json and history.csv, with clear errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.engine.runfolder import RunFolder
from cnnlab.errors import DataError

NOTES = ("comparison.md", "sweep.md")  # tables other commands write next to their runs


@dataclass
class Run:
    path: Path
    name: str
    config: dict
    metrics: dict
    history: list[dict] = field(default_factory=list)

    @property
    def model(self) -> str:
        return str(self.config.get("model") or self.metrics.get("arch") or self.path.name)


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: missing; {path.parent} is not a finished run "
                        "(finish it with the same 'cnnlab train ... --resume')") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e}); train the run again or restore the file") from None


def expand(paths: list[str | Path]) -> list[Path]:
    """Run folders; a folder without metrics.json that holds finished runs (compare, sweep) stands for them."""
    runs: list[Path] = []
    for p in map(Path, paths):
        if not p.is_dir():
            raise DataError(f"{p}: no such run folder; give folders written by 'cnnlab train --out'")
        run = RunFolder(p)
        if run.metrics.exists() or run.config.exists():
            runs.append(p)
            continue
        inner = sorted(c.parent for c in p.glob(f"*/{RunFolder.METRICS}"))
        if not inner:
            raise DataError(f"{p}: neither a run folder (no metrics.json) nor a folder of runs; "
                            "give folders written by 'cnnlab train --out'")
        runs += inner
    return runs


def names(paths: list[Path]) -> list[str]:
    """Short unique names: the folder name, or parent/name where two runs share a name."""
    short = [p.name for p in paths]
    out = []
    for p, s in zip(paths, short):
        out.append(s if short.count(s) == 1 else f"{p.parent.name}/{p.name}")
    seen: dict[str, int] = {}
    for i, n in enumerate(out):  # still equal (e.g. a/x/run and b/x/run): number them
        seen[n] = seen.get(n, 0) + 1
        if out.count(n) > 1:
            out[i] = f"{n}#{seen[n]}"
    return out


def load(path: Path, name: str | None = None) -> Run:
    from cnnlab.engine.logging import read_history
    path = Path(path)
    run = RunFolder(path)
    config = _json(run.config)
    metrics = _json(run.metrics)
    for key in ("accuracy", "classes", "confusion_matrix", "per_class"):
        if key not in metrics:
            raise DataError(f"{run.metrics}: no {key!r}; it was not written by cnnlab (docs/run-folder.md shows "
                            "the schema)")
    history = []
    if run.history.exists():
        try:
            history = read_history(run.history)
        except (ValueError, KeyError) as e:
            raise DataError(f"{run.history}: malformed ({e}); train the run again") from None
    return Run(path, name or path.name, config, metrics, history)


def notes(paths: list[Path]) -> list[Path]:
    """comparison.md / sweep.md found in the runs' folders or next to them (each file once)."""
    found: list[Path] = []
    for p in paths:
        for folder in (p, p.parent):
            for n in NOTES:
                f = (folder / n).resolve()
                if f.is_file() and f not in found:
                    found.append(f)
    return found


def data_folder(run: Run, override: str | Path | None = None) -> Path | None:
    """The dataset folder of a run: --data if given, else config.json's `data` (absolute, or relative to the
    current folder or to the run's parent folders); None when it cannot be found."""
    if override:
        p = Path(override)
        return p if p.is_dir() else None
    recorded = run.config.get("data")
    if not recorded:
        return None
    p = Path(recorded)
    candidates = [p] if p.is_absolute() else [Path.cwd() / p] + [a / p for a in run.path.resolve().parents]
    return next((c for c in candidates if c.is_dir()), None)
