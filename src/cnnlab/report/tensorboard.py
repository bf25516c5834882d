"""TensorBoard on the tb/ folders of run folders, one named run each (--logdir_spec name:RUN/tb,...)."""

from __future__ import annotations

import re
from pathlib import Path

from cnnlab.engine.runfolder import RunFolder
from cnnlab.errors import DataError, UsageError


def logdir_spec(runs: list[Path]) -> str:
    """`name:RUN/tb,...` with short unique names (':' and ',' would break the spec, so they are replaced)."""
    from cnnlab.report.runs import names
    folders = []
    for r in map(Path, runs):
        if not RunFolder(r).tb.is_dir():
            raise DataError(f"{r}: no tb/ folder; give run folders written by 'cnnlab train --out'")
        folders.append(r)
    return ",".join(f"{re.sub(r'[:,]', '_', n)}:{RunFolder(r).tb.resolve()}"
                    for n, r in zip(names(folders), folders))


def start(runs: list[Path], host: str = "127.0.0.1", port: int = 6006) -> str:
    """Start TensorBoard in a background thread of this process; returns its address."""
    from tensorboard import program
    spec = logdir_spec(runs)
    tb = program.TensorBoard()
    tb.configure(argv=[None, "--logdir_spec", spec, "--host", host, "--port", str(port)])
    try:
        return tb.launch()
    except program.TensorBoardServerException as e:
        raise UsageError(f"--port {port}: TensorBoard could not listen on {host}:{port} ({e.msg}); "
                        "choose another --port (0 = any free one)") from None
