"""`cnnlab distill compare`: the whole experiment in one folder, then one table.

    out/teacher-probe/        teacher, linear probe (frozen backbone, head on cached features)
    out/teacher-finetune/     teacher, fine-tuned (all layers, backbone at a lower learning rate)
    out/sweep/                students for every (alpha, tau), taught by the fine-tuned (or probe) teacher
    out/student/              the student with the best alpha and tau (the sweep's run when it had the same epochs)
    out/student-no-teacher/   the same student with the plain cross-entropy
    out/comparison.json|md    accuracy, macro precision and recall, parameters, training time, inference speed

The fine-tuned teacher and both students train for the same number of epochs. With `resume`, finished stages
are reused, so an interrupted comparison continues where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import torch

from cnnlab.engine.checkpoint import atomic_write_json, atomic_write_text
from cnnlab.engine.config import TrainConfig, config_for_run
from cnnlab.engine.logging import log
from cnnlab.engine.runfolder import RunFolder

COMMON = ("dataset", "data", "seed", "device", "val_fraction", "limit_train", "limit_test", "cache_dir", "download",
          "quiet", "resume", "checkpoint_steps", "eval_batch_size")


def teacher_config(base: TrainConfig, recipe: dict, out: Path, arch: str, epochs: int,
                   model_kwargs: dict) -> TrainConfig:
    return TrainConfig.from_dict({**TrainConfig().to_dict(), **recipe, **{k: getattr(base, k) for k in COMMON},
                                  "model": arch, "epochs": epochs, "out": str(out), "model_kwargs": model_kwargs})


def _finished(run: Path, resume: bool, quiet: bool) -> bool:
    if resume and RunFolder(run).metrics.exists():
        log(f"finished run found in {run}, reusing it", quiet)
        return True
    return False


@torch.inference_mode()
def inference_speed(model, images: torch.Tensor, device, batch_size: int = 256, min_seconds: float = 2.0) -> float:
    """Images per second of `model` in inference mode (autocast on CUDA) on batches of `images` (uint8)."""
    from cnnlab.data.tensors import to_float
    from cnnlab.engine.evaluate import autocast
    model.eval()
    x = to_float(images[:batch_size].to(device), channels_last=True)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with autocast(device):
        model(x)  # warm-up
        sync()
        n, t0 = 0, time.perf_counter()
        while True:
            model(x)
            n += len(x)
            sync()
            if time.perf_counter() - t0 >= min_seconds:
                break
    return n / (time.perf_counter() - t0)


def compare(student: TrainConfig, out: Path, teacher_arch: str = "resnet50", weights: str = "imagenet",
            image_size: int | None = None, probe_epochs: int = 30, alphas=(0.1, 0.5, 0.9), taus=(1.0, 2.0, 4.0, 8.0),
            sweep_epochs: int | None = None, t2_scale: bool = False, distill_from: str = "finetune",
            backbone_lr_scale: float | None = None) -> dict:
    """Run (or reuse) every stage into `out` and write comparison.json and comparison.md."""
    from cnnlab.distill import teacher as teacher_training
    from cnnlab.distill.student import check_same, distill_info, train_student
    from cnnlab.distill.sweep import sweep
    from cnnlab.experiments.distill import BACKBONE_LR_SCALE, FINETUNE, PROBE
    out = Path(out)
    size = image_size or teacher_training.default_image_size(weights)
    scale = BACKBONE_LR_SCALE if backbone_lr_scale is None else backbone_lr_scale
    runs = {"probe": out / "teacher-probe", "finetune": out / "teacher-finetune", "sweep": out / "sweep",
            "student": out / "student", "baseline": out / "student-no-teacher"}

    probe_cfg = teacher_config(student, PROBE, runs["probe"], teacher_arch, probe_epochs, {"image_size": size})
    if not _finished(runs["probe"], student.resume, student.quiet):
        log("=== teacher: linear probe ===", student.quiet)
        teacher_training.linear_probe(probe_cfg, weights)
    ft_kwargs = {"image_size": size, **({"backbone_lr_scale": scale} if scale != 1.0 else {})}
    ft_cfg = config_for_run(teacher_config(student, FINETUNE, runs["finetune"], teacher_arch, student.epochs,
                                           ft_kwargs))
    if not _finished(runs["finetune"], student.resume, student.quiet):
        log("=== teacher: fine-tuning ===", student.quiet)
        if teacher_training.finetune(ft_cfg, weights).get("stopped"):
            return {"stopped": True}
    teacher = str(runs["finetune"] if distill_from == "finetune" else runs["probe"])

    sweep_cfg = dataclasses.replace(student, epochs=sweep_epochs or student.epochs, out=str(runs["sweep"]))
    done = json.loads((runs["sweep"] / "sweep.json").read_text()) if (runs["sweep"] / "sweep.json").exists() else {}
    # a sweep.json written before the choice read validation accuracy ("chosen_by") is made again from its runs
    if student.resume and "chosen_by" in done and len(done.get("runs", [])) == len(alphas) * len(taus) and \
            (done["teacher"], done["t2_scale"], done["epochs"]) == (teacher, t2_scale, sweep_cfg.epochs):
        result = done  # else sweep() reuses what it can, and refuses runs trained with another teacher or loss
    else:
        result = sweep(sweep_cfg, teacher, list(alphas), list(taus), runs["sweep"], t2_scale)
        if result.get("stopped"):
            return {"stopped": True}
    best = result["best"]
    if sweep_cfg.epochs == student.epochs:
        runs["student"] = Path(best["run"])
    elif student.resume and RunFolder(runs["student"]).metrics.exists():
        check_same(runs["student"], distill_info(teacher, best["alpha"], best["tau"], t2_scale))
        log(f"finished run found in {runs['student']}, reusing it", student.quiet)
    else:
        log(f"=== student: alpha {best['alpha']:g}, tau {best['tau']:g} ===", student.quiet)
        train_student(config_for_run(student, out=str(runs["student"])), teacher, best["alpha"], best["tau"], t2_scale)
    if not _finished(runs["baseline"], student.resume, student.quiet):
        log("=== student without teacher ===", student.quiet)
        train_student(config_for_run(student, out=str(runs["baseline"])), None)

    if int(os.environ.get("RANK", "0")) != 0:
        return {}
    rows = [row("teacher (linear probe)", runs["probe"], student),
            row("teacher (fine-tuned)", runs["finetune"], student),
            row(f"student, distilled (alpha {best['alpha']:g}, tau {best['tau']:g})", runs["student"], student),
            row("student, no teacher", runs["baseline"], student)]
    table = {"dataset": student.dataset, "epochs": student.epochs, "probe_epochs": probe_epochs,
             "teacher_arch": teacher_arch, "weights": weights, "image_size": size, "distilled_from": distill_from,
             "t2_scale": t2_scale, "sweep": str(runs["sweep"] / "sweep.json"), "best": best, "models": rows,
             "device": str(_device(student))}
    atomic_write_json(out / "comparison.json", table)
    atomic_write_text(out / "comparison.md", markdown(table))
    return table


def _device(cfg: TrainConfig):
    from cnnlab.engine.distributed import pick_device
    return pick_device(cfg.device)


def row(name: str, run: Path, cfg: TrainConfig) -> dict:
    """One line of the table; inference speed is measured now, on the test images, on cfg's device."""
    from cnnlab import data
    from cnnlab.runs import load_model
    m = json.loads(RunFolder(run).metrics.read_text())
    dev = _device(cfg)
    model, ckpt = load_model(str(run), dev)
    images = data.load(cfg.dataset, cfg.data, "test", cache=cfg.cache_dir).images
    epochs = len(RunFolder(run).history.read_text().strip().splitlines()) - 1
    return {"model": name, "arch": ckpt["arch"], "run": str(run), "accuracy": m["accuracy"],
            "precision_macro": m["precision_macro"], "recall_macro": m["recall_macro"], "f1_macro": m["f1_macro"],
            "params": m["params_total"], "params_trained": m["params_trainable"], "epochs": epochs,
            "train_seconds": m["train_seconds"],
            "inference_images_per_second": round(inference_speed(model, images, dev), 1)}


