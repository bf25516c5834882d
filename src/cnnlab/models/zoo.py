"""torchvision models with cnnlab's conventions: float images in [0, 1] in, normalisation (and resizing) inside.

- `ResNet`: torchvision's ResNet-18/50 with a new `num_classes`-way final layer (`net.fc`), ImageNet
  normalisation, and an `image_size` the input is resized to on the device (224 for ImageNet weights; the
  native 32 for CIFAR works too). `features(x)` is everything before the final layer (2048 values for ResNet-50).
  Pretrained weights are loaded *after* construction by `load_weights` (ImageNet via torchvision's weights API, or
  a local state-dict file), so rebuilding a trained checkpoint never downloads anything.
- `MobileNetV2`: torchvision's MobileNetV2 from scratch; `cifar_stem=True` keeps the resolution early (the first
  convolution and the first 24-channel block use stride 1, as kuangliu/pytorch-cifar does), so a 32×32 image
  ends at 4×4 instead of 1×1.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from cnnlab.errors import DataError, UsageError
from cnnlab.models.common import Normalize

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
# depth -> (torchvision constructor, weights enum, the ImageNet weights used by --weights imagenet)
RESNETS = {18: ("resnet18", "ResNet18_Weights", "IMAGENET1K_V1"), 50: ("resnet50", "ResNet50_Weights", "IMAGENET1K_V2")}
# kuangliu/pytorch-cifar's MobileNetV2: (expansion t, channels c, blocks n, stride s); the 24-channel stage has stride 1
CIFAR_SETTING = [[1, 16, 1, 1], [6, 24, 2, 1], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
                 [6, 320, 1, 1]]


def _rgb(x: torch.Tensor) -> torch.Tensor:
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


class ResNet(nn.Module):
    def __init__(self, num_classes, input_shape, mean=IMAGENET_MEAN, std=IMAGENET_STD, depth=50, image_size=None,
                 normalize="imagenet", dropout=0.0, backbone_lr_scale=1.0):
        super().__init__()
        if depth not in RESNETS:
            raise UsageError(f"ResNet depth must be one of {sorted(RESNETS)}, not {depth}")
        if input_shape[0] not in (1, 3):
            raise UsageError(f"ResNet takes RGB (or gray) images, not {input_shape[0]} channels")
        if normalize not in ("imagenet", "dataset"):
            raise UsageError(f"normalize must be 'imagenet' or 'dataset', not {normalize!r}")
        self.depth = depth
        self.image_size = int(image_size or input_shape[1])
        self.norm = Normalize(*((IMAGENET_MEAN, IMAGENET_STD) if normalize == "imagenet" else (mean, std)))
        self.net = getattr(torchvision.models, RESNETS[depth][0])(num_classes=num_classes)
        self.dropout = nn.Dropout(dropout)
        if backbone_lr_scale != 1.0:  # read by the engine's optimiser: the final layer at full rate, the rest scaled
            self.lr_scales = {"net.fc.": 1.0, "": float(backbone_lr_scale)}

    @property
    def head(self) -> nn.Linear:
        return self.net.fc

    def features(self, x):
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(_rgb(self.norm(x))))))
        x = n.layer4(n.layer3(n.layer2(n.layer1(x))))
        return torch.flatten(n.avgpool(x), 1)

    def forward(self, x):
        return self.net.fc(self.dropout(self.features(x)))


class MobileNetV2(nn.Module):
    def __init__(self, num_classes, input_shape, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), cifar_stem=False,
                 width_mult=1.0, dropout=0.2):
        super().__init__()
        if input_shape[0] not in (1, 3):
            raise UsageError(f"MobileNetV2 takes RGB (or gray) images, not {input_shape[0]} channels")
        self.norm = Normalize(mean, std)
        self.net = torchvision.models.mobilenet_v2(num_classes=num_classes, width_mult=width_mult, dropout=dropout,
                                                   inverted_residual_setting=CIFAR_SETTING if cifar_stem else None)
        if cifar_stem:
            self.net.features[0][0].stride = (1, 1)

    def forward(self, x):
        return self.net(_rgb(self.norm(x)))


# ---------------------------------------------------------------------------------------------------------------
# Pretrained weights for ResNet's backbone (the final layer stays new).

def imagenet_state_dict(depth: int) -> dict:
    """torchvision's ImageNet weights (downloaded once into torch's hub cache, hash-checked)."""
    _, enum, name = RESNETS[depth]
    weights = getattr(getattr(torchvision.models, enum), name)
    try:
        return weights.get_state_dict(progress=False, check_hash=True)
    except Exception as e:  # offline, proxy, disk full
        raise DataError(f"--weights imagenet: could not get {enum}.{name} ({e.__class__.__name__}: {e}); without "
                        f"internet, download {weights.url} elsewhere and pass --weights FILE") from None


def read_state_dict(path: str | Path) -> dict:
    """A state dict from a file: a plain state dict, or a dict holding one under 'model' / 'state_dict'."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--weights {path}: no such file; give imagenet, none, or a state-dict file (.pth/.pt)")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise DataError(f"--weights {path}: not a readable PyTorch weights file ({e.__class__.__name__})") from None
    if isinstance(sd, dict):
        for key in ("model", "state_dict"):
            if isinstance(sd.get(key), dict):
                sd = sd[key]
                break
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise DataError(f"--weights {path}: expected a state dict (parameter name -> tensor)")
    return {k.removeprefix("module."): v for k, v in sd.items()}


