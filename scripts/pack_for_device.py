"""Pack the data the GPU suite needs into parts that each fit one call of the project's device tool, and unpack
them there. A call carries the checkout (tracked and untracked-not-ignored files) plus up to 8 `carry` paths, at
most 64 MiB in all; a part is sized so that the checkout and the part stay under --limit-mib (56 MiB: room to
spare). docs/gpu.md says how the calls are made.

    python scripts/pack_for_device.py [--data ../shared/data] [--out .device]       (here: writes .device/partN/)
    python3 scripts/pack_for_device.py --unpack .device/part1 [--dest /tmp/cnnlab-data]  (there; no torch needed)

What is packed (each a .tar.xz whose members are paths under the suite's data root):
  fer2013-train, fer2013-test   FER-2013 train/ and test/ as they are (every JPEG, byte for byte)
  emnist                        a seeded subset of EMNIST byclass in the official idx.gz format, with the mapping
  cifar10                       a seeded subset of CIFAR-10 as official python batches (data_batch_1, test_batch)
Every part holds manifest.json, which names every archive of every part, so an unpack can tell what is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # this checkout's cnnlab, whatever PYTHONPATH says
MIB = 2 ** 20
LIMIT_MIB = 56
MANIFEST = "manifest.json"
DONE = ".unpacked"  # in the destination: one marker per unpacked archive
# Default sizes of the subsets: small enough that the checkout, FER-2013 and both subsets fit one call.
EMNIST_SIZES = (12_000, 2_000)
CIFAR_SIZES = (2_000, 500)
# The files of each dataset that the suite reads, relative to its data root.
EMNIST_FILES = [f"emnist/emnist-byclass-{s}-{k}-ubyte.gz"
                for s in ("train", "test") for k in ("images-idx3", "labels-idx1")] \
    + ["emnist/emnist-byclass-mapping.txt"]
CIFAR_FILES = [f"cifar10/cifar-10-batches-py/{n}" for n in ("data_batch_1", "test_batch", "batches.meta")]


# ---------------------------------------------------------------------------------------------------------------
# Here: what travels anyway, the subsets, the archives, the parts.

def source_bytes(root: Path = ROOT) -> int:
    """Bytes of what every call carries: the checkout's tracked and untracked-not-ignored files."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                           capture_output=True, check=True).stdout.decode().split("\0")
    total = 0
    for name in filter(None, names):
        p = root / name
        if p.is_symlink() or p.is_file():
            total += p.lstat().st_size
    return total


def fer_files(fer: Path, split: str, per_class: int | None) -> list[Path]:
    """Every image of FER-2013's `split` (or the first `per_class` of each class: only for tests)."""
    from cnnlab.data.images import class_folders, image_files
    out = []
    for folder in class_folders(fer / split):
        out += image_files(folder)[:per_class]
    if not out:
        sys.exit(f"error: {fer / split}: no FER-2013 images; "
                 f"give --data a folder holding fer2013/{split}/<class>/*.jpg")
    return out


def write_emnist(src: Path, dest: Path, sizes: tuple[int, int], seed: int) -> None:
    """A seeded subset of each split, written as the official (transposed) idx.gz files."""
    from cnnlab.data import emnist
    from cnnlab.data.idx import write_idx
    from cnnlab.data.tensors import limit
    dest.mkdir(parents=True)
    for split, n in zip(emnist.SPLITS, sizes):
        t = limit(emnist.decode(*emnist.files(src, split)), n, seed)
        write_idx(dest / f"{emnist.PREFIX}-{split}-images-idx3-ubyte.gz", t.images[:, 0].transpose(1, 2).numpy())
        write_idx(dest / f"{emnist.PREFIX}-{split}-labels-idx1-ubyte.gz", t.labels.numpy())
    shutil.copy(src / f"{emnist.PREFIX}-mapping.txt", dest)


def write_cifar(src: Path, dest: Path, sizes: tuple[int, int], seed: int) -> None:
    """A seeded subset of the train batches and of the test batch, written as official python batches."""
    import pickle

    from cnnlab.data import cifar10
    from cnnlab.data.tensors import limit
    found = cifar10.find(src)
    if found is None or not found.is_dir():
        sys.exit(f"error: {cifar10.missing_message(src)}")
    source = cifar10.Source(found)
    dest.mkdir(parents=True)
    for name, batches, n in (("data_batch_1", cifar10.TRAIN_BATCHES, sizes[0]),
                             ("test_batch", cifar10.TEST_BATCHES, sizes[1])):
        t = limit(cifar10.decode(source, [b for b in batches if b in source.names]), n, seed)
        batch = {"batch_label": f"seeded subset ({len(t)} images, seed {seed}) of {', '.join(batches)}",
                 "labels": t.labels.tolist(), "data": t.images.reshape(len(t), -1).numpy()}
        (dest / name).write_bytes(pickle.dumps(batch, protocol=4))
    shutil.copy(found / "batches.meta", dest)


