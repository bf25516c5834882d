"""Training images/s: cnnlab's data path (uint8 tensors on the device, batches by index, augmentation in batches)
against a baseline that feeds the same model through a Dataset of per-sample tensors and a DataLoader.

    PYTHONPATH=src python benchmarks/emnist_throughput.py [--device cpu|cuda] [--steps 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from common import write  # noqa: E402

from cnnlab.data import augment  # noqa: E402
from cnnlab.data.emnist import MEAN, STD, load_sample  # noqa: E402
from cnnlab.data.tensors import batch_indices, to_float  # noqa: E402
from cnnlab.engine.evaluate import autocast  # noqa: E402
from cnnlab.models import registry  # noqa: E402

AUG = {"degrees": 8.0, "scale": 0.08}


class PerSample(torch.utils.data.Dataset):
    """The common tutorial path: one float tensor per sample, collated by a DataLoader."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i].float() / 255, self.labels[i]


def step(model, opt, x, y, dev):
    with autocast(dev):
        loss = F.cross_entropy(model(x).float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def timed(fn, steps, warmup, dev):
    for i in range(warmup + steps):
        if i == warmup:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
        fn(i)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2, help="DataLoader worker processes of the baseline")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps before the timed ones")
    args = ap.parse_args()
    dev = torch.device(args.device)
    data = load_sample("train")
    results = []
    for arch in ("mlp", "cnn"):
        kw = registry.resolve(arch, 62, [1, 28, 28], mean=MEAN, std=STD)
        row = {"model": arch, "batch_size": args.batch_size}
        for mode in ("cnnlab", "cnnlab+augment", "dataloader"):
            torch.manual_seed(0)
            model = registry.build(arch, 62, [1, 28, 28], **kw).to(dev).to(memory_format=torch.channels_last)
            opt = torch.optim.AdamW(model.parameters(), 1e-3)
            if mode.startswith("cnnlab"):
                d = data.to(dev)
                batches = batch_indices(len(d), args.batch_size, True, 0, 0, drop_last=True)
                g = torch.Generator(device=dev).manual_seed(0)

                def fn(i):
                    idx = batches[i % len(batches)].to(dev)
                    x = to_float(d.images[idx], channels_last=True)
                    if mode == "cnnlab+augment":
                        x = augment.apply(x, AUG, g)
                    step(model, opt, x, d.labels[idx], dev)
            else:
                loader = torch.utils.data.DataLoader(PerSample(data.images, data.labels), batch_size=args.batch_size,
                                                     shuffle=True, num_workers=args.workers, drop_last=True,
                                                     pin_memory=dev.type == "cuda", persistent_workers=True)
                it = iter(loader)

                def fn(i):
                    nonlocal it
                    try:
                        x, y = next(it)
                    except StopIteration:
                        it = iter(loader)
                        x, y = next(it)
                    x = x.to(dev, non_blocking=True).contiguous(memory_format=torch.channels_last)
                    step(model, opt, x, y.to(dev, non_blocking=True), dev)
            seconds = timed(fn, args.steps, args.warmup, dev)
            row[f"{mode}_images_per_s"] = round(args.steps * args.batch_size / seconds, 1)
        row["speedup"] = round(row["cnnlab_images_per_s"] / row["dataloader_images_per_s"], 2)
        results.append(row)
    write(f"emnist_throughput_{dev.type}", results, dev)


if __name__ == "__main__":
    main()
