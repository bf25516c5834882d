"""Demonstrations computed with real torch modules.

dropout    Dropout zeroes single values; Dropout2d zeroes whole channels (feature maps) of an N,C,H,W tensor;
           Dropout3d whole channels of an N,C,D,H,W tensor. Survivors are scaled by 1/(1-p); eval is identity.
batchnorm  BatchNorm2d's learnable gamma/beta and its running statistics, next to the same computed by hand.
gridding   which input pixels a stack of dilated 3x3 convolutions reaches (same dilation vs mixed 1,2,5).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from cnnlab.theory.receptive_field import receptive_field


def dropout(p: float = 0.5, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    shapes = {"Dropout": (4, 16, 6, 6), "Dropout2d": (4, 16, 6, 6), "Dropout3d": (4, 16, 3, 6, 6)}
    out = {}
    for name, shape in shapes.items():
        m = getattr(nn, name)(p)
        y = m.train()(torch.ones(shape))
        zero = y == 0
        per_channel = zero.flatten(2).float().mean(2)  # fraction of zeros in every (sample, channel) map
        survivors = y[~zero]
        out[name] = {
            "input_shape": list(shape), "p": p,
            "values_zeroed": int(zero.sum()), "values_total": zero.numel(),
            "fraction_zeroed": zero.float().mean().item(),
            "channels_total": per_channel.numel(),
            "channels_fully_zeroed": int((per_channel == 1).sum()),
            "channels_partly_zeroed": int(((per_channel > 0) & (per_channel < 1)).sum()),
            "survivor_values": sorted({round(v, 6) for v in survivors.tolist()}),
            "eval_is_identity": bool(torch.equal(m.eval()(torch.ones(shape)), torch.ones(shape))),
        }
    return out


def batchnorm(seed: int = 0, updates: int = 3) -> dict:
    """BatchNorm2d(3) after `updates` training batches, against the textbook formulas:
    train: y = gamma (x - mean_B) / sqrt(var_B + eps) + beta with the biased batch variance;
    running_mean <- (1 - m) running_mean + m mean_B, running_var <- (1 - m) running_var + m var_B (unbiased);
    eval: the same formula with the running statistics."""
    g = torch.Generator().manual_seed(seed)
    c, momentum, eps = 3, 0.1, 1e-5
    bn = nn.BatchNorm2d(c, momentum=momentum, eps=eps).double()
    with torch.no_grad():  # gamma and beta are ordinary parameters: set them as an optimizer might have
        bn.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
        bn.bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
    gamma, beta = bn.weight.detach().view(1, c, 1, 1), bn.bias.detach().view(1, c, 1, 1)
    shift = torch.tensor([5.0, -3.0, 0.5], dtype=torch.float64).view(1, c, 1, 1)
    scale = torch.tensor([2.0, 0.5, 1.0], dtype=torch.float64).view(1, c, 1, 1)
    run_mean, run_var = torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)
    train_diff = 0.0
    bn.train()
    for _ in range(updates):
        x = torch.randn(8, c, 4, 4, generator=g, dtype=torch.float64) * scale + shift
        y = bn(x)
        mean = x.mean((0, 2, 3))
        var_biased = x.var((0, 2, 3), unbiased=False)
        by_hand = gamma * (x - mean.view(1, c, 1, 1)) / (var_biased.view(1, c, 1, 1) + eps).sqrt() + beta
        train_diff = max(train_diff, (y - by_hand).abs().max().item())
        run_mean = (1 - momentum) * run_mean + momentum * mean
        run_var = (1 - momentum) * run_var + momentum * x.var((0, 2, 3), unbiased=True)
    running_mean, running_var = bn.running_mean.tolist(), bn.running_var.tolist()
    x = torch.randn(8, c, 4, 4, generator=g, dtype=torch.float64) * scale + shift
    y_eval = bn.eval()(x)  # running statistics, nothing updated
    y_train = bn.train()(x)  # this batch's statistics (and one more running update, not reported)
    eval_by_hand = gamma * (x - run_mean.view(1, c, 1, 1)) / (run_var.view(1, c, 1, 1) + eps).sqrt() + beta
    return {
        "channels": c, "momentum": momentum, "eps": eps, "updates": updates,
        "values_per_channel": x.shape[0] * x.shape[2] * x.shape[3],
        "learnable": {name: {"shape": list(p.shape), "requires_grad": p.requires_grad, "value": p.tolist()}
                      for name, p in bn.named_parameters()},
        "buffers": [name for name, _ in bn.named_buffers()],
        "batch_mean_of_inputs": shift.view(-1).tolist(), "batch_std_of_inputs": scale.view(-1).tolist(),
        "running_mean": running_mean, "running_var": running_var,
        "running_mean_by_hand": run_mean.tolist(), "running_var_by_hand": run_var.tolist(),
        "max_abs_diff_train_vs_hand": train_diff,
        "max_abs_diff_eval_vs_hand": (y_eval - eval_by_hand).abs().max().item(),
        "train_output_mean": y_train.mean((0, 2, 3)).tolist(),
        "train_output_std": y_train.std((0, 2, 3), unbiased=False).tolist(),
        "eval_output_mean": y_eval.mean((0, 2, 3)).tolist(),
        "eval_output_std": y_eval.std((0, 2, 3), unbiased=False).tolist(),
        "max_abs_diff_train_vs_eval": (y_train - y_eval).abs().max().item(),
    }


def reach_map(dilations: list[int], kernel: int = 3) -> torch.Tensor:
    """Number of paths from every input pixel to the central output of a stack of dilated convolutions
    (all-ones weights, no padding): the input gradient of that one output. Zero = pixel never seen."""
    field = receptive_field(len(dilations), kernel, dilations)["size"]
    convs = nn.Sequential(*[nn.Conv2d(1, 1, kernel, dilation=d, bias=False) for d in dilations]).double()
    for conv in convs:
        nn.init.ones_(conv.weight)
    x = torch.zeros(1, 1, field, field, dtype=torch.float64, requires_grad=True)
    y = convs(x)
    assert y.shape[-1] == 1
    y[0, 0, 0, 0].backward()
    return x.grad[0, 0]


GRIDDING = {"1,1,1": [1, 1, 1], "2,2,2": [2, 2, 2], "1,2,5": [1, 2, 5], "3,3,3": [3, 3, 3]}


def gridding() -> dict:
    out = {}
    for name, dilations in GRIDDING.items():
        m = reach_map(dilations)
        out[name] = {"dilations": dilations, "field": m.shape[-1], "pixels_in_field": m.numel(),
                     "pixels_reached": int((m > 0).sum()),
                     "fraction_reached": (m > 0).double().mean().item(),
                     "max_paths": int(m.max())}
    return out


def plot_gridding(path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(GRIDDING), figsize=(4 * len(GRIDDING), 4.2))
    for ax, (name, dilations) in zip(axes, GRIDDING.items()):
        m = reach_map(dilations)
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="white")
        ax.imshow(np.ma.masked_equal(m.numpy(), 0), cmap=cmap)  # white: never seen
        ax.set_title(f"dilations {name}: {int((m > 0).sum())}/{m.numel()} pixels")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("input pixels that reach one output of three 3x3 convolutions "
                 "(colour = number of paths, white = never seen)")
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_dropout(path: Path, p: float = 0.5, seed: int = 0) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    torch.manual_seed(seed)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, name in zip(axes, ("Dropout", "Dropout2d")):
        y = getattr(nn, name)(p).train()(torch.ones(1, 8, 6, 6))[0]
        ax.imshow(torch.cat(list(y), dim=1).numpy(), cmap="gray", vmin=0, vmax=1 / (1 - p))
        ax.set_title(f"{name}(p={p}) on ones: 8 channels of 6x6 side by side")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_all(out: Path | None = None, seed: int = 0) -> dict:
    result = {"dropout": dropout(seed=seed), "batchnorm": batchnorm(seed=seed), "gridding": gridding()}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        plot_gridding(out / "gridding.png")
        plot_dropout(out / "dropout.png", seed=seed)
        (out / "demos.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def format_result(r: dict) -> str:
    lines = ["Dropout on a tensor of ones (p = 0.5):"]
    for name, d in r["dropout"].items():
        lines.append(f"  {name:9s} {tuple(d['input_shape'])}: {d['values_zeroed']}/{d['values_total']} values zeroed, "
                     f"{d['channels_fully_zeroed']}/{d['channels_total']} channels entirely zero, "
                     f"{d['channels_partly_zeroed']} partly; survivors = {d['survivor_values']}")
    b = r["batchnorm"]
    fmt = lambda v: "[" + ", ".join(f"{u:.4f}" for u in v) + "]"  # noqa: E731
    lines += [
        f"BatchNorm2d({b['channels']}), momentum {b['momentum']}, after {b['updates']} training batches:",
        f"  learnable: gamma = {fmt(b['learnable']['weight']['value'])}, beta = {fmt(b['learnable']['bias']['value'])}",
        f"  running mean {fmt(b['running_mean'])} (by hand {fmt(b['running_mean_by_hand'])})",
        f"  running var  {fmt(b['running_var'])} (by hand {fmt(b['running_var_by_hand'])})",
        f"  train output mean per channel {fmt(b['train_output_mean'])} (= beta), "
        f"std {fmt(b['train_output_std'])} (≈ |gamma|)",
        f"  eval output mean per channel {fmt(b['eval_output_mean'])}, std {fmt(b['eval_output_std'])}",
        f"  max |torch - hand|: train {b['max_abs_diff_train_vs_hand']:.2e}, eval {b['max_abs_diff_eval_vs_hand']:.2e}",
        "Gridding: input pixels reaching one output of three 3x3 convolutions:",
    ]
    for name, g in r["gridding"].items():
        lines.append(f"  dilations {name}: field {g['field']}x{g['field']}, reached {g['pixels_reached']}/"
                     f"{g['pixels_in_field']} ({100 * g['fraction_reached']:.1f}%)")
    return "\n".join(lines)