def archive(out: Path, members: list[tuple[Path, str]]) -> Path:
    """A .tar.xz of (file, name inside the archive); names are paths under the suite's data root."""
    with tarfile.open(out, "w:xz", preset=6) as tar:
        for path, name in members:
            tar.add(path, arcname=name)
    return out


def build_archives(data: Path, work: Path, emnist_sizes, cifar_sizes, seed: int, fer_per_class=None) -> dict[str, Path]:
    fer = data / "fer2013"
    archives = {}
    for split in ("train", "test"):
        files = fer_files(fer, split, fer_per_class)
        archives[f"fer2013-{split}"] = archive(work / f"fer2013-{split}.tar.xz",
                                               [(f, f"fer2013/{f.relative_to(fer)}") for f in files])
        print(f"fer2013-{split}: {len(files):,} images", flush=True)
    staged = work / "staged"
    write_emnist(data / "emnist-byclass-reduced", staged / "emnist", emnist_sizes, seed)
    write_cifar(data / "cifar10", staged / "cifar10" / "cifar-10-batches-py", cifar_sizes, seed)
    for name, files in (("emnist", EMNIST_FILES), ("cifar10", CIFAR_FILES)):
        archives[name] = archive(work / f"{name}.tar.xz", [(staged / f, f) for f in files])
    print(f"emnist: {emnist_sizes[0]:,} train, {emnist_sizes[1]:,} test; cifar10: {cifar_sizes[0]:,} train, "
          f"{cifar_sizes[1]:,} test (seeded subsets, seed {seed})", flush=True)
    return archives


def plan(sizes: dict[str, int], capacity: int) -> list[list[str]]:
    """First-fit decreasing: the fewest parts (in practice) whose archives each add up to at most `capacity`."""
    parts: list[list[str]] = []
    room: list[int] = []
    for name in sorted(sizes, key=lambda n: -sizes[n]):
        if sizes[name] > capacity:
            raise SystemExit(f"error: {name} ({sizes[name] / MIB:.1f} MiB) does not fit beside the checkout "
                             f"({capacity / MIB:.1f} MiB left under the limit); make the checkout smaller "
                             "(move models/, which the suite does not read, out of it for the calls: docs/gpu.md) "
                             "or give smaller --emnist/--cifar subsets")
        k = next((i for i, r in enumerate(room) if sizes[name] <= r), None)
        if k is None:
            parts.append([])
            room.append(capacity)
            k = len(parts) - 1
        parts[k].append(name)
        room[k] -= sizes[name]
    return parts


def calls(parts: list[Path], timeout_s: int = 590) -> list[str]:
    """The device tool's calls, in order: every part but the last is unpacked alone, the last call runs the suite."""
    out = []
    for i, part in enumerate(parts):
        rel = part.relative_to(ROOT) if part.is_relative_to(ROOT) else part
        if i < len(parts) - 1:
            cmd, t = f"python3 scripts/pack_for_device.py --unpack {rel}", 120
        else:
            cmd, t = f"python3 -m benchmarks.gpu_suite --unpack {rel} --copy-to $OUT", timeout_s
        out.append(f'run(command="{cmd}", carry=["{rel}"], timeout_s={t})')
    return out