def markdown(t: dict) -> str:
    probe, ft, kd, base = t["models"][:4]
    random = t["weights"] == "none"
    epochs = f"{t['epochs']} epoch{'s' if t['epochs'] != 1 else ''}"
    probe_epochs = f"{t['probe_epochs']} epoch{'s' if t['probe_epochs'] != 1 else ''}"
    lines = [f"# CIFAR-10: teacher vs distilled student vs student alone ({t['dataset']})", "",
             f"Teacher: {t['teacher_arch']} ({'weights ' + t['weights']}, images resized to {t['image_size']}×"
             f"{t['image_size']} inside the model). Student: {kd['arch']}. The fine-tuned teacher and both students "
             f"trained {epochs}; the linear probe trained its final layer {probe_epochs} on "
             f"frozen features. Test accuracy of the checkpoint picked on the validation split. Inference speed "
             f"measured on {t['device']}.", "",
             "| model | accuracy | macro precision | macro recall | parameters (trained) | epochs | train s "
             "| inference images/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for m in t["models"]:
        lines.append(f"| {m['model']} | {m['accuracy']:.4f} | {m['precision_macro']:.4f} | {m['recall_macro']:.4f} | "
                     f"{m['params']:,} ({m['params_trained']:,}) | {m['epochs']} | {m['train_seconds']:.1f} | "
                     f"{m['inference_images_per_second']:.0f} |")
    gain = kd["accuracy"] - base["accuracy"]
    lines += ["", "## Why they differ", "",
              f"**Linear probe vs fine-tuning.** The probe trains only the final layer ({probe['params_trained']:,} "
              "parameters) on the frozen backbone's features, "
              + ("which here are random (`--weights none`): it shows how little an untrained network's features "
                 "offer" if random else "which were learnt on ImageNet: it is as good as those features are linearly "
                 "separable for CIFAR-10, cheap (one inference pass, then seconds) but limited")
              + f". Fine-tuning adapts all {ft['params']:,} parameters to CIFAR-10 (here {ft['accuracy']:.4f} vs "
              f"{probe['accuracy']:.4f}), at the price of full forward and backward passes through the ResNet.", "",
              f"**Teacher vs student.** The student has {base['params']:,} parameters, "
              f"{ft['params'] / max(1, base['params']):.1f}× fewer than the teacher, and runs "
              f"{kd['inference_images_per_second'] / max(1e-9, ft['inference_images_per_second']):.1f}× as many images "
              f"per second at inference here"
              + (f" (the teacher works on images resized to {t['image_size']}×{t['image_size']})."
                 if t["image_size"] != 32 else ".")
              + " Fewer parameters and multiply-adds buy speed and memory, not accuracy.", "",
              f"**Distillation vs no teacher.** Same network, same data, same epochs and schedule; only the loss "
              f"differs. The distilled student is {abs(gain) * 100:.2f} points "
              f"{'more' if gain >= 0 else 'less'} accurate "
              f"({kd['accuracy']:.4f} vs {base['accuracy']:.4f}). The teacher's softened probabilities (tau "
              f"{t['best']['tau']:g}) say which wrong classes are close to the right one (a cat looks more like a dog "
              "than like a truck): more information per image than a one-hot label, and a regulariser against "
              "over-confident fits. The gain depends on the teacher: one barely better than the student has little to "
              "teach, and the best alpha then moves towards 1 (the labels alone)."
              + (" Without τ² scaling the soft term's gradients shrink like 1/τ², so at large τ the hard labels "
                 "dominate whatever alpha says (see docs/distillation.md)." if not t["t2_scale"] else ""), ""]
    return "\n".join(lines)
