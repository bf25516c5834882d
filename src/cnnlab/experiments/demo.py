"""`cnnlab demo`: the main job on data shipped inside the package, offline, in a few minutes on a CPU.

The shipped real EMNIST sample is first written out as official idx files (so the demo exercises the same
loader a user's download goes through), then MLP, CNN and factorized CNN are compared and a report is written.
"""

from __future__ import annotations

from pathlib import Path

from cnnlab.data import emnist
from cnnlab.data.idx import write_idx
from cnnlab.engine.config import TrainConfig
from cnnlab.experiments import defaults
from cnnlab.experiments.emnist import compare


def write_sample(folder: Path) -> Path:
    """The shipped sample as emnist-byclass-* files (images transposed back, as NIST stores them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in emnist.SPLITS:
        t = emnist.load_sample(split)
        write_idx(folder / f"{emnist.PREFIX}-{split}-images-idx3-ubyte.gz", t.images[:, 0].transpose(1, 2).numpy())
        write_idx(folder / f"{emnist.PREFIX}-{split}-labels-idx1-ubyte.gz", t.labels.numpy())
    classes = emnist.load_sample("train").classes
    (folder / f"{emnist.PREFIX}-mapping.txt").write_text("".join(f"{i} {ord(c)}\n" for i, c in enumerate(classes)))
    return folder


def demo(out: Path, epochs: int = 6, device: str = "auto", resume: bool = False, quiet: bool = False) -> Path:
    from cnnlab.report.html import write_report
    out = Path(out)
    data = write_sample(out / "data")
    cfg = TrainConfig.from_dict({**TrainConfig().to_dict(), **defaults("emnist", "demo"), "dataset": "emnist",
                                 "data": str(data), "epochs": epochs, "device": device,
                                 "resume": resume, "quiet": quiet, "cache_dir": str(out / "cache")})
    compare(cfg, out)
    return write_report([out / m for m in ("mlp", "cnn", "cnn-factorized")], out / "report.html",
                        title="cnnlab demo: MLP vs CNN vs factorized CNN on an EMNIST sample",
                        extra_markdown=(out / "comparison.md").read_text())