def pack(data: Path, out: Path, limit_mib: float = LIMIT_MIB, emnist_sizes=EMNIST_SIZES, cifar_sizes=CIFAR_SIZES,
         seed: int = 0, fer_per_class: int | None = None, source: int | None = None) -> dict:
    """Write out/part1, out/part2, ...; returns the manifest (which every part holds)."""
    source = source_bytes() if source is None else source
    slack = 64 * 1024  # manifest.json and the part's folder
    capacity = int(limit_mib * MIB) - source - slack
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        archives = build_archives(data, Path(tmp), emnist_sizes, cifar_sizes, seed, fer_per_class)
        sizes = {name: p.stat().st_size for name, p in archives.items()}
        groups = plan(sizes, capacity)
        manifest = {"format": 1, "limit_mib": limit_mib, "source_bytes": source, "parts": len(groups),
                    "archives": {f"{name}.tar.xz": {"part": k + 1, "bytes": sizes[name]}
                                 for k, group in enumerate(groups) for name in group}}
        for k, group in enumerate(groups, 1):
            part = out / f"part{k}"
            part.mkdir()
            for name in group:
                os.replace(archives[name], part / f"{name}.tar.xz")
            (part / MANIFEST).write_text(json.dumps({**manifest, "part": k}, indent=2) + "\n")
    return manifest


def part_bytes(part: Path) -> int:
    return sum(p.stat().st_size for p in part.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------------------------------
# There: unpack (standard library only).

def unpack(parts: list[Path], dest: Path) -> list[str]:
    """Extract the archives of `parts` into `dest` (once: an unpacked archive leaves a marker), then return the
    archives of the whole set that are still missing in `dest` (earlier parts not unpacked on this machine)."""
    manifest = None
    for part in parts:
        path = Path(part) / MANIFEST
        if not path.is_file():
            raise SystemExit(f"error: {path} not found: give a part folder written by scripts/pack_for_device.py "
                             "(and name it in the call's carry)")
        manifest = json.loads(path.read_text())
        for name in sorted(n for n, a in manifest["archives"].items() if a["part"] == manifest["part"]):
            marker = dest / DONE / name
            if marker.exists():
                continue
            with tarfile.open(Path(part) / name, "r:xz") as tar:
                tar.extractall(dest, filter="data")
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("ok\n")
            print(f"unpacked {name} into {dest}", flush=True)
    return [n for n in manifest["archives"] if not (dest / DONE / n).exists()] if manifest else []


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"),
                    help="folder holding fer2013/, emnist-byclass-reduced/ and cifar10/")
    ap.add_argument("--out", default=str(ROOT / ".device"), help="where the parts are written (an ignored folder)")
    ap.add_argument("--limit-mib", type=float, default=LIMIT_MIB, help="checkout + one part must stay under this")
    ap.add_argument("--emnist", default=",".join(map(str, EMNIST_SIZES)), help="TRAIN,TEST images of the EMNIST subset")
    ap.add_argument("--cifar", default=",".join(map(str, CIFAR_SIZES)), help="TRAIN,TEST images of the CIFAR-10 subset")
    ap.add_argument("--seed", type=int, default=0, help="seed of the subsets")
    ap.add_argument("--fer-per-class", type=int, help=argparse.SUPPRESS)  # tests: a slice of FER-2013
    ap.add_argument("--unpack", nargs="+", metavar="PART", help="on the device: unpack these parts into --dest")
    ap.add_argument("--dest", default="/tmp/cnnlab-data", help="with --unpack: the data root to unpack into")
    args = ap.parse_args(argv)
    if args.unpack:
        missing = unpack([Path(p) for p in args.unpack], Path(args.dest))
        if missing:
            print(f"{args.dest}: still missing {', '.join(missing)}; make the next call (docs/gpu.md)")
        else:
            print(f"{args.dest}: complete")
        return 0

    def sizes(text, option):
        try:
            train, test = (int(v) for v in text.split(","))
        except ValueError:
            raise SystemExit(f"error: {option} takes TRAIN,TEST (two whole numbers), got {text!r}") from None
        return train, test
    manifest = pack(Path(args.data), Path(args.out), args.limit_mib, sizes(args.emnist, "--emnist"),
                    sizes(args.cifar, "--cifar"), args.seed, args.fer_per_class)
    parts = [Path(args.out) / f"part{k}" for k in range(1, manifest["parts"] + 1)]
    print(f"checkout: {manifest['source_bytes'] / MIB:.1f} MiB; limit per call: {args.limit_mib:g} MiB")
    for k, part in enumerate(parts, 1):
        names = [n for n, a in manifest["archives"].items() if a["part"] == k]
        print(f"part{k}: {part_bytes(part) / MIB:.1f} MiB ({', '.join(names)}); with the checkout "
              f"{(part_bytes(part) + manifest['source_bytes']) / MIB:.1f} MiB")
    ending = " (each within 30 s of the last, while the machine is warm):" if len(parts) > 1 else ":"
    print("device calls, in this order" + ending)
    for line in calls(parts):
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
