"""What a trained CNN looks at: first-layer filters, feature maps of chosen layers, Grad-CAM and saliency.

    image (read_image / 255) -> model with forward hooks on the chosen layers -> feature maps
    score of the class -> gradients w.r.t. the last conv stage (Grad-CAM) and w.r.t. the pixels (saliency)

Layers are named as in `model.named_modules()`. The default layers are the outputs of the conv stages: in
every nn.Sequential, the module right before each pooling layer (cnn: 3 stages, fer-vgg: 4). Grad-CAM
(Selvaraju et al., 2017) uses the last of them; saliency is |d score / d pixel| (Simonyan et al., 2014).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.prediction import prediction

POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


# ---------------------------------------------------------------------------------------------------------------
# Which layers

def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def _has_conv(module: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in module.modules())


def stage_outputs(model: nn.Module) -> list[str]:
    """Names of the modules whose outputs end a conv stage (the module before each pooling layer)."""
    names = []
    for parent_name, parent in model.named_modules():
        if not isinstance(parent, nn.Sequential):
            continue
        kids = list(parent.named_children())
        for i in range(1, len(kids)):
            if isinstance(kids[i][1], POOLS) and _has_conv(kids[i - 1][1]):
                names.append(f"{parent_name}.{kids[i - 1][0]}" if parent_name else kids[i - 1][0])
    return names or [n for n, _ in conv_layers(model)]


def check_layers(model: nn.Module, names: list[str]) -> None:
    known = [n for n, _ in model.named_modules() if n]
    wrong = [n for n in names if n not in known]
    if wrong:
        raise UsageError(f"--layers: no layer named {', '.join(map(repr, wrong))}; this model's layers are: "
                         f"{', '.join(known)}")


def require_conv(model: nn.Module, what: str) -> None:
    if not conv_layers(model):
        raise UsageError(f"{what} has no convolutional layer (it is a {model.__class__.__name__}): there are no "
                         "filters, feature maps or Grad-CAM to show; visualize a cnn, cnn-factorized or fer-vgg run")


# ---------------------------------------------------------------------------------------------------------------
# First-layer filters

def first_filters(model: nn.Module) -> tuple[torch.Tensor, str]:
    """The first conv layer's filters [out, in, kh, kw] and a caption.

    A factorized model's first conv is k×1, followed by 1×k with no non-linearity between them: the pair is one
    linear filter bank, so we show its effective k×k filters W[o, i, a, b] = sum_m W2[o, m, 0, b] W1[m, i, a, 0].
    """
    from cnnlab.models.cnn import FactorizedConv2d
    for name, module in model.named_modules():
        if isinstance(module, FactorizedConv2d):
            w1, w2 = module[0].weight.detach(), module[1].weight.detach()
            eff = torch.einsum("omb,mia->oiab", w2[:, :, 0, :], w1[:, :, :, 0])
            return eff, (f"{name}: effective {eff.shape[2]}×{eff.shape[3]} filters of the factorized pair "
                         f"({w1.shape[2]}×1 then 1×{w2.shape[3]}, rank 1 per channel path)")
        if isinstance(module, nn.Conv2d):
            w = module.weight.detach()
            return w, f"{name}: first conv layer, {w.shape[0]} filters {w.shape[2]}×{w.shape[3]}×{w.shape[1]}"
    raise UsageError("the model has no convolutional layer")


# ---------------------------------------------------------------------------------------------------------------
# One forward/backward pass with hooks

def inspect(model: nn.Module, x: torch.Tensor, layers: list[str], cam_layer: str, target: int | None = None) -> dict:
    """Run one image x [1, C, H, W] in [0, 1] through the model.

    Returns probabilities, the target class (default: the predicted one), the feature maps of `layers`
    ({name: [C, h, w]}), the Grad-CAM map [H, W] in [0, 1] of `cam_layer`, and the saliency map [H, W] in [0, 1].
    """
    modules = dict(model.named_modules())
    maps, cam_act = {}, {}

    def hook(name):
        def fn(module, inputs, output):
            if name in layers:
                maps[name] = output.detach().clone()[0]  # clone: a later in-place ReLU must not change it
            if name == cam_layer:
                cam_act["a"] = output
        return fn

    handles = [modules[n].register_forward_hook(hook(n)) for n in dict.fromkeys(layers + [cam_layer])]
    try:
        model.eval()
        x = x.clone().requires_grad_(True)
        with torch.enable_grad():
            logits = model(x)
            probs = logits.softmax(1)[0].detach()
            target = int(probs.argmax()) if target is None else target
            a = cam_act["a"]
            grad_a, grad_x = torch.autograd.grad(logits[0, target], [a, x])
    finally:
        for h in handles:
            h.remove()
    if a.ndim != 4:
        raise UsageError(f"Grad-CAM layer {cam_layer!r} outputs shape {list(a.shape)}, not feature maps")
    weights = grad_a.mean((2, 3), keepdim=True)  # one weight per channel: the average gradient
    cam = F.relu((weights * a.detach()).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)[0, 0]
    saliency = grad_x.abs().amax(1)[0]
    return {"probs": probs.cpu(), "target": target, "maps": {k: v.cpu() for k, v in maps.items()},
            "gradcam": _unit(cam).cpu(), "saliency": _unit(saliency).cpu()}


def _unit(t: torch.Tensor) -> torch.Tensor:
    t = t - t.min()
    return t / t.max() if t.max() > 0 else t


# ---------------------------------------------------------------------------------------------------------------
# Figures

def _show_image(ax, img: np.ndarray) -> None:
    """img float [C, H, W] in [0, 1]."""
    if img.shape[0] == 1:
        ax.imshow(img[0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(img.transpose(1, 2, 0))


def plot_filters(weights: torch.Tensor, caption: str, path: Path) -> Path:
    """One cell per filter. Gray input: a shared symmetric blue-white-red scale; RGB input: each filter min-max."""
    import matplotlib.pyplot as plt

    from cnnlab.plots import save
    w = weights.float().cpu().numpy()
    n = len(w)
    cols = min(16, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.8, rows * 0.8 + 0.6), squeeze=False)
    m = float(np.abs(w).max()) or 1.0
    im = None
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i >= n:
            continue
        if w.shape[1] == 3:
            f = w[i] - w[i].min()
            ax.imshow((f / (f.max() or 1.0)).transpose(1, 2, 0), interpolation="nearest")
        else:
            im = ax.imshow(w[i].mean(0), cmap="bwr", vmin=-m, vmax=m, interpolation="nearest")
        ax.set_title(str(i), fontsize=7)
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.02)
    fig.suptitle(caption, fontsize=9)
    return save(fig, path)


def plot_maps(name: str, maps: torch.Tensor, path: Path, max_maps: int) -> Path:
    """The `max_maps` most active channels of one layer's output [C, h, w], each on its own scale."""
    import matplotlib.pyplot as plt

    from cnnlab.plots import save
    order = maps.flatten(1).mean(1).argsort(descending=True)[:max_maps].tolist()
    cols = min(8, len(order))
    rows = (len(order) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.3, rows * 1.4 + 0.5), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, c in zip(axes.ravel(), order):
        ax.imshow(maps[c].numpy(), cmap="viridis", interpolation="nearest")
        ax.set_title(f"ch {c}", fontsize=7)
    fig.suptitle(f"{name}: {len(order)} of {maps.shape[0]} channels ({maps.shape[1]}×{maps.shape[2]}), "
                 "most active first", fontsize=9)
    return save(fig, path)


