"""Augmentation of whole batches on the training device (no per-sample Python loop).

All functions take float images [N, C, H, W] in [0, 1] and a `torch.Generator` on the same device, so a run is
reproducible and a resumed run draws the same numbers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_crop(x: torch.Tensor, pad: int, g: torch.Generator, mode: str = "constant") -> torch.Tensor:
    """Pad by `pad` on each side, then crop a random H×W window from each image (an integer translation)."""
    if pad <= 0:
        return x
    n, c, h, w = x.shape
    xp = F.pad(x, (pad, pad, pad, pad), mode=mode)
    oy = torch.randint(0, 2 * pad + 1, (n,), device=x.device, generator=g)
    ox = torch.randint(0, 2 * pad + 1, (n,), device=x.device, generator=g)
    rows = (oy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    samples = torch.arange(n, device=x.device)[:, None, None, None]
    channels = torch.arange(c, device=x.device)[None, :, None, None]
    return xp[samples, channels, rows, cols]


def random_flip(x: torch.Tensor, g: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Mirror left-right with probability p per image."""
    mask = torch.rand(x.shape[0], device=x.device, generator=g) < p
    return torch.where(mask[:, None, None, None], x.flip(-1), x)


def random_affine(x: torch.Tensor, g: torch.Generator, degrees: float = 0.0, scale: float = 0.0) -> torch.Tensor:
    """Rotate by U(-degrees, degrees) and scale by U(1-scale, 1+scale) about the centre, per image."""
    if degrees <= 0 and scale <= 0:
        return x
    n = x.shape[0]
    angle = (torch.rand(n, device=x.device, generator=g) * 2 - 1) * math.radians(degrees)
    s = 1 + (torch.rand(n, device=x.device, generator=g) * 2 - 1) * scale
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_erase(x: torch.Tensor, g: torch.Generator, p: float = 0.5, max_frac: float = 0.33) -> torch.Tensor:
    """With probability p per image, set a random rectangle (up to max_frac of each side... squared area) to 0."""
    if p <= 0:
        return x
    n, _, h, w = x.shape
    dev = x.device
    eh = (torch.rand(n, device=dev, generator=g) * max_frac * h).long() + 1
    ew = (torch.rand(n, device=dev, generator=g) * max_frac * w).long() + 1
    y0 = (torch.rand(n, device=dev, generator=g) * (h - eh + 1)).long()
    x0 = (torch.rand(n, device=dev, generator=g) * (w - ew + 1)).long()
    on = torch.rand(n, device=dev, generator=g) < p
    ys = torch.arange(h, device=dev)[None, :, None]
    xs = torch.arange(w, device=dev)[None, None, :]
    box = ((ys >= y0[:, None, None]) & (ys < (y0 + eh)[:, None, None])
           & (xs >= x0[:, None, None]) & (xs < (x0 + ew)[:, None, None]))
    box &= on[:, None, None]
    return x.masked_fill(box[:, None], 0.0)


def apply(x: torch.Tensor, cfg: dict, g: torch.Generator) -> torch.Tensor:
    """Apply the augmentations named in `cfg` (keys: crop_pad, flip, degrees, scale, erase) in a fixed order."""
    if cfg.get("degrees") or cfg.get("scale"):
        x = random_affine(x, g, cfg.get("degrees", 0.0), cfg.get("scale", 0.0))
    if cfg.get("crop_pad"):
        x = random_crop(x, int(cfg["crop_pad"]), g, cfg.get("crop_mode", "constant"))
    if cfg.get("flip"):
        x = random_flip(x, g)
    if cfg.get("erase"):
        x = random_erase(x, g, float(cfg["erase"]))
    return x
