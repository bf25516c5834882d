"""A grid of alpha and tau: one short student run per pair (out/alpha<A>-tau<T>/), then sweep.json, sweep.md (the
table, best marked) and sweep.png (a heatmap). The best pair is the one with the best validation accuracy (the
epoch each run kept); test accuracy is reported beside it, never read by the choice (a run without a validation
split falls back to test accuracy, and sweep.json's `chosen_by` says so). The teacher is loaded once for the whole
grid; without augmentation its logits are computed once for all runs. With `resume`, finished runs are reused once
checked to have been made with the same options and teacher files (sha256); a grid all finished needs no teacher logits.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cnnlab.distill.loss import check
from cnnlab.distill.student import VIEWS
from cnnlab.engine.checkpoint import atomic_write_json, atomic_write_text
from cnnlab.engine.config import TrainConfig, config_for_run
from cnnlab.engine.logging import log
from cnnlab.engine.runfolder import RunFolder
from cnnlab.page.numbers import number


def run_name(alpha: float, tau: float) -> str:
    return f"alpha{alpha:g}-tau{tau:g}"


def sweep(base: TrainConfig, teacher: str, alphas: list[float], taus: list[float], out: Path,
          t2_scale: bool = False, teacher_flip: bool = False, teacher_targets: str = "augmented",
          teacher_views: int = VIEWS) -> dict:
    """Train base's student for every (alpha, tau) into out/alpha<A>-tau<T>; returns the sweep.json dict."""
    from cnnlab.distill.student import check_same, distill_info, teacher_logits, train_student, views_option
    for a in alphas:
        for t in taus:
            check(a, t)
    out = Path(out)
    grid = [(alpha, tau, out / run_name(alpha, tau)) for alpha in alphas for tau in taus]
    finished = {run for _, _, run in grid if base.resume and RunFolder(run).metrics.exists()}
    for alpha, tau, run in grid:  # a finished run made with other options or teacher files is refused at once
        if run in finished:
            check_same(run, distill_info(teacher, alpha, tau, t2_scale, teacher_flip, teacher_targets, teacher_views))
    to_train = [alpha for alpha, _, run in grid if run not in finished]
    logits_of = teacher_logits(base, teacher, teacher_flip, teacher_targets, teacher_views) \
        if to_train and min(to_train) < 1 else None
    rows = []
    for alpha, tau, run in grid:
        if run in finished:
            log(f"sweep: alpha {alpha:g}, tau {tau:g}: finished run found in {run}, reusing it", base.quiet)
        else:
            log(f"=== sweep: alpha {alpha:g}, tau {tau:g} ===", base.quiet)
            result = train_student(config_for_run(base, out=str(run)), teacher, alpha, tau, t2_scale, logits_of,
                                   teacher_flip, teacher_targets, teacher_views)
            if result.get("stopped"):
                return {"stopped": True}
        m = json.loads(RunFolder(run).metrics.read_text())
        rows.append({"alpha": alpha, "tau": tau, "val_accuracy": RunFolder(run).best_val_accuracy(),
                     "accuracy": m["accuracy"], "f1_macro": m["f1_macro"],
                     "precision_macro": m["precision_macro"], "recall_macro": m["recall_macro"],
                     "epochs": base.epochs, "seconds": m["train_seconds"], "run": str(run)})
    chosen_by = "val_accuracy" if all(r["val_accuracy"] is not None for r in rows) else "accuracy"
    best = max(rows, key=lambda r: r[chosen_by])
    result = {"teacher": str(teacher), "t2_scale": t2_scale, "teacher_flip": teacher_flip,
              "teacher_targets": teacher_targets, **views_option(teacher_targets, teacher_views),
              "dataset": base.dataset, "epochs": base.epochs, "runs": rows,
              "chosen_by": chosen_by,
              "best": {k: best[k] for k in ("alpha", "tau", "val_accuracy", "accuracy", "f1_macro", "run")}}
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun every process knows the result; process 0 writes it
        return result
    atomic_write_json(out / "sweep.json", result)
    atomic_write_text(out / "sweep.md", markdown(result, alphas, taus))
    heatmap(result, alphas, taus, out / "sweep.png")
    return result


