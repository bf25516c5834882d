"""ReLU-family activations: plots of f and f' (derivatives by autograd through torch's own modules) and a table
of properties whose numbers are computed here.

Measured on x ~ N(0, 1) (float64, fixed seed): output mean and std, fraction of zero gradients; at x = 0: the
jump of f' and f'' (kink or not, smoothness); a deep stack (LeCun-normal linear layers + the activation):
mean and std after DEPTH layers (self-normalization); fastest forward+backward time relative to ReLU (cost).
"""

from __future__ import annotations

import json
import math
import time
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

NAMES = ("ReLU", "LeakyReLU", "PReLU", "RReLU (train)", "RReLU (eval)", "ELU", "SELU", "GELU")
SAMPLES = 200_000
DEPTH, WIDTH, BATCH = 32, 256, 256
TIME_SIZE, TIME_REPEATS = 100_000, 40


@contextmanager
def one_thread():
    """Run torch on one thread: results independent of the thread count, timings fair on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def make(name: str) -> nn.Module:
    """Torch's module with its defaults (LeakyReLU slope 0.01, PReLU initial slope 0.25, RReLU slopes drawn
    from U(1/8, 1/3) in training and fixed to their mean 11/48 in evaluation, ELU alpha 1)."""
    if name.startswith("RReLU"):
        m = nn.RReLU()
        return m.train() if "train" in name else m.eval()
    return getattr(nn, name)().double()


def value_and_grad(m: nn.Module, x: torch.Tensor, create_graph: bool = False):
    x = x.detach().clone().requires_grad_(True)
    y = m(x)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=create_graph)
    return x, y, g


def _jumps(m: nn.Module) -> tuple[float, float]:
    """f'(0+) - f'(0-) and f''(0+) - f''(0-), by autograd just either side of 0."""
    x, _, g = value_and_grad(m, torch.tensor([-1e-9, 1e-9], dtype=torch.float64), create_graph=True)
    if g.requires_grad:
        (g2,) = torch.autograd.grad(g.sum(), x, allow_unused=True)
        g2 = torch.zeros(2, dtype=torch.float64) if g2 is None else g2
    else:
        g2 = torch.zeros(2, dtype=torch.float64)
    g, g2 = g.detach(), g2.detach()
    return float(g[1] - g[0]), float(g2[1] - g2[0])


def _range(m: nn.Module) -> tuple[float, str]:
    """Lower bound of f (the upper one is +inf for all of them) and the range as text: '[' when the minimum is
    reached (ReLU's flat 0, GELU's dip), '(' when f only tends to it (ELU, SELU)."""
    with torch.no_grad():
        if m(torch.tensor([-1e6], dtype=torch.float64)).item() < -1000:
            return -math.inf, "(−∞, ∞)"
        y = m(torch.linspace(-40, 40, 80001, dtype=torch.float64))
        lower = y.min().item()
        asymptote = y[0].item() == lower and y[0].item() != y[20000].item()  # still falling at x = -40
        return lower, f"{'(' if asymptote else '['}{lower:.4f}, ∞)".replace("-", "−")


def _deep_stack(m: nn.Module, seed: int) -> tuple[float, float]:
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(BATCH, WIDTH, generator=g, dtype=torch.float64)
    with torch.no_grad():
        for _ in range(DEPTH):
            w = torch.randn(WIDTH, WIDTH, generator=g, dtype=torch.float64) / math.sqrt(WIDTH)  # LeCun normal
            h = m(h @ w)
    return h.mean().item(), h.std().item()


def properties(seed: int = 0) -> dict:
    """Numbers computed from the modules (deterministic for a seed, on one thread so that the float64 sums do not
    depend on the machine's thread count)."""
    with one_thread():
        return _properties(seed)


def _properties(seed: int) -> dict:
    rows = {}
    for name in NAMES:
        torch.manual_seed(seed)  # RReLU (train) draws its slopes from the global generator
        m = make(name)
        x = torch.randn(SAMPLES, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        _, y, g = value_and_grad(m, x)
        jump1, jump2 = _jumps(make(name))
        torch.manual_seed(seed)
        deep_mean, deep_std = _deep_stack(make(name), seed)
        lower, text_range = _range(make(name).eval() if name.startswith("RReLU") else make(name))
        mean, std, zero_grad = y.mean().item(), y.std().item(), (g == 0).double().mean().item()
        rows[name] = {
            "lower_bound": lower, "range": text_range,
            "fprime_jump_at_0": jump1, "fsecond_jump_at_0": jump2,
            "smoothness": ("kink at 0 (f' jumps)" if abs(jump1) > 1e-6 else
                           "C¹ (f'' jumps at 0)" if abs(jump2) > 1e-6 else "smooth"),
            "mean_on_normal": mean, "std_on_normal": std,
            "zero_centred": "≈ yes" if abs(mean) < 0.05 else "no",
            "zero_grad_fraction": zero_grad,
            "dying_units": "yes: zero gradient for x < 0" if zero_grad > 0.01 else "no",
            f"deep_mean_after_{DEPTH}": deep_mean, f"deep_std_after_{DEPTH}": deep_std,
            "self_normalizing": "yes" if abs(deep_mean) < 0.1 and 0.8 < deep_std < 1.25 else "no",
        }
    return rows


def timings(repeats: int = TIME_REPEATS, size: int = TIME_SIZE) -> dict:
    """Fastest of `repeats` forward+backward passes on `size` float32 values, relative to ReLU's (machine-dependent;
    the minimum is the least disturbed by other work on the machine), on one thread."""
    with one_thread():
        return _timings(repeats, size)


def _timings(repeats: int, size: int) -> dict:
    x0 = torch.randn(size)
    modules = {name: make(name).float() for name in NAMES}
    runs: dict[str, list[float]] = {name: [] for name in NAMES}
    for r in range(repeats + 1):  # interleaved, the first round is a warm-up
        for name, m in modules.items():
            x = x0.clone().requires_grad_(True)
            start = time.perf_counter()
            m(x).sum().backward()
            if r:
                runs[name].append(time.perf_counter() - start)
    seconds = {name: min(t) for name, t in runs.items()}
    return {name: s / seconds["ReLU"] for name, s in seconds.items()}


COLUMNS = [("range", "range", "{}"), ("smoothness", "smoothness", "{}"),
           ("mean_on_normal", "mean f(x), x~N(0,1)", "{:.3f}"), ("std_on_normal", "std f(x)", "{:.3f}"),
           ("zero_centred", "zero-centred", "{}"), ("zero_grad_fraction", "zero-gradient fraction", "{:.3f}"),
           ("dying_units", "dying units", "{}"), (f"deep_std_after_{DEPTH}", f"std after {DEPTH} layers", "{:.3g}"),
           ("self_normalizing", "self-normalizing", "{}")]


def markdown_table(props: dict, relative_time: dict | None = None, headers: dict | None = None) -> str:
    """One row per activation; `headers` may translate the column titles; relative time cells end with ×."""
    headers = headers or {}
    cols = COLUMNS + ([("relative_time", "relative time (measured)", "{:.2f}×")] if relative_time else [])
    titles = [headers.get("activation", "activation")] + [headers.get(k, h) for k, h, _ in cols]
    lines = ["| " + " | ".join(titles) + " |",
             "|" + "---|" * (len(cols) + 1)]
    for name, row in props.items():
        row = dict(row, relative_time=(relative_time or {}).get(name))
        lines.append("| " + " | ".join([name] + [f.format(row[k]) for k, _, f in cols]) + " |")
    return "\n".join(lines)


def plot(path: Path, seed: int = 0) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    torch.manual_seed(seed)
    x = torch.linspace(-4, 4, 801, dtype=torch.float64)
    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5))
    for ax, name in zip(axes.flat, NAMES):
        _, y, g = value_and_grad(make(name), x)
        style = dict(marker=".", linestyle="none", markersize=2) if "train" in name else {}
        ax.plot(x, y.detach(), label="f(x)", **style)
        ax.plot(x, g, label="f'(x) (autograd)", **style)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_title(name + (": random slope per element" if "train" in name else ""))
        ax.legend(loc="upper left", fontsize=8)
        ax.set_ylim(-2.0, 4.0)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(out: Path, seed: int = 0, time_it: bool = True) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    props = properties(seed)
    relative = timings() if time_it else None
    plot(out / "activations.png", seed)
    for name, t in (relative or {}).items():
        props[name]["relative_time"] = t
    (out / "activations.json").write_text(json.dumps(props, indent=2, ensure_ascii=False) + "\n")
    (out / "activations.md").write_text(
        "# Activation functions\n\n![f and f'](activations.png)\n\n" + markdown_table(props, relative) + "\n")
    return props