def _names(keys, limit=6) -> str:
    keys = sorted(keys)
    return ", ".join(keys[:limit]) + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def load_backbone(model: ResNet, state_dict: dict, where: str, check_only: bool = False) -> None:
    """Copy every backbone tensor of `state_dict` (torchvision key names) into `model.net`; the file's `fc.*` is
    ignored (the final layer is new). Any missing, unexpected or differently shaped key is an error that names it."""
    own = {k: v for k, v in model.net.state_dict().items() if not k.startswith("fc.")}
    theirs = {k: v for k, v in state_dict.items() if not k.startswith("fc.")}
    missing, unexpected = own.keys() - theirs.keys(), theirs.keys() - own.keys()
    shapes = [f"{k} {list(theirs[k].shape)} vs {list(own[k].shape)}" for k in sorted(own.keys() & theirs.keys())
              if theirs[k].shape != own[k].shape]
    arch = RESNETS[model.depth][0]
    if missing or unexpected or shapes:
        parts = [f"missing keys: {_names(missing)}" if missing else "",
                 f"unexpected keys: {_names(unexpected)}" if unexpected else "",
                 f"other shapes (file vs model): {_names(shapes, 3)}" if shapes else ""]
        raise DataError(f"{where}: not {arch} weights ({'; '.join(p for p in parts if p)}); give a {arch} state dict "
                        "(torchvision key names)")
    if not check_only:
        model.net.load_state_dict({**model.net.state_dict(), **theirs})


def check_weights(depth: int, weights: str) -> None:
    """Fail early, before any data is read, on a weights file that does not fit ResNet-`depth`."""
    if weights in (None, "", "none", "imagenet"):
        return
    with torch.device("meta"):
        model = ResNet(10, [3, 32, 32], depth=depth)
    load_backbone(model, read_state_dict(weights), f"--weights {weights}", check_only=True)


def load_weights(model: ResNet, weights: str) -> str:
    """`weights`: 'imagenet', 'none' or a state-dict file; returns what was loaded, for the run's config."""
    if weights in (None, "", "none"):
        return "none (random initialisation)"
    if weights == "imagenet":
        load_backbone(model, imagenet_state_dict(model.depth), "--weights imagenet")
        _, enum, name = RESNETS[model.depth]
        return f"torchvision {enum}.{name}"
    load_backbone(model, read_state_dict(weights), f"--weights {weights}")
    return str(Path(weights).resolve())