CHOSEN_BY = {"val_accuracy": "validation accuracy", "accuracy": "test accuracy (no validation split)"}


def markdown(result: dict, alphas: list[float], taus: list[float]) -> str:
    best, key = result["best"], result["chosen_by"]
    score = {(r["alpha"], r["tau"]): r[key] for r in result["runs"]}
    epochs = f"{result['epochs']} epoch{'s' if result['epochs'] != 1 else ''}"
    scaled = "scaled by tau²" if result["t2_scale"] else "not scaled by tau²"
    lines = [f"# Distillation sweep: alpha and tau ({epochs} each)", "",
             f"Teacher: `{result['teacher']}`; soft term {scaled}. The grid gives each student's "
             f"{CHOSEN_BY[key]} (the epoch its run kept), which chooses the best, in **bold**; the test accuracy "
             "below is reported only.", "",
             "| alpha \\ tau | " + " | ".join(f"{t:g}" for t in taus) + " |", "|---|" + "---:|" * len(taus)]
    for a in alphas:
        cells = []
        for t in taus:
            text = number(score.get((a, t)), ".4f", dash="-")
            cells.append(f"**{text}**" if (a, t) == (best["alpha"], best["tau"]) else text)
        lines.append(f"| {a:g} | " + " | ".join(cells) + " |")
    lines += ["", "| alpha | tau | validation accuracy | test accuracy | test macro F1 | epochs | seconds |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["runs"]:
        mark = " (best)" if (r["alpha"], r["tau"]) == (best["alpha"], best["tau"]) else ""
        lines.append(f"| {r['alpha']:g} | {r['tau']:g} | {number(r['val_accuracy'], '.4f', dash='-')}{mark} | "
                     f"{r['accuracy']:.4f} | {r['f1_macro']:.4f} | {r['epochs']} | {r['seconds']:.1f} |")
    lines += ["", f"Best: alpha {best['alpha']:g}, tau {best['tau']:g}: {CHOSEN_BY[key]} {best[key]:.4f}, "
              f"test accuracy {best['accuracy']:.4f} (`{best['run']}`).", ""]
    return "\n".join(lines)


def heatmap(result: dict, alphas: list[float], taus: list[float], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    key = result["chosen_by"]
    acc = {(r["alpha"], r["tau"]): r[key] for r in result["runs"]}
    grid = np.array([[acc.get((a, t), np.nan) for t in taus] for a in alphas])
    fig, ax = plt.subplots(figsize=(1.2 * len(taus) + 2.5, 0.8 * len(alphas) + 1.8))
    im = ax.imshow(grid, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(taus)), [f"{t:g}" for t in taus])
    ax.set_yticks(range(len(alphas)), [f"{a:g}" for a in alphas])
    ax.set_xlabel("tau (temperature)")
    ax.set_ylabel("alpha (weight of the hard labels)")
    best = result["best"]
    for i, a in enumerate(alphas):
        for j, t in enumerate(taus):
            if not np.isnan(grid[i, j]):
                is_best = (a, t) == (best["alpha"], best["tau"])
                ax.text(j, i, f"{grid[i, j]:.3f}" + ("\nbest" if is_best else ""), ha="center", va="center",
                        color="white" if grid[i, j] < np.nanmean(grid) else "black",
                        fontweight="bold" if is_best else "normal", fontsize=9)
    score_name = CHOSEN_BY[key].split(" (")[0]
    fig.colorbar(im, ax=ax, label=score_name)
    ax.set_title(f"student {score_name} after {result['epochs']} epoch{'s' if result['epochs'] != 1 else ''}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
