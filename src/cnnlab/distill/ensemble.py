"""A teacher made of several models, and its targets computed once on the un-augmented training images.

`Ensemble(members, flip)` averages the members' softmax probabilities (with `flip`, also on each image's mirror)
and returns the log of that average as its logits: softmax(logits / tau) is then the average sharpened or
softened by tau, and at tau = 1 exactly the average.

`CleanTargets` is the cheap way to run such a teacher: its logits for every training image, computed once on the
image as stored (no crop, rotation or scaling; the flip average makes them the same for a mirrored view), and
looked up by row for each augmented batch. The student still sees the augmented image; only the teacher's view is
lighter. The exact way, the teacher on each augmented batch, is `TeacherLogits(Ensemble(...), cache=False)`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlab.data.tensors import to_float
from cnnlab.engine.evaluate import autocast


class Ensemble(torch.nn.Module):
    """logits = log(mean over members (and mirrors, with flip) of softmax(member(x)))."""

    def __init__(self, members: list[torch.nn.Module], flip: bool = True):
        super().__init__()
        self.members = torch.nn.ModuleList(members)
        self.flip = flip

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        views = [x, x.flip(-1)] if self.flip else [x]
        total = 0
        for m in self.members:
            for v in views:
                total = total + F.softmax(m(v).float(), dim=1)
        return total / (len(self.members) * len(views))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.probabilities(x).clamp_min(1e-12).log()


class CleanTargets:
    """targets = CleanTargets(teacher, images)(x, rows): the teacher's logits of the stored training images `rows`
    (uint8 [N, C, H, W], computed once, batch by batch, under the engine's autocast); `x` is not looked at."""

    cache = True  # what distill.json records as teacher_logits_cached

    def __init__(self, teacher: torch.nn.Module, images: torch.Tensor, batch_size: int = 512,
                 precision: str = "fast", progress=None):
        teacher = teacher.eval()
        out = []
        with torch.inference_mode(), autocast(images.device, precision):
            for i in range(0, len(images), batch_size):
                x = to_float(images[i:i + batch_size], channels_last=True)
                out.append(teacher(x).float())
                if progress is not None:
                    progress(min(i + batch_size, len(images)), len(images))
        self.store = torch.cat(out).clone()
        self.computed = len(images)

    def __call__(self, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return self.store.to(rows.device)[rows]
