"""The training loop: read it top to bottom.

    data (uint8 tensors on the device) -> model -> for each epoch: shuffled batches, augmentation on the device,
    forward under bf16 autocast (CUDA; on the CPU --precision bf16, or fast with AVX-512), backward, step, moving
    average of the weights (--ema) -> validation picks best.pt -> test metrics of best.pt (with --tta flip: image
    and mirror).

The loop knows nothing about which dataset it trains on: `cnnlab.data` hands it tensors and class names.
A run folder holds everything (`RunFolder`, docs/run-folder.md); `last.pt` is written at the end of every epoch and
every `checkpoint_steps` steps inside one, so a killed run continues with `--resume` where it stopped.
"""

from __future__ import annotations

import signal
import time

import torch
import torch.nn.functional as F

from cnnlab import data as datasets
from cnnlab.data import augment
from cnnlab.data.tensors import TensorData, batch_indices, limit, stratified_split, to_float
from cnnlab.engine import distributed
from cnnlab.engine.config import RESUME_KEYS, TrainConfig, refuse_init, save_config
from cnnlab.engine.evaluate import autocast, cpu_has_fast_bf16, evaluate, uses_bf16
from cnnlab.engine.logging import TensorBoard, log, progress
from cnnlab.engine.metrics import classification_metrics
from cnnlab.engine.optim import class_weights, make_ema, make_optimizer, make_schedule
from cnnlab.engine.runfolder import RunFolder, history_row, model_description
from cnnlab.errors import RunError
from cnnlab.models import registry
from cnnlab.models.common import count_params
from cnnlab.page.numbers import number


def load_splits(cfg: TrainConfig) -> tuple[TensorData, TensorData, TensorData]:
    """(train, val, test): val is a stratified slice of train; the test split is never used to pick anything."""
    ds = datasets.get(cfg.dataset)
    full = ds.load(cfg.data, "train", cache=cfg.cache_dir, download_missing=cfg.download)
    full = limit(full, cfg.limit_train, cfg.seed)
    tr, va = stratified_split(full.labels, cfg.val_fraction, cfg.seed if cfg.split_seed is None else cfg.split_seed)
    test = limit(ds.load(cfg.data, "test", cache=cfg.cache_dir), cfg.limit_test, cfg.seed)
    return full.subset(tr), full.subset(va), test


class StopRequest:
    """SIGINT/SIGTERM set a flag; the loop saves last.pt at the next batch and stops, ready for --resume."""

    def __init__(self):
        self.requested = False
        try:
            for s in (signal.SIGINT, signal.SIGTERM):
                signal.signal(s, self._handle)
        except ValueError:  # not the main thread
            pass

    def _handle(self, *_):
        self.requested = True


