"""Sample predictions for a report: the run's best checkpoint re-run on a few test images, right and wrong."""

from __future__ import annotations

from pathlib import Path

import torch

from cnnlab.report.runs import Run


def predictions(run: Run, data: Path, n_right: int = 8, n_wrong: int = 8, pool: int = 2048, seed: int = 0,
                device: str = "cpu", chunk: int = 128) -> list[dict]:
    """Up to `n_right` correct and `n_wrong` wrong predictions on seeded random test images (at most `pool` are
    looked at, `chunk` at a time, stopping once both kinds are found).

    Each item: {"image": uint8 [C, H, W] numpy, "true", "pred", "prob" (of the predicted class), "correct"}.
    Raises DataError/UsageError when the data or the checkpoint cannot be read or do not match.
    """
    from cnnlab import data as datasets
    from cnnlab.engine.evaluate import predict_logits
    from cnnlab.errors import DataError
    from cnnlab.runs import load_model
    model, ckpt = load_model(str(run.path), device)
    dataset = ckpt.get("dataset") or run.config.get("dataset")
    test = datasets.load(dataset, data, "test", cache=run.config.get("cache_dir"))
    if test.classes != list(ckpt["classes"]) or test.input_shape != list(ckpt["input_shape"]):
        raise DataError(f"{data}: its classes/shape do not match the run's checkpoint; "
                        "pass the run's dataset with --data")
    order = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))[:pool]
    right: list[dict] = []
    wrong: list[dict] = []
    for start in range(0, len(order), chunk):
        idx = order[start:start + chunk]
        images, labels = test.images[idx], test.labels[idx]
        conf, pred = predict_logits(model, images, torch.device(device)).softmax(1).max(1)
        for i in range(len(idx)):
            ok = bool(pred[i] == labels[i])
            bucket, n = (right, n_right) if ok else (wrong, n_wrong)
            if len(bucket) < n:
                bucket.append({"image": images[i].numpy(), "true": ckpt["classes"][int(labels[i])],
                               "pred": ckpt["classes"][int(pred[i])], "prob": float(conf[i]), "correct": ok})
        if len(right) >= n_right and len(wrong) >= n_wrong:
            break
    return right + wrong


def png_data_uri(image, scale: int = 3) -> str:
    """A uint8 [C, H, W] image as a PNG data: URI (nearest-neighbour upscaled so small digits stay crisp)."""
    import base64
    import io

    from PIL import Image
    arr = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    im = Image.fromarray(arr)
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
