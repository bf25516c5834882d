"""Finding a model: a run folder (its best.pt), a checkpoint file, or the name of a model shipped in the package."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from cnnlab.errors import UsageError


def shipped_cards() -> list[dict]:
    """The model cards of the models shipped inside the package (cnnlab/shipped/<name>.json)."""
    root = resources.files("cnnlab.shipped")
    cards = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            card = json.loads(entry.read_text())
            card.setdefault("name", entry.name[:-5])
            cards.append(card)
    return cards


def checkpoint_path(ref: str) -> Path:
    p = Path(ref)
    if p.is_dir():
        if (p / "best.pt").exists():
            return p / "best.pt"
        raise UsageError(f"{p}: no best.pt in this folder; give a run folder made by 'cnnlab train' (or a shipped model name)")
    if p.is_file():
        return p
    for card in shipped_cards():
        if card["name"] == ref:
            return Path(str(resources.files("cnnlab.shipped") / card["file"]))
    names = [c["name"] for c in shipped_cards()]
    raise UsageError(f"{ref!r} is neither a run folder, a checkpoint file nor a shipped model "
                     f"(shipped: {', '.join(names) or 'none'}; see 'cnnlab models')")


def load_model(ref: str, device="cpu"):
    """(model in eval mode on `device`, checkpoint dict) for a run folder, checkpoint file or shipped name."""
    from cnnlab.engine.checkpoint import build_from_checkpoint, load_checkpoint
    path = checkpoint_path(ref)
    ckpt = load_checkpoint(path)
    return build_from_checkpoint(ckpt, path).to(device), ckpt
