"""What a run writes as it goes: history.csv, TensorBoard scalars, and a progress bar."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from cnnlab.atomic import atomic_write_text

HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr", "seconds"]


def write_history(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    atomic_write_text(path, buf.getvalue())


def read_history(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: (float(v) if v not in ("", None) else None) for k, v in r.items()} for r in csv.DictReader(f)]


class TensorBoard:
    """Scalars loss/{train,val,test} and accuracy/{train,val,test}, one point per epoch."""

    def __init__(self, folder: Path, purge_step: int | None = None):
        from torch.utils.tensorboard import SummaryWriter
        self.writer = SummaryWriter(str(folder), purge_step=purge_step)

    def epoch(self, row: dict) -> None:
        e = int(row["epoch"])
        for split in ("train", "val", "test"):
            if row.get(f"{split}_loss") is not None:
                self.writer.add_scalar(f"loss/{split}", row[f"{split}_loss"], e)
                self.writer.add_scalar(f"accuracy/{split}", row[f"{split}_acc"], e)
        self.writer.add_scalar("lr", row["lr"], e)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def progress(total: int, desc: str, disable: bool, initial: int = 0):
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc=desc, disable=disable, leave=False, file=sys.stderr,
                dynamic_ncols=True, mininterval=0.5)


def log(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)
