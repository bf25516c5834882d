"""Regression losses: MSE, RMSE and the normalized / relative variants.

    mse          mean((y - y_hat)^2)                   units of y squared
    rmse         sqrt(mse)                             units of y
    nrmse_range  rmse / (max(y) - min(y))              unitless
    nrmse_mean   rmse / mean(y)                        unitless (same value as rrmse; some report it in %)
    nrmse_std    rmse / std(y)  (population std)       unitless; 1.0 = as good as predicting the mean
    nrmse_iqr    rmse / (Q3 - Q1)  (numpy percentiles, linear interpolation)   unitless, robust scale
    rrmse        rmse / mean(y)                        a fraction
    rmsre        sqrt(mean(((y - y_hat) / y)^2))       relative error of every sample

A metric whose denominator is zero is undefined: it is None (null in JSON) and `undefined` says why.
"""

from __future__ import annotations

import math

from cnnlab.errors import UsageError

METRICS = ("mse", "rmse", "nrmse_range", "nrmse_mean", "nrmse_std", "nrmse_iqr", "rrmse", "rmsre")


def parse_numbers(text: str, option: str) -> list[float]:
    values = []
    for item in text.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            value = float(item)
        except ValueError:
            raise UsageError(f"{option}: {item!r} is not a number; give comma-separated numbers like 1,2.5,3") from None
        if not math.isfinite(value):
            raise UsageError(f"{option}: {item!r} is not a finite number")
        values.append(value)
    if not values:
        raise UsageError(f"{option}: no numbers given; give comma-separated numbers like 1,2.5,3")
    return values


def _percentile(sorted_values: list[float], q: float) -> float:
    """numpy.percentile's default ('linear'): position q/100·(n-1) between the sorted values."""
    pos = q / 100 * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def regression_losses(y_true: list[float], y_pred: list[float]) -> dict:
    if len(y_true) != len(y_pred):
        raise UsageError(f"--y-true has {len(y_true)} values but --y-pred has {len(y_pred)}; give one prediction "
                         "per true value")
    if not y_true:
        raise UsageError("no values given")
    n = len(y_true)
    mse = sum((t - p) ** 2 for t, p in zip(y_true, y_pred)) / n
    rmse = math.sqrt(mse)
    mean = sum(y_true) / n
    std = math.sqrt(sum((t - mean) ** 2 for t in y_true) / n)
    s = sorted(y_true)
    scales = {
        "nrmse_range": (s[-1] - s[0], "max(y_true) - min(y_true) is 0 (all true values are equal)"),
        "nrmse_mean": (mean, "mean(y_true) is 0"),
        "nrmse_std": (std, "the standard deviation of y_true is 0 (all true values are equal)"),
        "nrmse_iqr": (_percentile(s, 75) - _percentile(s, 25), "the interquartile range of y_true is 0"),
        "rrmse": (mean, "mean(y_true) is 0"),
    }
    out: dict = {"n": n, "mse": mse, "rmse": rmse}
    undefined: dict[str, str] = {}
    for name, (scale, why) in scales.items():
        if scale == 0:
            out[name] = None
            undefined[name] = f"{name} is undefined: {why}, so rmse cannot be divided by it"
        else:
            out[name] = rmse / scale
    if any(t == 0 for t in y_true):
        zeros = [i for i, t in enumerate(y_true) if t == 0]
        out["rmsre"] = None
        undefined["rmsre"] = (f"rmsre is undefined: y_true is 0 at position(s) {zeros}, and the relative error "
                              "(y - y_hat)/y divides by it")
    else:
        out["rmsre"] = math.sqrt(sum(((t - p) / t) ** 2 for t, p in zip(y_true, y_pred)) / n)
    out["undefined"] = undefined
    return out


def format_result(r: dict) -> str:
    lines = [f"{name.ljust(12)} {r[name]:.6g}" if r[name] is not None else f"{name.ljust(12)} undefined"
             for name in METRICS]
    lines += [f"note: {why}" for why in r["undefined"].values()]
    return "\n".join(lines)
