"""The one JSON shape of a prediction, written by `cnnlab predict` (per image), `cnnlab live` and `cnnlab serve`
(per face; docs/cli.md): {"label": the most likely class, "probabilities": {class: p}}, the probabilities rounded
to 6 decimals and listed in the model's class order (with `predict --top K`: only the K most likely classes)."""

from __future__ import annotations

DECIMALS = 6


def prediction(classes, probs, top: int = 0) -> dict:
    """{"label", "probabilities"} of one probability vector (any sequence of floats, in `classes` order)."""
    p = [float(v) for v in probs]
    best = max(range(len(p)), key=p.__getitem__)
    keep = set(sorted(range(len(p)), key=lambda i: -p[i])[:top]) if top else range(len(p))
    return {"label": classes[best],
            "probabilities": {c: round(v, DECIMALS) for i, (c, v) in enumerate(zip(classes, p)) if i in keep}}
