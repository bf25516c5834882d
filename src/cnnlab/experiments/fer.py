"""Practical question 2: facial expression recognition on FER-2013, as two named recipes.

- `gpu`: what the best single networks do (Khaireddin and Chen, 2021): a VGG-style network at width 32, heavy
  augmentation (crops, flips, rotation and scaling, erasing), SGD with Nesterov momentum, label smoothing, a
  cosine schedule, 40 epochs.
- `cpu`: the best model a 2-core CPU makes in about two hours, found by measurement on the validation split
  (benchmarks/results/fer_recipe_*.json; docs/fer2013.md tells the story). 80 epochs take under an hour where
  the CPU has AVX-512 (bf16); on an AVX2-only CPU (fp32) about three hours, and `--epochs 40` half that.

`cnnlab train fer2013` takes `gpu` when CUDA is present, else `cpu`; `--recipe NAME` picks one.
"""

GPU = dict(model="fer-vgg", epochs=40, batch_size=128, lr=0.02, optimizer="sgd", momentum=0.9, nesterov=True,
           weight_decay=5e-4, schedule="cosine", warmup_epochs=1.0, label_smoothing=0.1,
           augment={"crop_pad": 4, "flip": True, "degrees": 10.0, "scale": 0.1, "erase": 0.25},
           model_kwargs={"dropout": 0.4, "width": 32}, precision="auto", tta="flip")

CPU = dict(model="fer-vgg", epochs=80, batch_size=128, lr=0.05, optimizer="sgd", momentum=0.9, nesterov=True,
           weight_decay=5e-4, schedule="cosine", warmup_epochs=1.0, label_smoothing=0.0, class_weights="sqrt",
           augment={"crop_pad": 3, "flip": True, "degrees": 8.0, "scale": 0.08},
           model_kwargs={"dropout": 0.25, "width": 24}, precision="fast", ema=0.999, tta="flip")

RECIPES = {"cpu": CPU, "gpu": GPU}


def default_recipe() -> str:
    import torch
    return "gpu" if torch.cuda.is_available() else "cpu"
