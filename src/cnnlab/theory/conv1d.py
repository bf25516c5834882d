"""Backpropagation through a tiny 1-D convolutional network, by hand (closed form), checked against autograd.

Network (the assignment's, for 5 inputs, 3 taps and 2 output weights; any sizes work here):

    z_j = sum_i k_i x_{j+i-1} + b          j = 1..n-t+1   (valid cross-correlation, as torch's conv1d)
    v_j = max(z_j, z_{j+1}, 0)              j = 1..n-t     (max pooling, window 2, stride 1, then ReLU)
    y_hat = sum_j w_j v_j + a
    L = 1/2 (y - y_hat)^2

Gradients (e = y_hat - y):
    dL/dy_hat = e,  dL/da = e,  dL/dw_j = e v_j,  dL/dv_j = e w_j
    dL/dz_m  = alpha_m = sum over the pools j that z_m wins of dL/dv_j
    dL/dk_i  = sum_j alpha_j x_{j+i-1},  dL/db = sum_j alpha_j,  dL/dx_m = sum_j alpha_j k_{m-j+1}

Subgradient convention at ties (the one torch's max_pool1d and relu use, so autograd agrees exactly):
a tie z_j = z_{j+1} sends the whole gradient to z_j (the first), and a pool whose maximum is <= 0 (ReLU at or
below zero, relu'(0) = 0) passes no gradient.

Indices are 1-based in the formulas above and 0-based in the code.
"""

from __future__ import annotations

from cnnlab.errors import UsageError

# The worked example of the docs and the CLI's defaults (no ties, and one conv output that gets no gradient).
EXAMPLE = {"x": [3.0, 1.0, 2.0, -1.0, 0.5], "k": [0.5, -1.0, 0.25], "b": 0.1, "w": [0.7, -0.3], "a": 0.2, "y": 1.0}


def conv1d(x: list[float], k: list[float], b: float) -> list[float]:
    t = len(k)
    return [sum(k[i] * x[j + i] for i in range(t)) + b for j in range(len(x) - t + 1)]


def conv1d_grads(x: list[float], k: list[float], alpha: list[float]) -> dict:
    """Gradients of a valid 1-D cross-correlation z = conv1d(x, k) + b given alpha = dL/dz, for any sizes."""
    n, t = len(x), len(k)
    if len(alpha) != n - t + 1:
        raise UsageError(f"dL/dz has {len(alpha)} values but conv1d of {n} inputs with {t} taps has {n - t + 1}")
    dk = [sum(alpha[j] * x[j + i] for j in range(len(alpha))) for i in range(t)]
    db = sum(alpha)
    dx = [sum(alpha[j] * k[m - j] for j in range(len(alpha)) if 0 <= m - j < t) for m in range(n)]
    return {"dL_dk": dk, "dL_db": db, "dL_dx": dx}


def _pool_winner(z: list[float], j: int) -> int | None:
    """Index of z that v_j = max(z_j, z_{j+1}, 0) takes its gradient from, or None (the 0 wins)."""
    m = j if z[j] >= z[j + 1] else j + 1
    return m if z[m] > 0 else None


def forward_backward(x, k, b, w, a, y) -> dict:
    x, k, w = [float(v) for v in x], [float(v) for v in k], [float(v) for v in w]
    b, a, y = float(b), float(a), float(y)
    if len(k) < 1 or len(x) < len(k) + 1:
        raise UsageError(f"need at least one tap and more inputs than taps (got {len(x)} inputs, {len(k)} taps): "
                         "the conv must give at least 2 values for the max pooling")
    if len(w) != len(x) - len(k):
        raise UsageError(f"--w needs {len(x) - len(k)} values (one per pooled output: {len(x)} inputs, "
                         f"{len(k)} taps -> {len(x) - len(k) + 1} conv outputs -> {len(x) - len(k)} pools), "
                         f"got {len(w)}")
    z = conv1d(x, k, b)
    v = [max(z[j], z[j + 1], 0.0) for j in range(len(w))]
    y_hat = sum(wj * vj for wj, vj in zip(w, v)) + a
    e = y_hat - y
    dv = [e * wj for wj in w]
    dz = [0.0] * len(z)
    for j in range(len(v)):
        m = _pool_winner(z, j)
        if m is not None:
            dz[m] += dv[j]
    grads = conv1d_grads(x, k, dz)
    return {"z": z, "v": v, "y_hat": y_hat, "loss": 0.5 * e * e, "dL_dy_hat": e,
            "dL_dw": [e * vj for vj in v], "dL_da": e, "dL_dv": dv, "dL_dz": dz, **grads}


GRADIENTS = ("dL_dw", "dL_da", "dL_dk", "dL_db", "dL_dx")


def autograd(x, k, b, w, a, y) -> dict:
    """The same network with torch (float64) and its autograd gradients."""
    import torch
    import torch.nn.functional as F

    t = {name: torch.tensor(val, dtype=torch.float64, requires_grad=True)
         for name, val in (("x", x), ("k", k), ("b", b), ("w", w), ("a", a))}
    z = F.conv1d(t["x"].view(1, 1, -1), t["k"].view(1, 1, -1), t["b"].view(1)).view(-1)
    z.retain_grad()
    v = F.relu(F.max_pool1d(z.view(1, 1, -1), kernel_size=2, stride=1)).view(-1)
    v.retain_grad()
    y_hat = (t["w"] * v).sum() + t["a"]
    loss = 0.5 * (float(y) - y_hat) ** 2
    loss.backward()
    return {"y_hat": y_hat.item(), "loss": loss.item(), "dL_dv": v.grad.tolist(), "dL_dz": z.grad.tolist(),
            "dL_dw": t["w"].grad.tolist(), "dL_da": t["a"].grad.item(), "dL_dk": t["k"].grad.tolist(),
            "dL_db": t["b"].grad.item(), "dL_dx": t["x"].grad.tolist()}


def max_abs_diff(mine: dict, theirs: dict) -> float:
    diff = 0.0
    for key in ("y_hat", "loss", "dL_dv", "dL_dz", *GRADIENTS):
        a, b = mine[key], theirs[key]
        a, b = (a, b) if isinstance(a, list) else ([a], [b])
        diff = max([diff] + [abs(p - q) for p, q in zip(a, b, strict=True)])
    return diff


def format_result(r: dict) -> str:
    def fmt(v):
        return "[" + ", ".join(f"{u:.6g}" for u in v) + "]" if isinstance(v, list) else f"{v:.6g}"
    keys = ("z", "v", "y_hat", "loss", "dL_dy_hat", "dL_dw", "dL_da", "dL_dv", "dL_dz", "dL_dk", "dL_db", "dL_dx")
    width = max(map(len, keys))
    return "\n".join(f"{key.ljust(width)}  {fmt(r[key])}" for key in keys)
