"""Images/s of the distillation models, each step as the engine takes it (uint8 CIFAR-sized batches on the device,
crop and flip on the device, bf16 autocast on CUDA, channels-last, SGD): MobileNetV2 with the CIFAR stem trained
at 32 px (the student), ResNet-50 trained at 224 px (the fine-tuned teacher; 32 px images resized inside the
model) and ResNet-50's inference at 224 px (the teacher's logits during distillation). Planning figures: an
epoch of 50,000 images takes 50,000 / (images/s) seconds.

    PYTHONPATH=src python -m benchmarks.speed.train_speed [--device cuda] [--steps 30]
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.common import step, timed, write

from cnnlab.data import augment
from cnnlab.data.cifar10 import MEAN, STD
from cnnlab.data.tensors import to_float
from cnnlab.engine.evaluate import autocast
from cnnlab.models import registry

AUG = {"crop_pad": 4, "flip": True}  # the cifar10 recipe's


def measure(arch: str, kwargs: dict, batch: int, train: bool, steps: int, warmup: int, dev) -> dict:
    torch.manual_seed(0)
    model = registry.build(arch, 10, [3, 32, 32], mean=MEAN, std=STD, **kwargs)
    model = model.to(dev).to(memory_format=torch.channels_last)
    g = torch.Generator(device=dev).manual_seed(0)
    images = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8, device=dev, generator=g)
    labels = torch.randint(0, 10, (batch,), device=dev, generator=g)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    if train:
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)

        def fn(i):
            step(model, opt, augment.apply(to_float(images, channels_last=True), AUG, g), labels, dev)
    else:
        model.eval()

        @torch.inference_mode()
        def fn(i):
            with autocast(dev):
                model(to_float(images, channels_last=True))
    seconds = timed(fn, steps, warmup, dev)
    row = {"model": arch, "image_size": kwargs.get("image_size", 32), "mode": "train" if train else "inference",
           "batch_size": batch, "images_per_s": round(steps * batch / seconds, 1),
           "ms_per_step": round(1000 * seconds / steps, 2),
           "epoch_50k_s": round(50_000 * seconds / (steps * batch), 1)}
    if dev.type == "cuda":
        row["peak_memory_gib"] = round(torch.cuda.max_memory_allocated(dev) / 2 ** 30, 2)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per model")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first (cuDNN picks its algorithms)")
    ap.add_argument("--batch-size", type=int, default=128, help="the student's and the fine-tuned teacher's recipe")
    ap.add_argument("--teacher-size", type=int, default=224, help="ResNet-50's input size")
    args = ap.parse_args()
    dev = torch.device(args.device)
    t0 = time.perf_counter()
    teacher_kwargs = {"image_size": args.teacher_size}
    rows = [measure("mobilenetv2-cifar", {}, args.batch_size, True, args.steps, args.warmup, dev),
            measure("resnet50", teacher_kwargs, args.batch_size, True, args.steps, args.warmup, dev),
            measure("resnet50", teacher_kwargs, args.batch_size, False, args.steps, args.warmup, dev)]
    write(f"train_speed_{dev.type}", rows, dev,
          note=f"random uint8 32x32 batches (speed does not depend on content); {args.warmup} untimed then "
               f"{args.steps} timed steps per row; {time.perf_counter() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
