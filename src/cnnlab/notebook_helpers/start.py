"""What every hand-in notebook starts with: its budget and settings, the data and output folders, and two small
helpers (run a cnnlab command in the kernel, show a figure). `cnnlab handin` and `cnnlab notebooks` set
$CNNLAB_BUDGET (or $CNNLAB_QUICK), $CNNLAB_DATA (and `cnnlab handin` one folder per dataset, $CNNLAB_DATA_EMNIST,
...) and $CNNLAB_OUT; opened by hand, a notebook uses ../shared/data and runs/notebooks of the checkout."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Setup:
    budget: str
    settings: dict  # this question's settings of the budget (templates/budgets.json)
    data: Path
    out: Path

    @property
    def quick(self) -> bool:
        return self.budget == "quick"

    def dataset(self, name: str) -> Path:
        """The folder of dataset `name`: $CNNLAB_DATA_<NAME> (set by `cnnlab handin`), else where it lies in `data`
        (cnnlab.data.layout: e.g. data/EMNIST/raw/ as torchvision writes it), else data/<its usual name>, whose
        loader then says what is missing."""
        from cnnlab.data import layout
        given = os.environ.get(f"CNNLAB_DATA_{name.upper()}")
        if given:
            return Path(given)
        return layout.find(name, self.data) or self.data / layout.FOLDERS[name][0]


def setup(question: str, folder: str) -> Setup:
    import warnings

    from cnnlab.handin import budget
    warnings.filterwarnings("ignore", message="IProgress not found")  # progress bars as text, no ipywidgets needed
    name = budget.current()
    repo = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
    data = Path(os.environ.get("CNNLAB_DATA", repo.parent / "shared" / "data"))
    out = Path(os.environ.get("CNNLAB_OUT", repo / "runs" / "notebooks")) / name / folder
    out.mkdir(parents=True, exist_ok=True)
    print(f"BUDGET={name}  QUICK={name == 'quick'}  DATA={data}  OUT={out}")
    return Setup(name, budget.settings(name)[question], data, out)


def cnnlab(*args, echo: bool = True) -> str:
    """Run a cnnlab command in this kernel, exactly as `cnnlab ...` would in a terminal; returns what it printed
    (shown too unless echo=False)."""
    from cnnlab.cli import main
    args = [str(a) for a in args]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(args)
    if echo:
        print(buf.getvalue(), end="")
    if code:
        raise RuntimeError(f"cnnlab {' '.join(args)} failed with exit code {code} (the error is printed above)")
    return buf.getvalue()


def again(out) -> list[str]:
    """["--resume"] when an earlier run of the notebook started `out` (it then continues, or reuses what is
    finished), else nothing: --resume on a folder with nothing to resume is an error."""
    from cnnlab.engine.runfolder import RunFolder
    return ["--resume"] if any(Path(out).rglob(RunFolder.LAST)) else []


def show(path, width: int | None = None) -> None:
    from IPython.display import Image, display
    display(Image(filename=str(path), width=width))


def md(text: str) -> None:
    from IPython.display import Markdown, display
    display(Markdown(text))


def table(header: list[str], rows: list[list], align: str | None = None) -> None:
    """A Markdown table; `align` one character per column: l or r (default: first left, the rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    md("\n".join(["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
                 + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]))


def flush() -> None:
    sys.stdout.flush()
