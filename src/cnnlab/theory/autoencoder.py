"""A small convolutional (denoising) autoencoder for 28x28 grey images.

encoder: 1x28x28 -conv3 s2-> 16x14x14 -conv3 s2-> 32x7x7 -conv3-> 4x7x7 (the code: 196 numbers, 1/4 of the input)
decoder: 4x7x7 -conv3-> 32x7x7 -convT3 s2-> 16x14x14 -convT3 s2-> 1x28x28, sigmoid

Trained to map a noisy image (Gaussian noise of std `noise`, clipped to [0, 1]) to the clean one, so the same
model reconstructs clean inputs and denoises noisy ones.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F


class ConvAutoencoder(nn.Module):
    def __init__(self, code_channels: int = 4):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, code_channels, 3, padding=1))
        self.decoder = nn.Sequential(
            nn.Conv2d(code_channels, 32, 3, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def architecture(model: ConvAutoencoder | None = None) -> list[dict]:
    """Every layer with its output shape [C, H, W] for one 28x28 image and its parameter count."""
    model = model or ConvAutoencoder()
    x, rows = torch.zeros(1, 1, 28, 28), []
    with torch.no_grad():
        for part in ("encoder", "decoder"):
            for m in getattr(model, part):
                x = m(x)
                extra = (f"({m.in_channels}->{m.out_channels}, {m.kernel_size[0]}x{m.kernel_size[1]}, stride "
                         f"{m.stride[0]})" if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) else "")
                rows.append({"part": part, "layer": f"{type(m).__name__}{extra}", "output": list(x.shape[1:]),
                             "params": sum(p.numel() for p in m.parameters())})
    return rows


def add_noise(x: torch.Tensor, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    return (x + std * torch.randn(x.shape, generator=generator)).clamp(0, 1)


def synthetic_shapes(n: int, seed: int = 0) -> torch.Tensor:
    """n random 28x28 images in [0, 1], each a filled rectangle and a ring at random places (for tests)."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    images = torch.zeros(n, 1, 28, 28)
    for i in range(n):
        x0, y0 = torch.randint(0, 16, (2,), generator=g).tolist()
        w, h = torch.randint(4, 12, (2,), generator=g).tolist()
        images[i, 0, y0:y0 + h, x0:x0 + w] = 1.0
        cx, cy = (torch.rand(2, generator=g) * 16 + 6).tolist()
        r = float(torch.rand(1, generator=g)) * 4 + 3
        d = ((xx - cx) ** 2 + (yy - cy) ** 2).sqrt()
        images[i, 0] = torch.maximum(images[i, 0], ((d - r).abs() < 1.0).float())
    return images


@torch.no_grad()
def mse(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int = 512) -> float:
    model.eval()
    total = 0.0
    for i in range(0, len(inputs), batch_size):
        total += F.mse_loss(model(inputs[i:i + batch_size]), targets[i:i + batch_size], reduction="sum").item()
    return total / targets.numel()


def train(images: torch.Tensor, steps: int, batch_size: int = 64, lr: float = 2e-3, noise: float = 0.3,
          seed: int = 0, log_every: int = 0) -> tuple[ConvAutoencoder, list[dict]]:
    """Adam on the denoising objective for `steps` mini-batches; images are float [N, 1, 28, 28] in [0, 1]."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = ConvAutoencoder()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for step in range(1, steps + 1):
        model.train()
        batch = images[torch.randint(0, len(images), (batch_size,), generator=g)]
        loss = F.mse_loss(model(add_noise(batch, noise, g)), batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if log_every and (step % log_every == 0 or step == steps):
            history.append({"step": step, "train_loss": loss.item()})
    return model, history


def load_images(data: str | None, split: str, limit: int) -> torch.Tensor:
    """EMNIST images as float [N, 1, 28, 28] in [0, 1]: the sample shipped in the package, or --data DIR."""
    if data is None:
        from cnnlab.data.emnist import load_sample
        d = load_sample(split)
    else:
        from cnnlab.data import load
        d = load("emnist", data, split=split)
    return d.images[:limit].float() / 255.0


def plot(model: nn.Module, clean: torch.Tensor, noisy: torch.Tensor, out: Path, n: int = 10) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model.eval()
    with torch.no_grad():
        recon, denoised = model(clean[:n]), model(noisy[:n])
    for name, rows in (("reconstructions.png", [("input", clean), ("reconstruction", recon)]),
                       ("denoising.png", [("clean", clean), ("noisy input", noisy), ("output", denoised)])):
        fig, axes = plt.subplots(len(rows), n, figsize=(1.2 * n, 1.3 * len(rows)))
        for r, (title, images) in enumerate(rows):
            for c in range(n):
                axes[r, c].imshow(images[c, 0].numpy(), cmap="gray", vmin=0, vmax=1)
                axes[r, c].axis("off")
            axes[r, 0].set_title(title, fontsize=9, loc="left")
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)


def run(out: Path, train_images: torch.Tensor, test_images: torch.Tensor, epochs: int = 3, batch_size: int = 64,
        noise: float = 0.3, seed: int = 0, source: str = "") -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    steps = max(1, epochs * math.ceil(len(train_images) / batch_size))
    torch.manual_seed(seed)
    untrained = ConvAutoencoder()
    noisy = add_noise(test_images, noise, torch.Generator().manual_seed(seed + 1))
    model, history = train(train_images, steps, batch_size, noise=noise, seed=seed, log_every=max(1, steps // 20))
    result = {
        "data": source, "train_images": len(train_images), "test_images": len(test_images), "epochs": epochs,
        "steps": steps, "batch_size": batch_size, "noise_std": noise,
        "parameters": sum(p.numel() for p in model.parameters()), "code_size": 4 * 7 * 7,
        "mse_untrained": mse(untrained, test_images, test_images),
        "mse_reconstruction": mse(model, test_images, test_images),
        "mse_noisy_input": F.mse_loss(noisy, test_images).item(),
        "mse_denoised": mse(model, noisy, test_images),
        "history": history,
    }
    plot(model, test_images, noisy, out)
    (out / "autoencoder.json").write_text(json.dumps(result, indent=2) + "\n")
    torch.save(model.state_dict(), out / "autoencoder.pt")
    return result


def format_result(r: dict) -> str:
    return "\n".join([
        f"data: {r['data']} ({r['train_images']} train, {r['test_images']} test images), {r['epochs']} epochs, "
        f"{r['steps']} steps, {r['parameters']} parameters, code of {r['code_size']} numbers",
        f"test MSE untrained:            {r['mse_untrained']:.5f}",
        f"test MSE reconstruction:       {r['mse_reconstruction']:.5f}",
        f"test MSE noisy input vs clean: {r['mse_noisy_input']:.5f} (noise std {r['noise_std']})",
        f"test MSE denoised vs clean:    {r['mse_denoised']:.5f}",
    ])
