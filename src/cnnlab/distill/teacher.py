"""The teacher: torchvision's ResNet (50 by default) with a new 10-way final layer, trained in one of two modes.

- `linear_probe`: the backbone is frozen, so its features are computed once (one inference pass over the data, in
  inference mode under autocast) and only the final layer is trained, on those features: seconds, not epochs of
  full forward passes. Under torchrun every process computes a share of the features; process 0 trains the layer.
- `finetune`: everything trains, through the engine (`engine.train`) with the pretrained weights loaded by its
  `init_model` hook and the backbone at `backbone_lr_scale` times the head's learning rate (the model's
  `lr_scales`, read by the engine's optimiser).

Both write a standard run folder through `RunFolder` (config.json, history.csv, best.pt, last.pt, tb/, metrics.json,
plots/), so `cnnlab eval`, `predict` and `report` work on a teacher as on any run; teacher.json adds mode and
weights.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from cnnlab.engine.checkpoint import atomic_write_json
from cnnlab.engine.config import TrainConfig
from cnnlab.engine.logging import log
from cnnlab.engine.runfolder import RunFolder, history_row, model_description
from cnnlab.errors import UsageError

MODES = ("linear-probe", "finetune")


def default_image_size(weights: str) -> int:
    """224 (the ImageNet resolution) with pretrained weights, else CIFAR's native 32."""
    return 32 if weights in (None, "", "none") else 224


def model_kwargs(cfg: TrainConfig, image_size: int, backbone_lr_scale: float = 1.0) -> dict:
    if image_size < 32:
        raise UsageError(f"--image-size must be at least 32 (ResNet downsamples 32 times), got {image_size}")
    kw = {**cfg.model_kwargs, "image_size": int(image_size)}
    if backbone_lr_scale != 1.0:
        if not backbone_lr_scale > 0:
            raise UsageError(f"--backbone-lr-scale must be positive, got {backbone_lr_scale}")
        kw["backbone_lr_scale"] = float(backbone_lr_scale)
    return kw


def _load_weights(model, weights: str) -> str:
    """zoo.load_weights; under torchrun, process 0 first (a download lands once in torch's cache)."""
    import torch.distributed as dist

    from cnnlab.models import zoo
    ddp = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
    if ddp and dist.get_rank() != 0:
        dist.barrier()
    try:
        return zoo.load_weights(model, weights)
    finally:
        if ddp and dist.get_rank() == 0:
            dist.barrier()


def _write_info(out: Path, info: dict) -> None:
    if int(os.environ.get("RANK", "0")) == 0:
        atomic_write_json(out / "teacher.json", info)


def finetune(cfg: TrainConfig, weights: str = "imagenet") -> dict:
    """Fine-tune every layer with `engine.train`; cfg.model is resnet50/resnet18, cfg.model_kwargs from
    `model_kwargs` (image_size, backbone_lr_scale)."""
    from cnnlab.engine.train import train
    loaded = {}

    def init_model(model):
        loaded["weights"] = _load_weights(model, weights)
        log(f"teacher weights: {loaded['weights']}", cfg.quiet)

    result = train(cfg, init_model=init_model)
    if not result.get("stopped"):
        _write_info(Path(cfg.out), {"mode": "finetune", "arch": cfg.model, "weights": weights,
                                    "weights_loaded": loaded.get("weights", "(resumed run)"),
                                    "image_size": cfg.model_kwargs.get("image_size"),
                                    "backbone_lr_scale": cfg.model_kwargs.get("backbone_lr_scale", 1.0)})
    return result


# ---------------------------------------------------------------------------------------------------------------
# Linear probe

