"""Train a run, or reuse it when it already finished with the same configuration: a hand-in built twice trains
nothing twice, and a killed one continues where it stopped (an unfinished run resumes from its last.pt)."""

from __future__ import annotations

import json
from pathlib import Path

from cnnlab.engine.config import TrainConfig, config_for_run
from cnnlab.engine.runfolder import RunFolder
from cnnlab.errors import RunError, UsageError

# Fields that do not change what a run computes (paths, devices, logging, how often it checkpoints).
NOT_RESULT = {"data", "out", "resume", "quiet", "cache_dir", "device", "download", "checkpoint_steps", "max_steps",
              "eval_batch_size"}


def differences(run: Path, cfg: TrainConfig) -> list[str]:
    """The result-defining settings of `cfg` that the finished run in `run` was made with differently."""
    saved = json.loads(RunFolder(run).config.read_text())
    want = cfg.to_dict()
    return [f"{k}: {saved.get(k)!r} there, {want[k]!r} here" for k in want
            if k not in NOT_RESULT and saved.get(k) != want[k]]


def finished(run: Path) -> bool:
    folder = RunFolder(run)
    return folder.metrics.exists() and folder.best.exists()


def train_or_reuse(cfg: TrainConfig, say=print) -> dict:
    """The test metrics of cfg's run: read from its folder when it finished with the same settings, else trained
    (continuing from last.pt when a previous attempt was killed)."""
    from cnnlab.engine.train import train
    run = Path(cfg.out)
    if finished(run):
        diff = differences(run, cfg)
        if diff:
            raise UsageError(f"{run} holds a finished run made with other settings ({'; '.join(diff[:3])}); "
                             "remove that folder (or use another output folder) to train this one")
        say(f"reusing the finished run {run}")
        return json.loads(RunFolder(run).metrics.read_text())
    result = train(config_for_run(cfg, resume=True))  # continues a started run, or starts it
    if result.get("stopped"):
        raise RunError(f"{run}: training was stopped; run the same command again to continue it")
    return json.loads(RunFolder(run).metrics.read_text())