def plot_gradcam(img: np.ndarray, cam: torch.Tensor, saliency: torch.Tensor, title: str, cam_layer: str,
                 path: Path) -> Path:
    import matplotlib.pyplot as plt

    from cnnlab.plots import save
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
    _show_image(axes[0], img)
    axes[0].set_title("input")
    _show_image(axes[1], img)
    axes[1].imshow(cam.numpy(), cmap="jet", alpha=0.45, vmin=0, vmax=1)
    axes[1].set_title(f"Grad-CAM ({cam_layer})", fontsize=9)
    axes[2].imshow(saliency.numpy(), cmap="hot", vmin=0, vmax=1)
    axes[2].set_title("saliency |d score / d pixel|", fontsize=9)
    for ax in axes:
        ax.axis("off")
    fig.suptitle(title)
    return save(fig, path)


# ---------------------------------------------------------------------------------------------------------------
# The command

def visualize(model: nn.Module, ckpt: dict, image: Path, out: Path, layers: list[str] | None = None,
              target: str | None = None, max_maps: int = 32, device="cpu", name: str = "model",
              whole_image: bool = False, face: int = 0) -> dict:
    """Write filters.png, featuremaps_<layer>.png, gradcam.png and prediction.json into `out`; return the JSON.

    A face model given a photo (cnnlab.photo) looks at face number `face` (left to right) of the faces that
    `cnnlab live --image` finds in it, cropped as it crops them; `whole_image` takes the whole image instead."""
    from cnnlab import photo
    from cnnlab.data.images import read_image
    from cnnlab.engine.checkpoint import atomic_write_json
    require_conv(model, f"{name} (model {ckpt.get('arch')!r})")
    image = Path(image)
    if not image.is_file():
        raise UsageError(f"--image {image}: no such file")
    classes = list(ckpt["classes"])
    if target is not None and target not in classes:
        raise UsageError(f"--target {target!r} is not one of the model's classes {classes}")
    stages = stage_outputs(model)
    layers = list(layers) if layers else stages
    check_layers(model, layers)
    cam_layer = stages[-1]

    found = None
    if photo.needs_faces(image, ckpt, whole_image):
        boxes, crops = photo.find_faces(image, name)
        if not len(boxes):
            raise photo.no_face(image)
        if face >= len(boxes):
            raise UsageError(f"--face {face}: {image} has {len(boxes)} face(s), numbered 0 to {len(boxes) - 1} from "
                             "left to right")
        found = {"index": face, "faces": len(boxes), "box": [int(v) for v in boxes[face]]}
        img = crops[face].astype(np.float32) / 255
    else:
        img = read_image(image, ckpt["input_shape"]).astype(np.float32) / 255
    x = torch.from_numpy(img)[None].to(device)
    r = inspect(model, x, layers, cam_layer, None if target is None else classes.index(target))

    for layer in layers:
        if r["maps"][layer].ndim != 3:
            raise UsageError(f"--layers: {layer!r} outputs shape {list(r['maps'][layer].shape)}, not feature maps; "
                             f"choose a convolutional layer, e.g. {', '.join(stages)}")
    out = Path(out)
    files = [plot_filters(*first_filters(model), out / "filters.png")]
    for layer in layers:
        files.append(plot_maps(layer, r["maps"][layer], out / f"featuremaps_{layer}.png", max_maps))
    probs = r["probs"]
    pred = classes[int(probs.argmax())]
    title = f"predicted {pred} ({float(probs.max()):.2f}); Grad-CAM and saliency for {classes[r['target']]}"
    if found:
        title = f"face {face} of {found['faces']} at {found['box']}: {title}"
    files.append(plot_gradcam(img, r["gradcam"], r["saliency"], title, cam_layer, out / "gradcam.png"))
    result = {"image": str(image), **({"face": found} if found else {}), "model": name, "arch": ckpt.get("arch"),
              **prediction(classes, probs.tolist()),
              "gradcam": {"layer": cam_layer, "class": classes[r["target"]]}, "layers": layers,
              "files": [p.name for p in files] + ["prediction.json"]}
    atomic_write_json(out / "prediction.json", result)
    return result