@torch.inference_mode()
def frozen_features(model, images: torch.Tensor, device, batch_size: int, rank: int = 0, world: int = 1,
                    quiet: bool = False, precision: str = "auto") -> torch.Tensor:
    """model.features of uint8 images [N, C, H, W] (float32, on `device`), under the run's `precision` (as the
    student's teacher, `TeacherLogits`). With world > 1 each process computes rows rank, rank + world, ... and the
    rows are gathered, so every process returns all N."""
    from cnnlab.data.tensors import to_float
    from cnnlab.engine.evaluate import autocast
    from cnnlab.engine.logging import progress
    model.eval()
    rows = torch.arange(rank, len(images), world)
    out = []
    bar = progress((len(rows) + batch_size - 1) // batch_size, "features", quiet)
    for i in range(0, len(rows), batch_size):
        x = to_float(images[rows[i:i + batch_size]].to(device, non_blocking=True), channels_last=True)
        with autocast(device, precision):
            out.append(model.features(x).float())
        bar.update(1)
    bar.close()
    mine = torch.cat(out) if out else torch.empty(0, device=device)
    if world == 1:
        return mine
    import torch.distributed as dist
    per = (len(images) + world - 1) // world
    padded = torch.zeros(per, mine.shape[1] if len(mine) else model.head.in_features, device=device)
    padded[:len(mine)] = mine
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded)
    full = torch.empty(len(images), padded.shape[1], device=device)
    for r, part in enumerate(parts):
        n = len(range(r, len(images), world))
        full[r::world] = part[:n]
    return full


def _head_eval(head, feats: torch.Tensor, labels: torch.Tensor) -> dict:
    if len(labels) == 0:
        return {"loss": None, "acc": None}
    with torch.inference_mode():
        logits = head(feats).float()
        right = (logits.argmax(1) == labels).float()
        return {"loss": float(F.cross_entropy(logits, labels)), "acc": float(right.mean())}


@torch.no_grad()
def fold_head(target: torch.nn.Linear, head: torch.nn.Linear, mu: torch.Tensor, sd: torch.Tensor) -> None:
    """target(f) = head((f - mu) / sd): W' = W / sd, b' = b - W' mu."""
    w = head.weight / sd
    target.weight.copy_(w)
    target.bias.copy_(head.bias - w @ mu)


def freeze_backbone(model) -> None:
    """requires_grad only on the final layer (model.head)."""
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.head.parameters():
        p.requires_grad_(True)


