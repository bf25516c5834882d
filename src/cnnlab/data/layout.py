"""Where each dataset lies in a folder of datasets (`cnnlab handin --data DIR`, `cnnlab notebooks --data DIR`, a
notebook opened by hand): the first of its usual folder names under DIR, else DIR itself, that holds the dataset
in a layout `cnnlab train DATASET --data` reads (docs/datasets.md), so a student's own downloads work as they are:
DIR/EMNIST/raw/ as torchvision writes it, DIR/cifar-10-batches-py/, DIR/fer2013/train/<class>/ ...
`--emnist DIR`, `--fer2013 DIR`, `--cifar10 DIR` give one dataset's folder instead. Nothing is read but names."""

from __future__ import annotations

from pathlib import Path

from cnnlab.errors import DataError, UsageError

FOLDERS = {"emnist": ("emnist-byclass-reduced", "emnist"), "fer2013": ("fer2013", "fer"),
           "cifar10": ("cifar10", "cifar-10")}


def holds(name: str, folder: Path) -> bool:
    from cnnlab import data
    try:
        data.locate(name, folder)
    except DataError:
        return False
    return True


def find(name: str, root: Path) -> Path | None:
    """The folder of dataset `name` in `root`, or None."""
    return next((f for f in [*(Path(root) / n for n in FOLDERS[name]), Path(root)] if holds(name, f)), None)


def resolve(root: str | Path | None, given: dict[str, str | None]) -> dict[str, Path]:
    """{dataset: its folder} for every dataset: `given[name]` (the folder an option such as --emnist names, which
    must hold it), else found in `root` (--data, which must hold every dataset not given). Without either, a
    dataset is left out (the notebooks' own default). Errors name the option and the fix."""
    from cnnlab import data
    out = {}
    for name in FOLDERS:
        if given.get(name):
            folder = Path(given[name])
            try:
                data.locate(name, folder)
            except DataError as e:
                raise UsageError(f"--{name} {folder}: {e}") from None
            out[name] = folder.absolute()
        elif root is not None:
            folder = find(name, Path(root))
            if folder is None:
                looked = ", ".join(str(Path(root) / n) for n in FOLDERS[name])
                raise UsageError(f"--data {root}: no {name} dataset in {looked} or {root} itself (in a layout "
                                 f"'cnnlab train {name} --data' reads, docs/datasets.md); give its folder with "
                                 f"--{name} DIR")
            out[name] = folder.absolute()
    return out
