"""One command that proves cnnlab on CUDA and measures it; docs/gpu.md says how to run it and what each figure is.

    PYTHONPATH=src python -m benchmarks.gpu_suite --data-root DIR               any CUDA machine (8 minutes)
    python3 -m benchmarks.gpu_suite --unpack .device/part1 --copy-to $OUT       the project's device tool
    PYTHONPATH=src python -m benchmarks.gpu_suite --smoke --data-root DIR       the same steps on the CPU, toy size

DIR holds fer2013/ (Kaggle layout), emnist/ (or emnist-byclass-reduced/) and cifar10/, as scripts/pack_for_device.py
lays them out. The steps, in order, each through the real command line in a subprocess:
  1. every training path for a few hundred steps: train emnist (mlp, cnn, cnn-factorized), train fer2013, train
     cifar10 (mobilenetv2-cifar), distill teacher (linear probe, fine-tuning), distill student, a run stopped by
     --max-steps and continued by --resume, and torchrun (NCCL on CUDA); each must end with a falling training loss,
     metrics.json, best.pt, TensorBoard events and plots;
  2. the training data path against a DataLoader of per-sample tensors (benchmarks/speed/emnist_throughput.py);
  3. training images/s of MobileNetV2 at 32 px and ResNet-50 at 224 px (benchmarks/speed/train_speed.py);
  4. the FER-2013 recipe trained in full, in what is left of the time budget (stopped and evaluated when it runs out).
Results: gpu_suite.json, gpu_training_paths.json, gpu_fer2013_recipe.json, emnist_throughput_cuda.json and
train_speed_cuda.json in benchmarks/results/ (with --smoke in WORK/results/: a smoke run never touches the recorded
figures). A failed step is recorded and the suite goes on; it exits 1 if any step failed.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import RESULTS, ROOT
from scripts.pack_for_device import unpack  # it puts this checkout's src/ first on sys.path (the device tool's call)

BAR = {"accuracy": 0.72, "seconds": 600}  # the FER-2013 goal on a GPU: >= 72% on PublicTest in under 10 minutes


@dataclass(frozen=True)
class Sizes:
    """Options that size each step: a few hundred steps on a GPU, a few on the CPU (--smoke)."""
    device: str
    emnist: list
    fer: list
    cifar: list
    probe: list
    finetune: list
    student: list
    stop_at: int  # --max-steps of the run that is stopped, then resumed
    throughput: list
    speed: list
    recipe: list  # added to the FER-2013 recipe (nothing on a GPU: the recipe as it is)
    step_timeout: int  # no command may take longer (a hang must not eat the device call)
    budget: float | None  # seconds for the whole suite; None: no budget (--smoke: a slow CPU must not fail it)
    reserve: int  # seconds kept back from the FER-2013 recipe: stopping it (30 s at most), evaluating it (60)


CIFAR_SLICE = ["--limit-train", "2000", "--limit-test", "500"]  # what scripts/pack_for_device.py packs (at most)
GPU = Sizes("cuda",
            emnist=["--epochs", "6", "--limit-train", "12000"],  # 43 steps an epoch
            fer=["--epochs", "4", "--limit-train", "8000"],  # 57 steps an epoch
            cifar=["--epochs", "15", *CIFAR_SLICE],  # 15 steps an epoch
            probe=["--weights", "none", "--image-size", "64", "--epochs", "20", *CIFAR_SLICE],
            finetune=["--weights", "none", "--image-size", "64", "--epochs", "12", *CIFAR_SLICE],
            student=["--epochs", "15", *CIFAR_SLICE],
            stop_at=100,
            throughput=["--device", "cuda", "--steps", "100", "--workers", "4"],
            speed=["--device", "cuda", "--steps", "30"],
            recipe=[], step_timeout=180, budget=480, reserve=90)
TOY_CIFAR = ["--limit-train", "48", "--limit-test", "50", "--batch-size", "16"]
SMOKE = Sizes("cpu",  # toy data memorised: smaller batches and learning rates than the recipes, more epochs
              emnist=["--epochs", "3", "--limit-train", "600", "--limit-test", "300", "--batch-size", "64"],
              fer=["--epochs", "5", "--limit-train", "160", "--limit-test", "50", "--batch-size", "16", "--width", "8",
                   "--lr", "0.005"],
              cifar=["--epochs", "5", *TOY_CIFAR, "--lr", "0.01"],
              probe=["--weights", "none", "--image-size", "32", "--epochs", "5", "--limit-train", "48",
                     "--limit-test", "50"],
              finetune=["--weights", "none", "--image-size", "32", "--epochs", "5", *TOY_CIFAR, "--lr", "0.002"],
              student=["--epochs", "5", *TOY_CIFAR, "--lr", "0.01"],
              stop_at=5,
              throughput=["--device", "cpu", "--steps", "2", "--warmup", "1", "--batch-size", "64", "--workers", "1"],
              speed=["--device", "cpu", "--steps", "1", "--warmup", "1", "--batch-size", "4", "--teacher-size", "32"],
              recipe=["--epochs", "2", "--limit-train", "200", "--limit-test", "100", "--batch-size", "32",
                      "--width", "8"],
              step_timeout=1800, budget=None, reserve=0)


@dataclass
class Suite:
    sizes: Sizes
    data: Path
    work: Path
    results: Path
    copy_to: Path | None
    start: float = field(default_factory=time.perf_counter)
    steps: list = field(default_factory=list)  # one row per step: name, status, seconds, detail
    options: str = ""  # `cnnlab train fer2013 --help`: which options this checkout's training commands have
    lines: list = field(default_factory=list)  # the progress lines, for gpu_suite.log

    # -- progress, time, records -----------------------------------------------------------------------------------
    def say(self, msg: str) -> None:
        line = f"[{time.perf_counter() - self.start:6.1f}s] {msg}"
        self.lines.append(line)
        print(line, flush=True)

    def remaining(self) -> float:
        if self.sizes.budget is None:
            return math.inf
        return self.sizes.budget - (time.perf_counter() - self.start)

    def record(self, name: str, status: str, seconds: float, detail: str = "") -> None:
        self.steps.append({"step": name, "status": status, "seconds": round(seconds, 1), "detail": detail})
        self.say(f"{name}: {status.upper()} in {seconds:.1f}s" + (f" - {detail}" if detail else ""))

    def write(self, name: str, results, note: str = "", **extra) -> None:
        from benchmarks.common import write
        write(name, results, self.sizes.device, note, folder=self.results, echo=False, **extra)
        self.publish()

    def publish(self) -> None:
        """Copy the records and the logs to --copy-to (the device tool brings that folder back, even after a kill)."""
        if self.copy_to is None:
            return
        self.copy_to.mkdir(parents=True, exist_ok=True)
        for name in records(self.sizes.device):
            if (self.results / f"{name}.json").exists():
                shutil.copy(self.results / f"{name}.json", self.copy_to)
        (self.copy_to / "gpu_suite.log").write_text("\n".join(self.lines) + "\n")
        logs = sorted((self.work / "logs").glob("*.log"), key=lambda p: p.stat().st_mtime)
        (self.copy_to / "steps.log").write_text("".join(f"===== {p.stem}\n{p.read_text(errors='replace')[-20_000:]}\n"
                                                        for p in logs))

    # -- running the command line ----------------------------------------------------------------------------------
    def env(self, **extra) -> dict:
        pythonpath = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
        e = {**os.environ, "PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg",
             "CNNLAB_RESULTS_DIR": str(self.results)}
        e.setdefault("CNNLAB_CACHE_DIR", str(self.work / "cache"))
        return {**e, **extra}

    def run(self, slug: str, argv: list, timeout: float, **env) -> tuple[int, str, float]:
        """(exit status, output, seconds) of one command; its output also goes to WORK/logs/SLUG.log."""
        log = self.work / "logs" / f"{slug}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        with open(log, "w") as f:
            f.write("$ " + " ".join(map(str, argv)) + "\n")
            f.flush()
            try:
                rc = subprocess.run(list(map(str, argv)), cwd=ROOT, env=self.env(**env), stdout=f,
                                    stderr=subprocess.STDOUT, timeout=max(1.0, timeout)).returncode
            except subprocess.TimeoutExpired:
                rc = 124
        out = log.read_text(errors="replace")
        if rc == 124:
            out += f"\n(stopped by the suite after {timeout:.0f}s)"
        return rc, out, time.perf_counter() - t0

    def cnnlab(self, slug: str, args: list, timeout: float, **env) -> tuple[int, str, float]:
        return self.run(slug, [sys.executable, "-m", "cnnlab", *args], timeout, **env)

    def timeout(self) -> float:
        return min(self.sizes.step_timeout, self.remaining())

    def has(self, option: str) -> bool:
        """Whether the training commands take `option` (--recipe and --ema came later than this suite)."""
        if not self.options:
            self.options = self.cnnlab("train-help", ["train", "fer2013", "--help"], 60)[1]
        return option in self.options

    def out_of_time(self, name: str) -> bool:
        """True (and the step recorded as skipped) when the budget is spent."""
        if self.remaining() > 0:
            return False
        self.record(name, "skipped", 0.0, "the suite's time budget is spent")
        return True


def records(device: str) -> list[str]:
    """The result files a run of the suite writes (with the logs, 7 files: the device tool brings back 8)."""
    return ["gpu_suite", "gpu_training_paths", "gpu_fer2013_recipe", f"emnist_throughput_{device}",
            f"train_speed_{device}"]


def tail(text: str, n: int = 12) -> str:
    lines = [ln.rsplit("\r", 1)[-1] for ln in text.strip().splitlines()]
    return "\n".join("    " + ln for ln in lines[-n:])


# ---------------------------------------------------------------------------------------------------------------
# 1. Training paths

def data_dirs(root: Path) -> dict[str, Path]:
    emnist = next((root / n for n in ("emnist", "emnist-byclass-reduced") if (root / n).is_dir()), root / "emnist")
    return {"emnist": emnist, "fer2013": root / "fer2013", "cifar10": root / "cifar10"}


def check_run(run: Path) -> tuple[dict, list[str]]:
    """What the run folder shows, and what is wrong with it: the training loss must fall from the first epoch to
    the last, and metrics.json, best.pt, TensorBoard events and both plots must be there."""
    row, problems = {}, []
    try:
        with open(run / "history.csv") as f:
            losses = [float(r["train_loss"]) for r in csv.DictReader(f)]
    except (OSError, KeyError, ValueError):
        losses = []
    if len(losses) >= 2:
        row.update(epochs=len(losses), first_loss=round(losses[0], 4), last_loss=round(losses[-1], 4))
        if not losses[-1] < losses[0]:
            problems.append(f"training loss did not fall ({losses[0]:.4f} -> {losses[-1]:.4f})")
    else:
        problems.append(f"history.csv has {len(losses)} epoch(s); 2 or more are needed to see the loss fall")
    try:
        m = json.loads((run / "metrics.json").read_text())
        row.update(accuracy=round(m["accuracy"], 4), images_per_second=m.get("images_per_second"))
        if sum(map(sum, m["confusion_matrix"])) != m["num_samples"]:
            problems.append("metrics.json: the confusion matrix does not add up to num_samples")
    except (OSError, KeyError, ValueError, TypeError):
        problems.append("no readable metrics.json")
    try:
        cfg = json.loads((run / "config.json").read_text())
        row["steps"] = math.ceil(cfg["samples"]["train"] / cfg["batch_size"]) * cfg["epochs"]
    except (OSError, KeyError, ValueError, TypeError):
        problems.append("no readable config.json")
    missing = [f for f in ("best.pt", "plots/curves.png", "plots/confusion_matrix.png") if not (run / f).is_file()]
    if not any((run / "tb").glob("events.out.tfevents.*")):
        missing.append("tb/events.out.tfevents.*")
    if missing:
        problems.append("missing " + ", ".join(missing))
    return row, problems


def training_paths(suite: Suite) -> None:
    s, d, runs = suite.sizes, data_dirs(suite.data), suite.work / "runs"
    dev = ["--device", s.device]
    paths = [(f"train emnist {m}", f"emnist-{m}", ["train", "emnist", "--data", d["emnist"], "--model", m, *s.emnist])
             for m in ("mlp", "cnn", "cnn-factorized")]
    recipe = ["--recipe", "gpu"] if suite.has("--recipe") else []  # the GPU recipe on the CPU too (--smoke)
    paths += [("train fer2013", "fer2013", ["train", "fer2013", "--data", d["fer2013"], *recipe, *s.fer]),
              ("train cifar10 mobilenetv2-cifar", "cifar10-mobilenetv2",
               ["train", "cifar10", "--data", d["cifar10"], "--model", "mobilenetv2-cifar", *s.cifar]),
              ("distill teacher --mode linear-probe", "teacher-probe",
               ["distill", "teacher", "--mode", "linear-probe", "--data", d["cifar10"], *s.probe]),
              ("distill teacher --mode finetune", "teacher-finetune",
               ["distill", "teacher", "--mode", "finetune", "--data", d["cifar10"], *s.finetune]),
              ("distill student", "student",
               ["distill", "student", "--teacher", runs / "teacher-finetune", "--data", d["cifar10"], *s.student])]
    steps = [(name, lambda slug=slug, args=args, name=name: plain_path(suite, name, slug, args, runs, dev))
             for name, slug, args in paths]
    steps += [("--resume after a stop", lambda: resume_path(suite, d["emnist"], runs / "resume", dev)),
              ("torchrun", lambda: torchrun_path(suite, d["emnist"], runs / "torchrun", dev))]
    rows = []
    for name, step in steps:
        rows.append({"path": name, "status": "skipped"} if suite.out_of_time(name) else step())
        suite.write("gpu_training_paths", rows, note="each path: history.csv (loss per epoch), metrics.json, best.pt, "
                                                     "tb/ and plots/ checked; steps = optimiser steps of the run")


def plain_path(suite: Suite, name: str, slug: str, args: list, runs: Path, dev: list) -> dict:
    rc, out, seconds = suite.cnnlab(slug, [*args, "--out", runs / slug, *dev], suite.timeout())
    return path_row(suite, name, "cnnlab " + " ".join(map(str, args + dev)), runs / slug, rc, out, seconds)


def path_row(suite: Suite, name: str, command: str, run: Path, rc: int, out: str, seconds: float,
             problems: list | None = None) -> dict:
    row, found = check_run(run)
    problems = [f"exit status {rc}"] * (rc != 0) + (problems or []) + found
    row = {"path": name, "status": "failed" if problems else "ok", **row, "seconds": round(seconds, 1),
           "check": "; ".join(problems) or "loss falls, metrics written", "command": command}
    detail = row["check"] if problems else (f"loss {row.get('first_loss')} -> {row.get('last_loss')}, "
                                            f"{row.get('steps')} steps, test accuracy {row.get('accuracy')}")
    suite.record(name, row["status"], seconds, detail)
    if problems:
        print(tail(out), flush=True)
    return row


def resume_path(suite: Suite, emnist: Path, run: Path, dev: list) -> dict:
    """A run stopped by --max-steps (last.pt, no metrics.json yet), then the same command with --resume; with a
    moving average of the weights (--ema), whose state last.pt must carry too."""
    name = "--resume after a stop"
    ema = ["--ema", "0.99"] if suite.has("--ema") else []
    args = ["train", "emnist", "--data", emnist, "--model", "cnn", *suite.sizes.emnist, *ema, "--out", run, *dev]
    rc1, out1, t1 = suite.cnnlab("resume-1-stop", [*args, "--max-steps", suite.sizes.stop_at], suite.timeout())
    problems = []
    if rc1 != 0 or f"stopped after {suite.sizes.stop_at} steps" not in out1 or not (run / "last.pt").is_file() \
            or (run / "metrics.json").exists():
        problems.append(f"the run stopped by --max-steps {suite.sizes.stop_at} did not leave last.pt without "
                        f"metrics.json (exit {rc1})")
    rc2, out2, t2 = suite.cnnlab("resume-2-continue", [*args, "--resume"], suite.timeout())
    if "resumed from" not in out2:
        problems.append("the second command did not resume from last.pt")
    command = "cnnlab " + " ".join(map(str, args)) + f" --max-steps {suite.sizes.stop_at}; then the same with --resume"
    return path_row(suite, name, command, run, rc1 or rc2, out1 + out2, t1 + t2, problems)


def torchrun_path(suite: Suite, emnist: Path, run: Path, dev: list) -> dict:
    """torchrun with one process per GPU (one on the CPU): the process group is NCCL on CUDA, gloo on the CPU."""
    n = max(1, gpu_count()) if suite.sizes.device == "cuda" else 1
    backend = "nccl" if suite.sizes.device == "cuda" else "gloo"
    args = ["train", "emnist", "--data", emnist, "--model", "cnn", *suite.sizes.emnist, "--out", run, *dev]
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}",
            "-m", "cnnlab", *args]
    rc, out, seconds = suite.run("torchrun", argv, suite.timeout(), NCCL_DEBUG="INFO")
    problems = []
    try:
        cfg = json.loads((run / "config.json").read_text())
        if cfg["environment"].get("distributed_backend") != backend or cfg["world_size"] != n:
            problems.append(f"config.json: backend {cfg['environment'].get('distributed_backend')}, world "
                            f"{cfg['world_size']}; expected {backend}, {n}")
    except (OSError, KeyError, ValueError):
        pass  # check_run names the missing config.json
    if backend == "nccl" and "NCCL INFO" not in out:
        problems.append("NCCL_DEBUG=INFO printed nothing: NCCL was not used")
    command = f"torchrun --standalone --nproc_per_node={n} -m cnnlab " + " ".join(map(str, args))
    return path_row(suite, f"torchrun --nproc_per_node={n} ({backend})", command, run, rc, out, seconds, problems)


def gpu_count() -> int:
    import torch
    return torch.cuda.device_count()


# ---------------------------------------------------------------------------------------------------------------
# 2, 3. Benchmarks of their own (they write their own records)

def benchmark(suite: Suite, name: str, module: str, args: list, record: str, summary) -> None:
    if suite.out_of_time(name):
        return
    rc, out, seconds = suite.run(module.rsplit(".", 1)[-1], [sys.executable, "-m", module, *args], suite.timeout())
    path = suite.results / f"{record}.json"
    if rc != 0 or not path.exists():
        suite.record(name, "failed", seconds, f"exit status {rc}")
        print(tail(out), flush=True)
        return
    suite.record(name, "ok", seconds, summary(json.loads(path.read_text())["results"]))
    suite.publish()


def throughput_summary(rows: list) -> str:
    return "; ".join(f"{r['model']}: {r['cnnlab_images_per_s']:,.0f} vs DataLoader {r['dataloader_images_per_s']:,.0f} "
                     f"images/s = {r['speedup']}x (target 5x)" for r in rows)


def speed_summary(rows: list) -> str:
    return "; ".join(f"{r['model']} {r['image_size']}px {r['mode']}: {r['images_per_s']:,.0f} images/s" for r in rows)


# ---------------------------------------------------------------------------------------------------------------
# 4. The FER-2013 recipe in full, inside the budget

def history(run: Path) -> list[dict]:
    try:
        with open(run / "history.csv") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def watch(suite: Suite, argv: list, log: Path, run: Path, budget: float) -> tuple[float, bool]:
    """Run `argv`, saying each finished epoch; past `budget` seconds send SIGINT (cnnlab saves last.pt and stops),
    30 s later kill it. Returns (wall seconds, whether it was stopped)."""
    t0, stopped, seen = time.perf_counter(), False, 0
    with open(log, "w") as f:
        f.write("$ " + " ".join(map(str, argv)) + "\n")
        f.flush()
        proc = subprocess.Popen(list(map(str, argv)), cwd=ROOT, env=suite.env(), stdout=f, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            time.sleep(1)
            rows = history(run)
            if len(rows) > seen:
                seen, r = len(rows), rows[-1]
                suite.say(f"  epoch {r['epoch']}: val acc {r['val_acc']}, test acc {r['test_acc']}")
            if time.perf_counter() - t0 > budget and not stopped:
                suite.say("  the budget is spent: stopping the run (SIGINT: it saves last.pt and stops)")
                proc.send_signal(signal.SIGINT)
                stopped = True
            if stopped and time.perf_counter() - t0 > budget + 30:
                proc.kill()
    return time.perf_counter() - t0, stopped


def recipe_figures(suite: Suite, run: Path, fer: Path, wall: float) -> dict:
    """Epochs, accuracy of best.pt on PublicTest (evaluated here when the run was stopped) and the bar."""
    rows, res = history(run), {}
    res["epochs_done"] = len(rows)
    try:
        res["epochs_planned"] = json.loads((run / "config.json").read_text())["epochs"]
    except (OSError, KeyError, ValueError):
        pass
    finished = (run / "metrics.json").exists()
    if rows:
        res["mean_epoch_seconds"] = round(sum(float(r["seconds"]) for r in rows) / len(rows), 2)
        if not finished and "epochs_planned" in res:
            res["projected_train_seconds"] = round(res["mean_epoch_seconds"] * res["epochs_planned"], 1)
    if finished:
        m = json.loads((run / "metrics.json").read_text())
        res.update(accuracy=round(m["accuracy"], 4), tta=m.get("tta", "none"), best_epoch=m["best_epoch"],
                   train_seconds=m["train_seconds"], bar_met=m["accuracy"] >= BAR["accuracy"] and wall < BAR["seconds"])
    elif (run / "best.pt").exists():
        rc, _, _ = suite.cnnlab("fer2013-recipe-eval", ["eval", run, "--data", fer, "--split", "test", "--device",
                                                         suite.sizes.device, "--out", run / "eval_test.json"], 60)
        if rc == 0:
            m = json.loads((run / "eval_test.json").read_text())
            res.update(accuracy=round(m["accuracy"], 4), tta="none (cnnlab eval)", best_epoch=m["best_epoch"],
                       bar_met=None)
    return res


def fer_recipe(suite: Suite) -> None:
    name, run, fer = "FER-2013 recipe in full", suite.work / "runs" / "fer2013-recipe", data_dirs(suite.data)["fer2013"]
    recipe = ["--recipe", "gpu"] if suite.has("--recipe") else []  # before named recipes: the default recipe
    args = ["train", "fer2013", "--data", fer, *recipe, *suite.sizes.recipe, "--device", suite.sizes.device]
    # what is left of the budget; without one, the longest a command may take
    budget = suite.sizes.step_timeout if suite.sizes.budget is None else suite.remaining() - suite.sizes.reserve
    if budget < 30:  # not even an epoch
        suite.record(name, "skipped", 0.0, f"{max(0, budget):.0f}s of the budget left")
        return
    suite.say(f"{name}: {'--recipe gpu' if recipe else 'the default recipe (no --recipe option here)'}, "
              f"{budget:.0f}s at most")
    log = suite.work / "logs" / "fer2013-recipe.log"
    wall, stopped = watch(suite, [sys.executable, "-m", "cnnlab", *args, "--out", run], log, run, budget)
    res = {"recipe": "gpu" if recipe else "default of cnnlab train fer2013",
           "finished": (run / "metrics.json").exists(),
           "stopped_by_budget": stopped, "budget_seconds": round(budget, 1), "wall_seconds": round(wall, 1),
           **recipe_figures(suite, run, fer, wall)}
    status = "ok" if res["finished"] or (stopped and "accuracy" in res) else "failed"
    detail = (f"test accuracy {res.get('accuracy')} after {res['epochs_done']}/{res.get('epochs_planned')} epochs in "
              f"{wall:.0f}s" + (" (stopped by the budget: see projected_train_seconds)" if stopped else ""))
    note = (f"the whole recipe on the FER-2013 train split, accuracy of best.pt (picked on validation) on PublicTest "
            f"(test/); wall_seconds is the command's (decoded data already cached); the suite gave it "
            f"{budget:.0f}s" + ("; the budget ran out first, so the run was stopped and its best checkpoint evaluated"
                                if stopped else ""))
    suite.write("gpu_fer2013_recipe", res, note=note, command="cnnlab " + " ".join(map(str, args)) + " --out RUN")
    suite.record(name, status, wall, detail)
    if status == "failed":
        print(tail(log.read_text(errors="replace")), flush=True)


# ---------------------------------------------------------------------------------------------------------------

def environment(device: str) -> dict:
    """The versions, and on CUDA the GPU (cnnlab.environment's description)."""
    from cnnlab.environment import environment as describe
    full = describe()
    env = {k: full[k] for k in ("torch", "torchvision", "python")}
    if device == "cuda":
        env.update(gpu=full["cuda_device"], cuda=full["cuda_version"], gpus=full["cuda_devices"])
    return env


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="the same steps on the CPU at toy size (a test runs this)")
    ap.add_argument("--data-root", help="folder holding fer2013/, emnist/ and cifar10/ (default /tmp/cnnlab-data, "
                                        "where --unpack puts them)")
    ap.add_argument("--unpack", nargs="+", metavar="PART",
                    help="first unpack these parts of scripts/pack_for_device.py")
    ap.add_argument("--work", help="run folders, logs and the decoded-data cache (default /tmp/cnnlab-suite)")
    ap.add_argument("--results",
                    help="where the result files go (default benchmarks/results; with --smoke WORK/results)")
    ap.add_argument("--copy-to", help="also copy the result files and the logs here after every step (the device "
                                      "tool's $OUT)")
    ap.add_argument("--budget-s", type=int, help="wall-time budget of the whole suite (default 480 on a GPU)")
    args = ap.parse_args(argv)
    sizes = SMOKE if args.smoke else GPU
    if args.budget_s:
        sizes = dataclasses.replace(sizes, budget=args.budget_s)
    work = Path(args.work or "/tmp/cnnlab-suite")
    data = Path(args.data_root or "/tmp/cnnlab-data")
    results = Path(args.results) if args.results else (work / "results" if args.smoke else RESULTS)
    suite = Suite(sizes, data, work, results, Path(args.copy_to) if args.copy_to else None)
    if (work / "runs").exists():
        shutil.rmtree(work / "runs")  # every run starts anew (the cache stays)
    shutil.rmtree(work / "logs", ignore_errors=True)
    if args.unpack:
        missing = unpack([Path(p) for p in args.unpack], data)
        if missing:
            print(f"error: {data} lacks {', '.join(missing)}: unpack the earlier parts first, in calls that follow "
                  "each other while the machine is warm (docs/gpu.md)", file=sys.stderr)
            return 2
    if not all(p.is_dir() for p in data_dirs(data).values()):
        print(f"error: --data-root {data} must hold fer2013/, emnist/ and cifar10/ (scripts/pack_for_device.py "
              "writes them; --unpack PART puts them there)", file=sys.stderr)
        return 2
    if not args.smoke:
        import torch
        if not torch.cuda.is_available():
            print("error: no CUDA device here; run with --smoke for the CPU check of the same steps", file=sys.stderr)
            return 2
    env = environment(sizes.device)
    suite.say(f"cnnlab GPU suite{' (smoke: CPU, toy size)' if args.smoke else ''}: {json.dumps(env)}; data {data}; "
              + (f"budget {sizes.budget}s" if sizes.budget else "no time budget"))
    training_paths(suite)
    benchmark(suite, "data path vs DataLoader", "benchmarks.speed.emnist_throughput", sizes.throughput,
              f"emnist_throughput_{sizes.device}", throughput_summary)
    benchmark(suite, "training speed", "benchmarks.speed.train_speed", sizes.speed, f"train_speed_{sizes.device}",
              speed_summary)
    fer_recipe(suite)
    total = time.perf_counter() - suite.start
    failed = [s["step"] for s in suite.steps if s["status"] == "failed"]
    note = (f"{len(suite.steps)} steps, {len(failed)} failed, {total:.0f}s in all"
            + (f" (budget {sizes.budget}s)" if sizes.budget else "") + ("; smoke run on the CPU" if args.smoke else ""))
    suite.write("gpu_suite", suite.steps, note=note, environment=env)
    suite.say(f"done in {total:.0f}s: {len(suite.steps) - len(failed)} of {len(suite.steps)} steps ok"
              + (f"; FAILED: {', '.join(failed)}" if failed else "") + f"; results in {suite.results}")
    suite.publish()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