def linear_probe(cfg: TrainConfig, weights: str = "imagenet") -> dict:
    """Train only the final layer on frozen features; the run folder is a standard one (best.pt holds the whole
    model). metrics.json's train_seconds counts the feature pass and the head's training."""
    from cnnlab import data as datasets
    from cnnlab.data.tensors import batch_indices
    from cnnlab.engine import distributed
    from cnnlab.engine.config import save_config
    from cnnlab.engine.logging import TensorBoard
    from cnnlab.engine.optim import make_optimizer, make_schedule
    from cnnlab.engine.train import final_metrics, load_splits
    from cnnlab.models import registry
    from cnnlab.models.common import count_params

    out = Path(cfg.out)
    run = RunFolder(out)
    if cfg.resume and run.metrics.exists():
        log(f"linear probe: finished run found in {out}, reusing it", cfg.quiet)
        return json.loads(run.metrics.read_text())
    procs = distributed.setup(cfg.device)
    if not cfg.resume:
        run.prepare(resume=False)  # refuses to overwrite a run
    quiet = cfg.quiet or not procs.is_main
    dev = procs.device
    train_set, val_set, test_set = load_splits(cfg)
    classes, shape = train_set.classes, train_set.input_shape
    ds = datasets.get(cfg.dataset)
    kw = registry.resolve(cfg.model, len(classes), shape, cfg.param_budget, mean=ds.MEAN, std=ds.STD,
                          **cfg.model_kwargs)
    torch.manual_seed(cfg.seed)
    model = registry.build(cfg.model, len(classes), shape, **kw)
    loaded = _load_weights(model, weights)
    model = model.to(dev).to(memory_format=torch.channels_last)
    freeze_backbone(model)
    log(f"linear probe: {cfg.model} ({loaded}) at {kw['image_size']}x{kw['image_size']}, {len(train_set)} train, "
        f"{len(val_set)} val, {len(test_set)} test, device {dev}, {procs.world} process(es)", quiet)

    t0 = time.perf_counter()
    bs = cfg.eval_batch_size
    feats = {name: frozen_features(model, s.images, dev, bs, procs.rank, procs.world, quiet, cfg.precision)
             for name, s in (("train", train_set), ("val", val_set), ("test", test_set))}
    if dev.type == "cuda":
        torch.cuda.synchronize()
    feature_seconds = time.perf_counter() - t0
    log(f"features: {feats['train'].shape[1]} per image, {feature_seconds:.1f}s "
        f"({sum(len(f) for f in feats.values()) / feature_seconds:.0f} images/s)", quiet)
    labels = {"train": train_set.labels.to(dev), "val": val_set.labels.to(dev), "test": test_set.labels.to(dev)}

    # The head trains on standardised features (well-conditioned whatever the backbone's scale) and is folded
    # back into the model's own final layer, so best.pt is a plain ResNet.
    mu, sd = feats["train"].mean(0), feats["train"].std(0).clamp_min(1e-6)
    feats = {k: (f - mu) / sd for k, f in feats.items()}
    metrics = {}
    if procs.is_main:
        torch.manual_seed(cfg.seed)
        head = torch.nn.Linear(feats["train"].shape[1], len(classes)).to(dev)
        opt = make_optimizer(cfg, head)
        batches0 = batch_indices(len(train_set), cfg.batch_size, True, cfg.seed, 0)
        sched = make_schedule(cfg, opt, len(batches0))
        description = model_description(cfg.model, classes, shape, kw, cfg.dataset, cfg.to_dict())
        out.mkdir(parents=True, exist_ok=True)
        save_config(cfg, run.config, {"model_kwargs_resolved": kw, "classes": classes, "input_shape": shape,
                                               "world_size": procs.world, "mode": "linear-probe", "weights": weights,
                                               "samples": {"train": len(train_set), "val": len(val_set),
                                                           "test": len(test_set)}})
        tb = TensorBoard(run.tb)
        history, best = [], {"val_acc": -1.0, "epoch": 0}
        for epoch in range(cfg.epochs):
            t1 = time.perf_counter()
            head.train()
            total = torch.zeros(3, dtype=torch.float64, device=dev)
            for idx in batch_indices(len(train_set), cfg.batch_size, True, cfg.seed, epoch):
                idx = idx.to(dev)
                logits = head(feats["train"][idx])
                y = labels["train"][idx]
                loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if cfg.schedule != "plateau":
                    sched.step()
                total += torch.stack([loss.detach().double() * len(y), (logits.argmax(1) == y).sum().double(),
                                      torch.tensor(float(len(y)), dtype=torch.float64, device=dev)])
            seconds = time.perf_counter() - t1
            head.eval()
            val, test = _head_eval(head, feats["val"], labels["val"]), _head_eval(head, feats["test"], labels["test"])
            if cfg.schedule == "plateau":
                sched.step(val["acc"] if val["acc"] is not None else 0.0)
            row = history_row(epoch + 1, total, val, test, opt.param_groups[0]["lr"], seconds)
            history.append(row)
            run.write_history(history)
            tb.epoch(row)
            score = val["acc"] if val["acc"] is not None else float(epoch)
            if score > best["val_acc"]:
                best = {"val_acc": score, "epoch": epoch + 1}
                fold_head(model.head, head, mu, sd)
                run.save_best(model.state_dict(), description, epoch=epoch + 1, val_acc=val["acc"])
        tb.close()
        fold_head(model.head, head, mu, sd)  # the last epoch's head
        run.save_last(model.state_dict(), description, optimizer=opt.state_dict(), epoch=cfg.epochs, step=0,
                      history=history, best=best)
        log(f"linear probe: best epoch {best['epoch']}, val acc {best['val_acc']:.4f}, head trained in "
            f"{sum(h['train_seconds'] for h in history):.1f}s", quiet)
        metrics = final_metrics(run, test_set, dev, cfg, count_params(model), count_params(model, True),
                                best["epoch"], history)
        metrics["feature_seconds"] = round(feature_seconds, 3)
        metrics["train_seconds"] = round(metrics["train_seconds"] + feature_seconds, 3)
        metrics["images_per_second"] = round(len(train_set) * cfg.epochs / metrics["train_seconds"], 1)
        run.write_metrics(metrics)
        _write_info(out, {"mode": "linear-probe", "arch": cfg.model, "weights": weights, "weights_loaded": loaded,
                          "image_size": kw["image_size"], "feature_seconds": round(feature_seconds, 3)})
        log(f"test accuracy {metrics['accuracy']:.4f}, macro precision {metrics['precision_macro']:.4f}, "
            f"macro recall {metrics['recall_macro']:.4f} -> {out}", cfg.quiet)
    distributed.barrier(procs)
    distributed.cleanup(procs)
    return metrics
