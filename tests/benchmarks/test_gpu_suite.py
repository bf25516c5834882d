"""The GPU suite and its data packer, on the CPU: the packer's parts fit a device call and hold every file the suite
reads exactly once, and `gpu_suite.py --smoke` runs every step end to end on what the parts unpack to."""

import collections
import json
import os
import subprocess
import sys
import tarfile

import pytest

from conftest import FER, ROOT, SHARED

from scripts import pack_for_device as P

FER_PER_CLASS = 30
SIZES = {"emnist": (1000, 300), "cifar10": (300, 100)}


def fer_slice(split):
    """The files the packer must take from FER-2013: the first FER_PER_CLASS images of each class, as they are."""
    out = []
    for folder in sorted(p for p in (FER / split).iterdir() if p.is_dir()):
        out += sorted(f for f in folder.iterdir() if f.suffix == ".jpg")[:FER_PER_CLASS]
    return out


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """Parts of a slice of the real data under a limit that leaves about 1.3 MiB beside the checkout: 2+ parts."""
    out = tmp_path_factory.mktemp("device")
    source = P.source_bytes()
    limit = (source + 1.3 * P.MIB) / P.MIB
    manifest = P.pack(SHARED, out, limit, SIZES["emnist"], SIZES["cifar10"], seed=0, fer_per_class=FER_PER_CLASS)
    return out, manifest, limit, source


@pytest.mark.data
def test_parts_fit_a_call_and_hold_every_needed_file_once(packed, tmp_path):
    out, manifest, limit, source = packed
    parts = sorted(out.glob("part*"))
    assert manifest["parts"] == len(parts) >= 2
    for part in parts:
        assert P.part_bytes(part) + source <= limit * P.MIB, part
    members = collections.Counter()
    for part in parts:
        assert json.loads((part / "manifest.json").read_text())["archives"] == manifest["archives"]
        for a in part.glob("*.tar.xz"):
            with tarfile.open(a) as tar:
                members.update(m.name for m in tar.getmembers() if m.isfile())
    needed = {f"fer2013/{f.relative_to(FER)}" for s in ("train", "test") for f in fer_slice(s)}
    needed |= {f"emnist/emnist-byclass-{s}-{k}-ubyte.gz"
               for s in ("train", "test") for k in ("images-idx3", "labels-idx1")}
    needed |= {"emnist/emnist-byclass-mapping.txt"}
    needed |= {f"cifar10/cifar-10-batches-py/{n}" for n in ("data_batch_1", "test_batch", "batches.meta")}
    assert set(members) == needed
    assert set(members.values()) == {1}, [m for m, n in members.items() if n > 1][:5]

    # The first call unpacks part 1 only: the rest is reported missing; then everything is there, as it was.
    dest = tmp_path / "data"
    missing = P.unpack([parts[0]], dest)
    assert sorted(missing) == sorted(n for n, a in manifest["archives"].items() if a["part"] > 1)
    assert P.unpack(parts[1:], dest) == []
    assert P.unpack(parts, dest) == []  # a repeated call unpacks nothing again
    for f in fer_slice("test")[::7] + fer_slice("train")[::7]:
        assert (dest / "fer2013" / f.relative_to(FER)).read_bytes() == f.read_bytes()
    from cnnlab import data
    for name, folder in (("emnist", "emnist"), ("cifar10", "cifar10")):
        train, test = (data.load(name, dest / folder, s, cache=str(tmp_path / "cache")) for s in ("train", "test"))
        assert (len(train), len(test)) == SIZES[name]
        assert len(train.classes) == {"emnist": 62, "cifar10": 10}[name]
        assert train.images.shape[1:] == {"emnist": (1, 28, 28), "cifar10": (3, 32, 32)}[name]

    calls = P.calls(parts)
    assert len(calls) == len(parts) and "benchmarks.gpu_suite" in calls[-1] and "gpu_suite" not in calls[0]
    assert all(f'carry=["{p}"]' in c for p, c in zip(parts, calls))


