"""Training images/s: cnnlab's data path (uint8 tensors on the device, batches by index, augmentation in batches)
against a baseline that feeds the same model through a Dataset of per-sample tensors and a DataLoader.

    PYTHONPATH=src python -m benchmarks.speed.emnist_throughput [--device cpu|cuda] [--steps 30]
"""

from __future__ import annotations

import argparse

import torch

from benchmarks.common import step, timed, write

from cnnlab.data import augment
from cnnlab.data.emnist import MEAN, STD, load_sample
from cnnlab.data.tensors import batch_indices, to_float
from cnnlab.models import registry

AUG = {"degrees": 8.0, "scale": 0.08}


class PerSample(torch.utils.data.Dataset):
    """The common tutorial path: one float tensor per sample, collated by a DataLoader."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i].float() / 255, self.labels[i]


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
