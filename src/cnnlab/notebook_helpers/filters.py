"""Do a face network's filters learn specific, explainable features? Measurements that answer P2 (b):

- `first_layer`: every first-layer k×k filter split into its mean (a brightness/smoothing filter), its linear
  ramp (an oriented edge detector; the ramp's direction gives the edge's orientation) and the rest (spots, lines,
  corners); each filter is named by the part that holds most of its energy.
- `channels`: for one conv stage, each channel's mean activation over faces; where on the face it fires (the eye
  band vs the mouth band of the aligned 48×48 FER faces) and which expression drives it most (a selectivity index).
- `occlusion`: accuracy and per-class recall when the eye band or the mouth band is replaced by the mean face.

All on a trained model in eval mode, on uint8 faces [N, 1, H, W] (the model's own input convention: pixels / 255).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

# Bands of the aligned 48×48 FER-2013 faces (rows; scaled for other sizes): the average face has its brows and
# eyes in rows 8-24 and its mouth in rows 30-44.
EYES = (8 / 48, 24 / 48)
MOUTH = (30 / 48, 44 / 48)
KINDS = ("edge", "spot/line", "smoothing")
REGIONS = ("eyes", "mouth", "elsewhere")


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d]:
    return next((n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d))


def decompose(w: np.ndarray) -> dict:
    """A k×k filter (k odd) = mean + linear ramp a·x + b·y + rest; the share of the energy in each part."""
    k = w.shape[-1]
    r = np.arange(k) - (k - 1) / 2
    y, x = np.meshgrid(r, r, indexing="ij")
    energy = float((w ** 2).sum()) or 1e-12
    mean = float(w.mean())
    centred = w - mean
    a = float((centred * x).sum() / (x ** 2).sum())
    b = float((centred * y).sum() / (y ** 2).sum())
    ramp = a * x + b * y
    shares = {"smoothing": mean ** 2 * w.size / energy, "edge": float((ramp ** 2).sum()) / energy}
    shares["spot/line"] = max(0.0, 1.0 - shares["smoothing"] - shares["edge"])
    kind = "edge" if shares["edge"] >= 0.5 else "smoothing" if shares["smoothing"] >= 0.5 else "spot/line"
    # the ramp grows along (a, b) (x to the right, y down); the edge it detects runs across that direction
    gradient = math.degrees(math.atan2(b, a)) % 180
    edge = (gradient + 90) % 180
    orientation = ("vertical" if edge >= 67.5 and edge < 112.5 else
                   "horizontal" if edge < 22.5 or edge >= 157.5 else "diagonal")
    return {"kind": kind, "shares": {k: round(v, 4) for k, v in shares.items()},
            "edge_angle": round(edge, 1), "orientation": orientation if kind == "edge" else None}


def chance_shares(k: int) -> dict:
    """The expected shares of a filter of independent random weights: 1, 2 and k² − 3 of its k² degrees of freedom."""
    return {"smoothing": 1 / k ** 2, "edge": 2 / k ** 2, "spot/line": (k ** 2 - 3) / k ** 2}


def first_layer(model: nn.Module) -> dict:
    """Kinds of the first conv layer's filters (summed over input channels for a colour model). A filter is an
    edge detector when its linear ramp holds at least half its energy (2.25 times what chance gives a 3×3 filter),
    a smoothing filter when its mean does, else a spot/line filter."""
    name, conv = first_conv(model)
    weights = conv.weight.detach().float().cpu().numpy().sum(1)  # [out, k, k]
    filters = [dict(index=i, **decompose(w)) for i, w in enumerate(weights)]
    counts = {k: sum(f["kind"] == k for f in filters) for k in KINDS}
    orientations = {o: sum(f["orientation"] == o for f in filters) for o in ("horizontal", "vertical", "diagonal")}
    mean_shares = {k: float(np.mean([f["shares"][k] for f in filters])) for k in KINDS}
    return {"layer": name, "kernel": list(conv.kernel_size), "filters": filters, "counts": counts,
            "edge_orientations": orientations, "total": len(filters), "mean_shares": mean_shares,
            "chance_shares": chance_shares(conv.kernel_size[0])}


@torch.inference_mode()
def _activations(model: nn.Module, images: torch.Tensor, layer: str, batch: int = 128) -> torch.Tensor:
    module = dict(model.named_modules())[layer]
    out = []
    hook = module.register_forward_hook(lambda m, i, o: out.append(o.detach().float().cpu()))
    try:
        for s in range(0, len(images), batch):
            model(images[s: s + batch].float() / 255)
    finally:
        hook.remove()
    return torch.cat(out)


def _band(h: int, band: tuple[float, float]) -> slice:
    return slice(int(round(band[0] * h)), max(int(round(band[0] * h)) + 1, int(round(band[1] * h))))


def channels(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, classes: list[str], layer: str) -> dict:
    """Per channel of `layer`: where on the face it fires (the row of its mean map's peak, at the image's
    resolution) and which class drives it most."""
    import torch.nn.functional as F
    model.eval()
    acts = _activations(model, images, layer)  # [N, C, h, w]
    n, c, h, w = acts.shape
    mean_map = acts.mean(0)  # [C, h, w]
    height, width = images.shape[-2:]
    eyes, mouth = _band(height, EYES), _band(height, MOUTH)

    def region(m: torch.Tensor) -> str:
        fine = F.interpolate(m[None, None], size=(height, width), mode="bilinear", align_corners=False)[0, 0]
        peak = int(fine.flatten().argmax()) // width
        if eyes.start <= peak < eyes.stop:
            return "eyes"
        return "mouth" if mouth.start <= peak < mouth.stop else "elsewhere"

    per_class = torch.stack([acts[labels == k].mean((0, 2, 3)) if (labels == k).any() else torch.zeros(c)
                             for k in range(len(classes))], 1)  # [C, K]
    # a class that excites every channel (e.g. high-contrast surprised faces) should not be every channel's
    # favourite: each class's responses are divided by that class's mean over the channels first
    relative = per_class / per_class.mean(0, keepdim=True).clamp(min=1e-12)
    rows = []
    for ch in range(c):
        m = mean_map[ch]
        resp = relative[ch]
        best = int(resp.argmax())
        others = float(torch.cat([resp[:best], resp[best + 1:]]).mean()) if len(classes) > 1 else 0.0
        top = float(resp[best])
        selectivity = (top - others) / (top + others) if top + others > 1e-12 else 0.0
        rows.append({"channel": ch, "region": region(m), "mean": float(m.mean()),
                     "prefers": classes[best], "selectivity": selectivity})
    active = [r for r in rows if r["mean"] > 1e-6]
    # for each expression, the channel it excites most relative to that channel's response to the others
    ratio = relative / relative.mean(1, keepdim=True).clamp(min=1e-12)
    by_class = []
    for k, name in enumerate(classes):
        if not (labels == k).any():
            continue
        ch = int(ratio[:, k].argmax())
        m = acts[labels == k, ch].mean(0)
        by_class.append({"class": name, "channel": ch, "ratio": float(ratio[ch, k]), "region": region(m), "map": m,
                         "faces": int((labels == k).sum())})
    return {"layer": layer, "shape": [c, h, w], "faces": n, "channels": rows, "active": len(active),
            "by_class": by_class,
            "regions": {k: sum(r["region"] == k for r in active) for k in REGIONS},
            "bands": {"eyes": [eyes.start, eyes.stop], "mouth": [mouth.start, mouth.stop]},
            "prefers": {k: sum(r["prefers"] == k for r in active) for k in classes}, "mean_map": mean_map}


def most_selective(study: dict, top: int = 8) -> list[dict]:
    return sorted((r for r in study["channels"] if r["mean"] > 1e-6), key=lambda r: -r["selectivity"])[:top]


@torch.inference_mode()
def occlusion(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, classes: list[str]) -> dict:
    """Accuracy and recall per class on the faces as they are, with the eye band and with the mouth band replaced
    by the mean face."""
    model.eval()
    h = images.shape[-2]
    mean_face = images.float().mean(0, keepdim=True).round().to(images.dtype)
    out = {}
    for name, band in (("none", None), ("eyes", EYES), ("mouth", MOUTH)):
        x = images.clone()
        if band:
            rows = _band(h, band)
            x[:, :, rows] = mean_face[:, :, rows]
        preds = torch.cat([model(x[s: s + 256].float() / 255).argmax(1) for s in range(0, len(x), 256)])
        recall = {c: float((preds[labels == k] == k).float().mean()) if (labels == k).any() else None
                  for k, c in enumerate(classes)}
        out[name] = {"accuracy": float((preds == labels).float().mean()), "recall": recall}
    return out


def balanced_sample(labels: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of up to n faces, as many of each class as there are (round robin), in a seeded order."""
    g = torch.Generator().manual_seed(seed)
    pools = [torch.nonzero(labels == k).flatten() for k in range(int(labels.max()) + 1)]
    pools = [p[torch.randperm(len(p), generator=g)] for p in pools]
    picked, i = [], 0
    while len(picked) < min(n, len(labels)):
        for p in pools:
            if i < len(p) and len(picked) < n:
                picked.append(int(p[i]))
        i += 1
    return torch.tensor(sorted(picked))