def test_plan_refuses_an_archive_larger_than_a_part():
    assert P.plan({"a": 5, "b": 4, "c": 3, "d": 2}, 7) == [["a", "d"], ["b", "c"]]
    with pytest.raises(SystemExit, match="does not fit"):
        P.plan({"fer2013-train": 9}, 8)


def test_check_run_finds_a_loss_that_does_not_fall(tmp_path):
    from benchmarks.gpu_suite import check_run
    (tmp_path / "history.csv").write_text("epoch,train_loss\n1,2.0\n2,2.5\n")
    row, problems = check_run(tmp_path)
    assert row["first_loss"] == 2.0 and row["last_loss"] == 2.5
    assert any("did not fall" in p for p in problems)
    assert any("metrics.json" in p for p in problems) and any("best.pt" in p for p in problems)


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.timeout(1800)  # every step of the suite, on the CPU: longer than pytest-timeout's default
def test_smoke_runs_every_step_on_the_cpu(packed, tmp_path):
    out, manifest, _, _ = packed
    before = sorted((ROOT / "benchmarks" / "results").iterdir())
    r = subprocess.run([sys.executable, "-m", "benchmarks.gpu_suite", "--smoke", "--unpack", *sorted(out.glob("part*")),
                        "--data-root", tmp_path / "data", "--work", tmp_path / "work", "--copy-to", tmp_path / "out"],
                       cwd=ROOT, capture_output=True, text=True, timeout=3600,  # a hang guard only
                       env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    got = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"gpu_suite.json", "gpu_training_paths.json", "gpu_fer2013_recipe.json", "emnist_throughput_cpu.json",
            "train_speed_cpu.json", "gpu_suite.log", "steps.log"} == got
    assert sorted((ROOT / "benchmarks" / "results").iterdir()) == before  # a smoke run records nothing there

    paths = json.loads((tmp_path / "out" / "gpu_training_paths.json").read_text())["results"]
    assert [p["path"] for p in paths] == [
        "train emnist mlp", "train emnist cnn", "train emnist cnn-factorized", "train fer2013",
        "train cifar10 mobilenetv2-cifar", "distill teacher --mode linear-probe", "distill teacher --mode finetune",
        "distill student", "--resume after a stop", "torchrun --nproc_per_node=1 (gloo)"]
    for p in paths:
        assert p["status"] == "ok" and p["last_loss"] < p["first_loss"] and 0 <= p["accuracy"] <= 1, p
    suite = json.loads((tmp_path / "out" / "gpu_suite.json").read_text())
    assert [s["status"] for s in suite["results"]] == ["ok"] * 13
    assert suite["environment"]["torch"] and "CPU" in suite["machine"]
    fer = json.loads((tmp_path / "out" / "gpu_fer2013_recipe.json").read_text())
    assert fer["results"]["finished"] and fer["results"]["epochs_done"] == fer["results"]["epochs_planned"] == 2
    assert fer["command"].startswith("cnnlab train fer2013")
    speed = json.loads((tmp_path / "out" / "train_speed_cpu.json").read_text())["results"]
    assert [(s["model"], s["mode"]) for s in speed] == [("mobilenetv2-cifar", "train"), ("resnet50", "train"),
                                                        ("resnet50", "inference")]
    assert all(s["images_per_s"] > 0 for s in speed)


def test_watch_stops_a_command_when_its_budget_is_spent(tmp_path):
    """The FER-2013 recipe's guard: past its budget the command gets SIGINT (cnnlab then saves last.pt and stops)."""
    from benchmarks.gpu_suite import SMOKE, Suite, watch
    suite = Suite(SMOKE, tmp_path, tmp_path, tmp_path / "results", None)
    wall, stopped = watch(suite, [sys.executable, "-c", "import time; time.sleep(120)"], tmp_path / "log", tmp_path, 1)
    assert stopped and wall < 120
