"""Finding a model: a run folder (its best.pt), a checkpoint file, or the name of a model shipped in the package."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from cnnlab.engine.runfolder import RunFolder
from cnnlab.errors import DataError, UsageError


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
        best = RunFolder(p).best
        if best.exists():
            return best
        raise UsageError(f"{p}: no {RunFolder.BEST} in this folder; give a run folder made by 'cnnlab train' "
                         "(or a shipped model name)")
    if p.is_file():
        return p
    for card in shipped_cards():
        if card["name"] == ref:
            return Path(str(resources.files("cnnlab.shipped") / card["file"]))
    names = [c["name"] for c in shipped_cards()]
    raise UsageError(f"{ref!r} is neither a run folder, a model file nor a shipped model "
                     f"(shipped: {', '.join(names) or 'none'}; see 'cnnlab models')")


# The first bytes of the files a user may give by mistake, to say what they are.
MAGIC = [(b"\x89HDF\r\n\x1a\n", "h5"), (b"PK\x03\x04", "pt"), (b"\x80\x02", "pt"), (b"\x89PNG", "a PNG image"),
         (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"), (b"BM", "a BMP image"),
         (b"RIFF", "a RIFF file (WebP image, AVI video, WAV sound)"), (b"\x1f\x8b", "a gzip archive"),
         (b"%PDF", "a PDF document"), (b"{", "a JSON file"), (b"[", "a JSON file")]
EXPECTED = ("a run folder, a shipped model name (cnnlab models), or a .pt, .h5 or .onnx file written by cnnlab "
            "(cnnlab train, cnnlab export)")


def file_kind(path: Path) -> str:
    """'pt', 'h5' or 'onnx' for a model file; else a description of what the file is."""
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        return "an empty file"
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    if path.suffix.lower() in (".h5", ".hdf5"):  # not HDF5 inside: load_h5 says so, and what it expected
        return "h5"
    if path.suffix.lower() == ".onnx" or head[:1] == b"\x08":  # an ONNX protobuf starts with its ir_version field
        return "onnx"
    if path.suffix.lower() in (".pt", ".pth", ".ckpt"):
        return "pt"
    return f"a {path.suffix or 'extension-less'} file"


def load_model(ref: str, device="cpu", torch_only: str | None = None):
    """(model in eval mode on `device`, checkpoint dict) for a run folder, a shipped model's name, or a .pt, .h5 or
    .onnx file written by cnnlab. An .onnx model runs in ONNX Runtime; `torch_only` (why this command needs a
    PyTorch model) refuses it with a message that says so."""
    path = checkpoint_path(ref)
    kind = file_kind(path)
    if kind == "pt":
        from cnnlab.engine.checkpoint import build_from_checkpoint, load_checkpoint
        ckpt = load_checkpoint(path)
        return build_from_checkpoint(ckpt, path).to(device), ckpt
    if kind == "h5":
        from cnnlab.export import load_h5
        model, ckpt = load_h5(path)
        return model.to(device), ckpt
    if kind == "onnx":
        if torch_only:
            raise UsageError(f"{path}: an ONNX model cannot be used here: {torch_only}; give the run folder, .pt or "
                             ".h5 file it was exported from")
        from cnnlab.export import load_onnx
        return load_onnx(path)
    raise UsageError(f"{path}: {kind}, not a model; expected {EXPECTED}")


def param_counts(model, ckpt: dict) -> tuple[int, int]:
    """(total, trainable) parameters of the model (of the PyTorch model an .onnx file was exported from)."""
    from cnnlab.models.common import count_params
    if "params_total" in ckpt:  # an .onnx file's metadata
        return ckpt["params_total"], ckpt.get("params_trainable", ckpt["params_total"])
    if hasattr(model, "params_total"):  # an .onnx file of an older export: its stored tensors
        return model.params_total, model.params_total
    return count_params(model), count_params(model, True)


def validation_split(config: dict) -> tuple | None:
    """What decides which training faces a run holds out for validation: (split seed, share, training subset)."""
    if not config:
        return None
    seed = config.get("split_seed") if config.get("split_seed") is not None else config.get("seed")
    return seed, config.get("val_fraction"), config.get("limit_train")


def initial_weights(cfg):
    """The `init_model` hook of `engine.train` for --init (cfg.init: a run folder, .pt or .h5 file, or shipped name):
    it copies that model's weights into the new run's model. The model is read here, so a wrong reference, another
    architecture or another dataset stops the command before its data loads; weights of another width stop it
    before the first step. None without --init."""
    if not cfg.init:
        return None
    from cnnlab.engine.logging import log
    ref = cfg.init
    try:
        source, ckpt = load_model(ref, "cpu", torch_only="--init copies PyTorch weights")
    except (UsageError, DataError) as e:
        raise UsageError(f"--init: {e}") from None
    if ckpt["arch"] != cfg.model:
        raise UsageError(f"--init {ref}: a {ckpt['arch']} model; this run trains {cfg.model}: give a {cfg.model} "
                         f"model (or --model {ckpt['arch']})")
    if ckpt.get("dataset") not in (None, cfg.dataset):
        raise UsageError(f"--init {ref}: a {ckpt['dataset']} model; this run trains on {cfg.dataset}: give a model "
                         f"trained on {cfg.dataset}")
    state = source.state_dict()
    split = validation_split(ckpt.get("config") or {})
    if split and split != validation_split(cfg.to_dict()):
        log(f"note: --init {ref} held out another validation split when it trained (split seed {split[0]}, val "
            f"fraction {split[1]}, limit_train {split[2]}); this run's validation faces may include faces it "
            f"learnt, so its validation accuracy would flatter the model: pass --set split_seed={split[0]} (and "
            "the same --val-fraction and --limit-train) to keep them apart")

    def init_model(model) -> None:
        try:
            model.load_state_dict(state)
        except RuntimeError:
            kwargs = {k: v for k, v in ckpt.get("model_kwargs", {}).items() if k not in ("mean", "std")}
            raise UsageError(f"--init {ref}: its weights do not fit this run's model (its model_kwargs {kwargs}); "
                             "give the same --width and model arguments") from None
        log(f"weights from --init {ref}", cfg.quiet)

    return init_model