# ---------------------------------------------------------------------------------------------------------------
# Figures

def plot_first_layer(model: nn.Module, result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnnlab.atomic import atomic_path
    _, conv = first_conv(model)
    weights = conv.weight.detach().float().cpu().numpy().sum(1)
    n = len(weights)
    cols = min(8, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.45 * cols, 1.85 * rows + 0.5), squeeze=False)
    colours = {"edge": "#1565c0", "spot/line": "#c62828", "smoothing": "#2e7d32"}
    for ax, w, f in zip(axes.flat, weights, result["filters"]):
        lim = float(np.abs(w).max()) or 1.0
        ax.imshow(w, cmap="gray", vmin=-lim, vmax=lim)
        label = f["kind"] + (f"\n{f['orientation']}" if f["orientation"] else "\n ")
        ax.set_title(f"{f['index']}: {label}", fontsize=7.5, color=colours[f["kind"]])
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    c = result["counts"]
    fig.suptitle(f"first-layer filters ({result['layer']}, {result['kernel'][0]}×{result['kernel'][1]}): "
                 f"{c['edge']} edge, {c['spot/line']} spot/line, {c['smoothing']} smoothing", fontsize=9.5)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def plot_channels(images: torch.Tensor, labels: torch.Tensor, classes: list[str], study: dict, path: Path) -> None:
    """For each expression, the channel it excites most: that channel's mean activation over the faces of the
    expression, on their mean face."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch.nn.functional as F

    from cnnlab.atomic import atomic_path
    picks = study["by_class"]
    cols = min(4, len(picks))
    rows = math.ceil(len(picks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols, 2.95 * rows + 0.6), squeeze=False)
    for ax, r in zip(axes.flat, picks):
        face = images[labels == classes.index(r["class"])].float().mean(0)[0].numpy()
        h, w = face.shape
        up = F.interpolate(r["map"][None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0].numpy()
        ax.imshow(face, cmap="gray")
        ax.imshow(up, cmap="inferno", alpha=0.55)
        for band, colour in ((EYES, "#64b5f6"), (MOUTH, "#81c784")):
            for edge in band:
                ax.axhline(edge * h - 0.5, color=colour, lw=0.8, ls="--")
        ax.set_title(f"{r['class']}: channel {r['channel']}\n{r['region']}, ×{r['ratio']:.2f}", fontsize=8.5)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(picks):]:
        ax.axis("off")
    fig.suptitle(f"{study['layer']} ({study['shape'][1]}×{study['shape'][2]}), {study['faces']} test faces: "
                 "the channel "
                 "each expression excites most\n(×: response to it / mean response; dashed: eye and mouth bands)",
                 fontsize=8.5)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
