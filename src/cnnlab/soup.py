"""A model soup (Wortsman et al. 2022, "Model soups"): models fine-tuned from one start, averaged weight by weight
into one model of the same size and speed. The ingredients are scored on the validation split they share; the
uniform soup averages them all, the greedy soup adds them best first and keeps each one only if the average does
not lose validation accuracy. The soup is written as a run folder (docs/run-folder.md): best.pt, config.json,
soup.json (what went in, with each validation accuracy) and metrics.json (the soup on the test split, read by
nothing that chose it)."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import torch

from cnnlab.atomic import atomic_write_json
from cnnlab.engine.config import TrainConfig, save_config
from cnnlab.engine.distributed import pick_device
from cnnlab.engine.evaluate import evaluate
from cnnlab.engine.logging import log
from cnnlab.engine.metrics import classification_metrics
from cnnlab.engine.runfolder import RunFolder, model_description
from cnnlab.engine.train import load_splits
from cnnlab.errors import UsageError
from cnnlab.models.common import count_params
from cnnlab.runs import load_model, validation_split

SOUP = "soup.json"  # in the run folder: the ingredients, their validation accuracies, the method
# What every ingredient must share with the first, so that their weights can be averaged into one model.
SAME = ("arch", "num_classes", "classes", "input_shape", "model_kwargs", "dataset")


def average(states: list[dict]) -> dict:
    """The mean of state dicts of one architecture, tensor by tensor; integer tensors (batch norm's batch counter)
    are taken from the first."""
    return {name: (sum(s[name].float() for s in states) / len(states)).to(t.dtype) if t.is_floating_point() else t
            for name, t in states[0].items()}


def ingredients(refs: list[str]) -> list[tuple[str, torch.nn.Module, dict]]:
    """(reference, model, checkpoint) of each model: run folders, .pt/.h5 files or shipped names of one
    architecture, width and dataset that held out one validation split."""
    if len(refs) < 2:
        raise UsageError("cnnlab soup: give at least two models to average")
    if len(set(refs)) < len(refs):
        raise UsageError("cnnlab soup: a model is given twice; give each ingredient once")
    found = []
    for ref in refs:
        model, ckpt = load_model(ref, "cpu", torch_only="a soup averages PyTorch weights")
        found.append((ref, model, ckpt))
    first_ref, _, first = found[0]
    for ref, _, ckpt in found[1:]:
        differ = [k for k in SAME if ckpt.get(k) != first.get(k)]
        if differ:
            raise UsageError(f"{ref}: its {', '.join(differ)} differ from {first_ref}'s; a soup averages models of "
                             "one architecture, width and dataset (fine-tunes of one model)")
        split, first_split = (validation_split(c.get("config") or {}) for c in (ckpt, first))
        if split != first_split:
            raise UsageError(f"{ref}: held out another validation split than {first_ref} (split seed, val fraction, "
                             f"limit_train {split} against {first_split}); the soup is chosen on validation, so every "
                             "ingredient must have held out the same faces")
    if first.get("config") is None:
        raise UsageError(f"{first_ref}: the model does not record the run that trained it (its config), so its "
                         "validation split is unknown; give run folders or .pt files written by cnnlab train")
    return found


def soup(refs: list[str], data: str, out: str, greedy: bool = False, cache_dir: str | None = None,
         device: str = "auto", batch_size: int = 1024, quiet: bool = False) -> dict:
    """Average `refs` (all of them, or greedily with `greedy`) into the run folder `out`; returns soup.json's dict
    with the test metrics under "test"."""
    run = RunFolder(out)
    if run.holds_run() or (run.path / SOUP).exists():
        raise UsageError(f"--out {run.path} already holds a run; choose another --out")
    found = ingredients(refs)
    first = found[0][2]
    cfg = TrainConfig.from_dict({**first["config"], "data": data, "out": out, "init": None,
                                 **({"cache_dir": cache_dir} if cache_dir else {})})
    dev = pick_device(device)
    _, val_set, test_set = load_splits(cfg)
    if val_set.classes != first["classes"]:
        raise UsageError(f"--data {data}: its classes {val_set.classes} are not the models' {first['classes']}")
    if len(val_set) == 0:
        raise UsageError("the models held out no validation split (val fraction 0), so nothing can choose or check "
                         "a soup; give models trained with a validation split")
    tta = first.get("tta") or "none"
    start = time.perf_counter()

    def val_accuracy(model) -> float:
        return evaluate(model.to(dev), val_set, dev, batch_size, tta)["acc"]

    scores = []
    for ref, model, _ in found:
        scores.append(val_accuracy(model))
        log(f"{ref}: validation accuracy {scores[-1]:.4f}", quiet)
    states = [m.state_dict() for _, m, _ in found]
    soup_model = copy.deepcopy(found[0][1])  # each mix is loaded into this copy; the ingredients stay as they are

    def mix(members: list[int]) -> torch.nn.Module:
        soup_model.load_state_dict(average([states[i] for i in members]))
        return soup_model

    order = sorted(range(len(found)), key=lambda i: -scores[i])
    if greedy:  # best first; keep an ingredient only if the average does not lose validation accuracy
        members, best = [order[0]], scores[order[0]]
        for i in order[1:]:
            acc = val_accuracy(mix(members + [i]))
            kept = acc >= best
            log(f"+ {found[i][0]}: soup of {len(members) + 1}, validation accuracy {acc:.4f} "
                f"({'kept' if kept else 'left out'})", quiet)
            if kept:
                members, best = members + [i], acc
    else:
        members = order
        best = val_accuracy(mix(members))
    model = mix(members)
    log(f"soup of {len(members)}: validation accuracy {best:.4f} (best ingredient {scores[order[0]]:.4f})", quiet)
    if best < scores[order[0]]:
        log("note: the average is below its best ingredient on validation; models that did not start from one model "
            "rarely average well (--greedy keeps only what helps)", quiet)
    description = model_description(first["arch"], first["classes"], first["input_shape"], first["model_kwargs"],
                                     first["dataset"], cfg.to_dict(), tta=tta)
    seconds = time.perf_counter() - start
    info = {"method": "greedy" if greedy else "uniform",
            "ingredients": [{"model": ref, "val_acc": round(s, 4), "in_soup": i in members}
                            for i, ((ref, _, _), s) in enumerate(zip(found, scores))],
            "val_acc": round(best, 4), "tta": tta, "seconds": round(seconds, 1)}
    run.path.mkdir(parents=True, exist_ok=True)
    save_config(cfg, run.config, {"soup": [found[i][0] for i in members], "classes": first["classes"],
                                  "input_shape": first["input_shape"],
                                  "samples": {"val": len(val_set), "test": len(test_set)}})
    atomic_write_json(run.path / SOUP, info)
    run.save_best({k: v.cpu() for k, v in model.state_dict().items()}, description, epoch=None, val_acc=best)
    r = evaluate(model, test_set, dev, batch_size, tta)
    metrics = {**classification_metrics(r["preds"], r["targets"], test_set.classes), "split": "test",
               "params_total": count_params(model), "best_epoch": None, "loss": r["loss"],
               "tta": tta, "train_seconds": None, "soup": info["method"]}
    run.write_metrics(metrics)
    from cnnlab import plots
    plots.confusion(metrics["confusion_matrix"], metrics["classes"], run.confusion)
    log(f"test accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['f1_macro']:.4f} -> {Path(out)}", quiet)
    return {**info, "test": metrics}
