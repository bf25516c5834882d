"""Teacher targets on a fixed set of augmented views (`--teacher-targets views`): the teacher's cost paid once.

Before training, every training image is augmented `views` times (the run's augmentation, seeded), the teacher
runs once on each view, and the views (uint8, as an image file would store them) and the teacher's logits are kept.
At each step the student gets, for each of its rows, one of those views drawn at random, and the teacher's logits
of that very view: the targets match what the student sees, as with `augmented`, but the teacher runs `views`
times over the data in all instead of once per epoch. This is the idea of FKD (Shen & Xing, "A Fast Knowledge
Distillation Framework for Visual Recognition", ECCV 2022), which stores the teacher's soft labels of random crops.

With a flip-averaged teacher (`--teacher-flip`, `Ensemble(flip=True)`) an image and its mirror get the same
logits, so the views are stored unflipped and the student's random flip is drawn afresh at each step: twice the
distinct views for the same teacher cost. The views and logits are saved in the run folder (`teacher-views.pt`)
and reused when they were made the same way (the same teacher weights, images, augmentation, seed and views).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from cnnlab.atomic import atomic_torch_save
from cnnlab.data import augment
from cnnlab.data.tensors import to_float
from cnnlab.engine.evaluate import autocast

FILE = "teacher-views.pt"


class ViewTargets:
    """targets = ViewTargets(teacher, images, augment_cfg, views, seed, flip_invariant); the engine calls
    `targets.augment_fn(rows, g)` for the student's batch and the loss calls `targets(x, rows)` for its logits."""

    cache = True  # what distill.json records as teacher_logits_cached

    def __init__(self, teacher: torch.nn.Module, images: torch.Tensor, augment_cfg: dict, views: int, seed: int,
                 flip_invariant: bool, batch_size: int = 512, precision: str = "fast", progress=None,
                 stored: dict | None = None):
        if views < 1:
            raise ValueError(f"views must be at least 1, got {views}")
        self.flip_later = bool(augment_cfg.get("flip")) and flip_invariant
        pool_cfg = {k: v for k, v in augment_cfg.items() if not (k == "flip" and self.flip_later)}
        self.key = {"teacher": fingerprint(teacher), "views": views, "seed": seed, "augment": pool_cfg,
                    "flip_later": self.flip_later, "rows": len(images), "shape": list(images.shape[1:]),
                    "data": fingerprint(images), "precision": precision}
        if stored is not None and stored.get("key") == self.key:
            self.images, self.logits, self.computed = stored["images"], stored["logits"], 0
            return
        teacher = teacher.eval()
        self.images = torch.empty((views, *images.shape), dtype=torch.uint8)  # [view, row, C, H, W]
        logits = []
        with torch.inference_mode():
            for v in range(views):
                out = []
                for i in range(0, len(images), batch_size):
                    g = torch.Generator(device=images.device).manual_seed((seed * 1_000_003 + v) * 1_000_003 + i)
                    x = augment.apply(to_float(images[i:i + batch_size], channels_last=True), pool_cfg, g)
                    q = x.mul(255).round_().clamp_(0, 255).to(torch.uint8)
                    self.images[v, i:i + len(q)] = q.cpu()
                    with autocast(images.device, precision):
                        out.append(teacher(to_float(q, channels_last=True)).float().cpu())
                    if progress is not None:
                        progress(v * len(images) + i + len(q), views * len(images))
                logits.append(torch.cat(out))
        self.logits = torch.stack(logits).clone()  # [view, row, classes]
        self.computed = views * len(images)

    @property
    def views(self) -> int:
        return len(self.images)

    def save(self, path: Path) -> None:
        atomic_torch_save({"key": self.key, "images": self.images, "logits": self.logits}, path)

    def augment_fn(self, rows: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """The student's float batch for `rows`: for each row one stored view, drawn with `g` (then mirrored at
        random, when the teacher cannot tell an image from its mirror)."""
        v = torch.randint(0, self.views, (len(rows),), device=g.device, generator=g)
        if self.images.device != rows.device:
            self.images, self.logits = self.images.to(rows.device), self.logits.to(rows.device)
        self._last = (rows, v)
        x = to_float(self.images[v.to(rows.device), rows], channels_last=True)
        return augment.random_flip(x, g) if self.flip_later else x

    def __call__(self, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        last_rows, v = getattr(self, "_last", (None, None))
        if last_rows is None or (last_rows is not rows and not torch.equal(last_rows, rows)):
            raise RuntimeError("ViewTargets: the loss asked for rows other than the batch augment_fn made")
        return self.logits[v.to(rows.device), rows]


def fingerprint(obj) -> str:
    """sha256 of a module's parameters and buffers, or of a tensor: what tells two teachers (or image sets) apart."""
    tensors = obj.state_dict().values() if isinstance(obj, torch.nn.Module) else [obj]
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def load_or_make(path: Path, make) -> ViewTargets:
    """The ViewTargets saved at `path` when `make(stored)` accepts them, else new ones, saved there."""
    stored = torch.load(path, map_location="cpu", weights_only=True) if path.exists() else None
    targets = make(stored)
    if targets.computed:
        path.parent.mkdir(parents=True, exist_ok=True)
        targets.save(path)
    return targets