def train(cfg: TrainConfig, loss_fn=None, init_model=None, augment_fn=None) -> dict:
    """Train `cfg` into its run folder; returns the test metrics of best.pt.

    Optional hooks (e.g. for knowledge distillation and pretrained weights): `loss_fn(logits, targets, images,
    indices)` replaces the cross-entropy (`images` the augmented float batch, `indices` its rows in the training
    split); `init_model(model)` is called once on a new run's freshly built model, before the optimiser is made
    (`cnnlab.runs.initial_weights(cfg)` makes the one of --init, which needs it);
    `augment_fn(indices, generator)` replaces the augmentation: it returns the float batch of those training rows.
    """
    cfg.check()  # a config made in code (dataclasses.replace) meets the same checks as one from the command line
    procs = distributed.setup(cfg.device)
    run = RunFolder(cfg.out)
    state = run.prepare(cfg.resume, {k: getattr(cfg, k) for k in RESUME_KEYS})
    quiet = cfg.quiet or not procs.is_main
    if init_model is None:
        refuse_init(cfg, "this command trains its models from their start; leave --init out")
    dev, cuda = procs.device, procs.device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick the fastest kernels once

    # Data: decoded once (cached on disk), then kept whole on the training device.
    train_set, val_set, test_set = load_splits(cfg)
    classes, shape = train_set.classes, train_set.input_shape
    log(f"data: {len(train_set)} train, {len(val_set)} val (from train), {len(test_set)} test, "
        f"{len(classes)} classes, shape {shape}, device {dev}, {procs.world} process(es)", quiet)
    train_dev = train_set.to(dev)

    # Model, optimiser, schedule.
    ds = datasets.get(cfg.dataset)
    model_kwargs = registry.resolve(cfg.model, len(classes), shape, cfg.param_budget, mean=ds.MEAN, std=ds.STD,
                                    **cfg.model_kwargs)
    torch.manual_seed(cfg.seed)
    model = registry.build(cfg.model, len(classes), shape, **model_kwargs).to(dev)
    model = model.to(memory_format=torch.channels_last)  # faster convolutions on GPU and (oneDNN) CPU alike
    if init_model is not None and state is None:
        init_model(model)
    net = torch.nn.parallel.DistributedDataParallel(model) if procs.ddp else model
    opt = make_optimizer(cfg, model)
    steps_per_epoch = len(batch_indices(len(train_set), cfg.batch_size, True, cfg.seed, 0, procs.rank, procs.world))
    sched = make_schedule(cfg, opt, steps_per_epoch)
    weights = class_weights(cfg, train_set, dev)
    ema = make_ema(cfg, model)
    scored = ema.module if ema is not None else model  # the weights that are evaluated and saved as best.pt
    params_total, params_trainable = count_params(model), count_params(model, trainable_only=True)
    log(f"model: {cfg.model} {model_kwargs_for_log(model_kwargs)} - {params_total:,} parameters, "
        f"{'bf16' if uses_bf16(dev, cfg.precision) else 'fp32'}", quiet)
    if dev.type == "cpu" and cfg.precision == "bf16" and not cpu_has_fast_bf16():
        log("note: this CPU has no AVX-512, so bf16 is emulated and about ten times slower than fp32; "
            "--precision fast uses bf16 only where it is fast", quiet)

    epoch, step0, global_step, history = 0, 0, 0, []
    best = {"val_acc": -1.0, "epoch": 0}
    stats = torch.zeros(3, dtype=torch.float64, device=dev)  # loss sum, correct, seen (this epoch, this rank)
    if state is not None:
        model.load_state_dict(state["model"])
        if ema is not None and state.get("ema") is not None:  # else (--ema added on resume) it starts from here
            ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        epoch, step0, global_step = state["epoch"], state["step"], state["global_step"]
        history, best = state["history"], state["best"]
        stats = state["stats"].to(dev)
        torch.set_rng_state(state["rng"]["torch"])
        if cuda and state["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(state["rng"]["cuda"])
        log(f"resumed from {run.last}: epoch {epoch + 1}, step {step0}", quiet)
    else:
        torch.manual_seed(cfg.seed + 1 + procs.rank)  # dropout streams differ per rank

    if procs.is_main:
        run.path.mkdir(parents=True, exist_ok=True)
        samples = {"train": len(train_set), "val": len(val_set), "test": len(test_set)}
        save_config(cfg, run.config, {"model_kwargs_resolved": model_kwargs, "classes": classes,
                                      "input_shape": shape, "world_size": procs.world, "samples": samples})
        tb = TensorBoard(run.tb, purge_step=epoch + 1 if state is not None else None)
    description = model_description(cfg.model, classes, shape, model_kwargs, cfg.dataset, cfg.to_dict(), tta=cfg.tta)

    def save_last(epoch_: int, step_: int) -> None:
        totals = distributed.all_reduce_sum(stats.clone(), procs) if procs.world > 1 else stats
        if procs.is_main:
            run.save_last(model.state_dict(), description, ema=ema.state_dict() if ema is not None else None,
                          optimizer=opt.state_dict(), scheduler=sched.state_dict(), epoch=epoch_, step=step_,
                          global_step=global_step, history=history, best=best,
                          stats=totals.cpu() / procs.world if procs.world > 1 else totals.cpu(),
                          rng={"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state() if cuda else None})

    stop = StopRequest()
    train_seconds = sum(r.get("train_seconds", 0.0) for r in history)
    while epoch < cfg.epochs:
        # ---- one epoch of training ----
        net.train()
        batches = batch_indices(len(train_set), cfg.batch_size, True, cfg.seed, epoch, procs.rank, procs.world)
        bar = progress(len(batches), f"epoch {epoch + 1}/{cfg.epochs}", quiet, initial=step0)
        t0, seen0 = time.perf_counter(), float(stats[2])
        for step in range(step0, len(batches)):
            idx = batches[step].to(dev, non_blocking=True)
            y = train_dev.labels[idx]
            seed = ((cfg.seed * 1_000_003 + epoch) * 1_000_003 + step) * 64 + procs.rank
            g = torch.Generator(device=dev).manual_seed(seed)
            if augment_fn is None:
                x = augment.apply(to_float(train_dev.images[idx], channels_last=True), cfg.augment, g)
            else:
                x = augment_fn(idx, g)
            with autocast(dev, cfg.precision):
                logits = net(x)
            if loss_fn is None:
                loss = F.cross_entropy(logits.float(), y, weight=weights, label_smoothing=cfg.label_smoothing)
            else:
                loss = loss_fn(logits.float(), y, x, idx)
            if (not cuda or step % 50 == 0) and not torch.isfinite(loss):
                bar.close()
                raise RunError(f"loss became {float(loss.detach())} at epoch {epoch + 1}, step {step}; lower --lr "
                               f"(now {cfg.lr}) or check the data.{run.last_good_state_note()}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if cfg.schedule != "plateau":
                sched.step()
            if ema is not None:
                ema.multi_avg_fn.step = global_step  # the decay's warm-up follows the optimiser's steps
                ema.update_parameters(model)
            global_step += 1
            stats += torch.stack([loss.detach().double() * len(y), (logits.argmax(1) == y).sum().double(),
                                  torch.tensor(float(len(y)), dtype=torch.float64, device=dev)])
            if step - step0 < 20 or step % 20 == 0 or step == len(batches) - 1:  # fresh from the first steps
                seen = float(stats[2]) - seen0
                bar.set_postfix(loss=f"{float(stats[0] / stats[2]):.3f}", acc=f"{float(stats[1] / stats[2]):.3f}",
                                img_s=f"{seen * procs.world / max(1e-9, time.perf_counter() - t0):.0f}", refresh=False)
            bar.update(1)
            at_limit = cfg.max_steps is not None and global_step >= cfg.max_steps
            if at_limit or stop.requested or (step + 1) % cfg.checkpoint_steps == 0:
                if not torch.isfinite(stats[0]):
                    bar.close()
                    raise RunError(f"loss became non-finite in epoch {epoch + 1}; lower --lr (now {cfg.lr})."
                                   f"{run.last_good_state_note()}")
                save_last(epoch, step + 1)
            if stop.requested:
                bar.close()
                raise RunError(f"interrupted at epoch {epoch + 1}, step {step + 1}; {run.last} is saved: "
                               "continue with the same command and --resume")
            if at_limit:
                bar.close()
                log(f"stopped after {global_step} steps (--max-steps); continue with --resume", quiet)
                distributed.cleanup(procs)
                return {"stopped": True, "global_step": global_step}
        bar.close()
        if cuda:
            torch.cuda.synchronize()
        epoch_train_seconds = time.perf_counter() - t0

        # ---- end of epoch: gather train stats, evaluate val (selection) and test (curves only) ----
        total = distributed.all_reduce_sum(stats.clone(), procs)
        if not torch.isfinite(total[0]):
            raise RunError(f"loss became non-finite in epoch {epoch + 1}; lower --lr (now {cfg.lr})."
                           f"{run.last_good_state_note()}")
        # per-epoch curves and the choice of best.pt, in the training's precision; final metrics are full precision
        val = evaluate(scored, val_set, dev, cfg.eval_batch_size, precision=cfg.precision)
        test = evaluate(scored, test_set, dev, cfg.eval_batch_size, precision=cfg.precision)
        if cfg.schedule == "plateau":
            sched.step(val["acc"] if val["acc"] is not None else -float(total[0] / total[2]))
        train_seconds += epoch_train_seconds
        row = history_row(epoch + 1, total, val, test, opt.param_groups[0]["lr"], epoch_train_seconds)
        history.append(row)
        # best.pt by validation accuracy (without a validation split: the latest epoch)
        score = val["acc"] if val["acc"] is not None else float(epoch)
        improved = score > best["val_acc"]
        if improved:
            best = {"val_acc": score, "epoch": epoch + 1}
        epoch, step0 = epoch + 1, 0
        stats.zero_()
        if procs.is_main:
            run.write_history(history)
            tb.epoch(row)
            if improved:
                run.save_best(scored.state_dict(), description, epoch=epoch, val_acc=val["acc"])
        save_last(epoch, 0)
        log(f"epoch {epoch}/{cfg.epochs}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f} | "
            f"val acc {fmt(val['acc'])} | test acc {fmt(test['acc'])} | {epoch_train_seconds:.1f}s "
            f"({row['images'] / max(epoch_train_seconds, 1e-9):.0f} img/s){' *best*' if improved else ''}", quiet)

    # ---- the best checkpoint on the test split ----
    metrics = None
    if procs.is_main:
        tb.close()
        metrics = final_metrics(run, test_set, dev, cfg, params_total, params_trainable, best["epoch"], history)
        log(f"best epoch {best['epoch']}: test accuracy {metrics['accuracy']:.4f}, macro precision "
            f"{metrics['precision_macro']:.4f}, macro recall {metrics['recall_macro']:.4f} -> {run.path}")  # even quiet
    distributed.barrier(procs)
    distributed.cleanup(procs)
    return metrics or {}


def final_metrics(run: RunFolder, test_set: TensorData, dev, cfg: TrainConfig, params_total: int,
                  params_trainable: int, best_epoch: int, history: list[dict]) -> dict:
    """best.pt on the test split: metrics.json and plots/ of `run`."""
    from cnnlab.engine.checkpoint import build_from_checkpoint, load_checkpoint
    model = build_from_checkpoint(load_checkpoint(run.best), run.best).to(dev)
    r = evaluate(model, test_set, dev, cfg.eval_batch_size, cfg.tta)
    train_seconds = sum(h.get("train_seconds", 0.0) for h in history)
    images = sum(h.get("images", 0.0) for h in history)
    metrics = {**classification_metrics(r["preds"], r["targets"], test_set.classes), "split": "test",
               "params_total": params_total, "params_trainable": params_trainable, "best_epoch": best_epoch,
               "loss": r["loss"], "tta": cfg.tta, "train_seconds": round(train_seconds, 3),
               "images_per_second": round(images / train_seconds, 1) if train_seconds else None}
    run.write_metrics(metrics)
    run.draw(history, metrics, title=f"{cfg.dataset} / {cfg.model}")
    return metrics


def fmt(v) -> str:
    return number(v, ".4f", dash="-")


def model_kwargs_for_log(kw: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in kw.items() if k not in ("mean", "std"))
