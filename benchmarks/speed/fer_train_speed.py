"""Speed check of one FER-2013 training step on this machine: images/s of fer-vgg (forward, backward, SGD step on
a batch of 128 random 48×48 images) for each width, precision (fp32 or bf16 autocast), memory format
(channels-last or not) and thread count. It is how the cpu recipe's width, precision and layout were chosen.

    PYTHONPATH=src python -m benchmarks.speed.fer_train_speed [--widths 16 24 32 48] [--threads 1 2] [--steps 12]

Writes benchmarks/results/fer_train_speed_cpu.json (a speed check: no accuracy here).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys

import torch
import torch.nn.functional as F

from benchmarks.common import timed, write

from cnnlab.data.fer2013 import CLASSES, MEAN, SHAPE, STD
from cnnlab.engine.evaluate import autocast
from cnnlab.models import registry


def images_per_second(width: int, precision: str, channels_last: bool, batch: int, steps: int) -> float:
    torch.manual_seed(0)
    model = registry.build("fer-vgg", len(CLASSES), SHAPE, mean=MEAN, std=STD, width=width)
    x, y = torch.rand(batch, *SHAPE), torch.randint(0, len(CLASSES), (batch,))
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    def one(i):
        with autocast(torch.device("cpu"), precision):
            loss = F.cross_entropy(model(x).float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    timed(one, 0, 3)  # 3 warm-up steps
    return batch / statistics.median([timed(one) for _ in range(steps)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 24, 32, 48])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=12)
    args = ap.parse_args()
    rows = []
    for threads, width, precision, cl in itertools.product(args.threads, args.widths, ("fp32", "bf16"), (True, False)):
        if not cl and width != 24:
            continue  # the layout is compared at one width
        torch.set_num_threads(threads)
        rows.append({"threads": threads, "width": width, "precision": precision, "channels_last": cl,
                     "images_per_second": round(images_per_second(width, precision, cl, args.batch, args.steps))})
        print(rows[-1], file=sys.stderr)
    write("fer_train_speed_cpu", rows, kind="speed",
          note=f"speed check, batch {args.batch}, median of {args.steps} steps; "
               "the engine adds batched augmentation (about 1% of a step) and per-epoch evaluation")


if __name__ == "__main__":
    main()
