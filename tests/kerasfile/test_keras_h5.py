"""cnnlab export --format h5: a Keras 3 model (keras.models.load_model, no cnnlab) that gives PyTorch's
probabilities on real images, and that cnnlab reads back into the identical PyTorch model."""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

from cnnlab import export
from cnnlab.cli import main
from cnnlab.errors import DataError, UsageError
from cnnlab.kerasfile.images import N_REAL, evenly
from cnnlab.models import registry
from cnnlab.runs import load_model
from conftest import CIFAR, FER
from test_export import CLASSES, write_checkpoint

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 on PyTorch: no test needs TensorFlow
os.environ.setdefault("KERAS_TORCH_DEVICE", "cpu")  # fp32 as PyTorch computes it (a GPU's convolutions use TF32)
# Keras' PyTorch backend turns tensors into numpy arrays the way numpy 2 deprecates, once per layer and batch
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy:DeprecationWarning")

# every architecture a practical question's best model can be (random weights, measured batch-norm statistics)
MODELS = {"mlp": ("mlp", [1, 28, 28], {"hidden": 32}), "cnn": ("cnn", [1, 28, 28], {"width": 4}),
          "cnn-factorized": ("cnn-factorized", [3, 32, 32], {"width": 4}),
          "fer-vgg": ("fer-vgg", [1, 48, 48], {"width": 4}),
          "fer-vgg-factorized": ("fer-vgg", [1, 48, 48], {"width": 4, "factorized": True}),
          "mobilenetv2-cifar": ("mobilenetv2-cifar", [3, 32, 32], {}),
          "mobilenetv2": ("mobilenetv2", [3, 32, 32], {}),  # ImageNet's stem: strided convolutions, padded by hand
          # the teachers resize inside the model (to 224 in the recipe; smaller here, to keep the test short)
          "resnet18": ("resnet18", [3, 32, 32], {"image_size": 48}),
          "resnet50": ("resnet50", [3, 32, 32], {"image_size": 40})}


def real_images(shape, n=24) -> torch.Tensor:
    """uint8 test images of the dataset with this input shape: EMNIST (the shipped sample), FER-2013, CIFAR-10."""
    from cnnlab import data
    from cnnlab.data.emnist import load_sample
    if shape == [1, 28, 28]:
        return evenly(load_sample("test").images, n)
    return evenly(data.load("fer2013" if shape == [1, 48, 48] else "cifar10", FER if shape[0] == 1 else CIFAR,
                            "test").images, n)


def nhwc(images: torch.Tensor) -> np.ndarray:
    return images.permute(0, 2, 3, 1).float().numpy()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> (PyTorch model, where `cnnlab export` writes its .h5, that command line, real test images)."""
    root = tmp_path_factory.mktemp("keras")
    files = {}
    for name, (arch, shape, hparams) in MODELS.items():
        model = write_checkpoint(root / f"{name}.pt", arch, shape, hparams, seed=3)
        out = root / name / "model.h5"  # a folder that does not exist yet
        argv = ["export", str(root / f"{name}.pt"), "--format", "h5", "--out", str(out)]
        files[name] = (model, out, argv + (["--data", str(FER)] if arch == "fer-vgg" else []), real_images(shape))
    return files


def run_export(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


@pytest.mark.data
@pytest.mark.parametrize("name", list(MODELS))
def test_keras_gives_pytorchs_probabilities_and_cnnlab_reads_it_back_exactly(exported, name, capsys):
    import keras
    model, path, argv, images = exported[name]
    report = run_export(argv, capsys)
    assert report["file"] == str(path) and report["agreement"] == 1.0 and report["max_abs_diff"] <= 1e-4
    assert report["roundtrip_max_abs_diff"] == 0.0
    if "--data" in argv:
        assert report["images"] == N_REAL and "fer2013 test images" in report["check_images"]
    # the file as Keras opens it, on real images: pixel values 0-255, (N, H, W, C)
    got = keras.models.load_model(str(path)).predict(nhwc(images), verbose=0)
    with torch.no_grad():
        logits = model(images.float() / 255)
    want = logits.softmax(1).numpy()
    assert got.shape == (len(images), len(CLASSES)) and np.abs(got - want).max() <= 1e-4
    # a random zoo model's probabilities are all close to 1/7: the log-probabilities show a wrong layer too
    log_want = logits.log_softmax(1).numpy()
    assert np.abs(np.log(got) - log_want).max() <= 1e-3
    assert np.abs(log_want - log_want[0]).max() > 1e-2  # the output depends on the image
    with h5py.File(path, "r") as f:
        assert json.loads(f.attrs["class_names"]) == CLASSES
        meta = json.loads(f.attrs["cnnlab"])
        assert meta["arch"] == MODELS[name][0] and meta["input_shape"] == MODELS[name][1]
        assert meta["model_kwargs"] == {"mean": [0.5] * MODELS[name][1][0], "std": [0.25] * MODELS[name][1][0],
                                        **MODELS[name][2]}
        assert meta["dataset"] == "fer2013" and meta["tta"] == "none" and "model_config" in f.attrs
    # back into cnnlab: the identical PyTorch model, by load_h5 and by every command's load_model
    for loaded, info in (export.load_h5(path), load_model(str(path))):
        assert type(loaded) is type(model) and info["classes"] == CLASSES and info["input_shape"] == MODELS[name][1]
        with torch.no_grad():
            assert torch.equal(loaded(images.float() / 255), logits)


@pytest.mark.data
def test_the_files_open_in_a_fresh_python_without_cnnlab(exported, tmp_path, capsys):
    """What a grader does: a Python that imports keras (PyTorch backend here; TensorFlow and JAX read the same
    file) and not cnnlab, loads each .h5 with no custom objects and predicts."""
    jobs, want = [], {}
    for name, (model, path, argv, images) in exported.items():
        if not path.exists():
            run_export(argv, capsys)
        np.save(tmp_path / f"{name}.npy", nhwc(images))
        jobs.append([str(path), str(tmp_path / f"{name}.npy"), str(tmp_path / f"{name}.out.npy")])
        with torch.no_grad():
            want[name] = model(images.float() / 255).softmax(1).numpy()
    script = ("import json, sys\nimport numpy as np\nimport keras\n"
              "for h5, x, out in json.loads(sys.argv[1]):\n"
              "    np.save(out, keras.models.load_model(h5).predict(np.load(x), verbose=0))\n"
              "print(json.dumps({'cnnlab': sorted(m for m in sys.modules if m.split('.')[0] == 'cnnlab'), "
              "'backend': keras.backend.backend()}))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-c", script, json.dumps(jobs)], capture_output=True, text=True, cwd=tmp_path,
                       env={**env, "KERAS_BACKEND": "torch", "KERAS_TORCH_DEVICE": "cpu"})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1]) == {"cnnlab": [], "backend": "torch"}
    for name in exported:
        got = np.load(tmp_path / f"{name}.out.npy")
        assert np.abs(got - want[name]).max() <= 1e-4, name


@pytest.mark.data
def test_an_h5_exported_again_is_the_same_model_and_other_commands_take_it(exported, tmp_path, capsys):
    model, path, argv, images = exported["fer-vgg"]
    if not path.exists():
        run_export(argv, capsys)
    again = run_export(["export", str(path), "--format", "h5", "--out", str(tmp_path / "again.h5")], capsys)
    assert again["roundtrip_max_abs_diff"] == 0.0 and "random images" in again["check_images"]
    with h5py.File(path, "r") as a, h5py.File(tmp_path / "again.h5", "r") as b:
        assert a.attrs["model_config"] == b.attrs["model_config"]  # layer names do not depend on Keras' counters
        assert a.attrs["cnnlab"] == b.attrs["cnnlab"] and a.attrs["class_names"] == b.attrs["class_names"]
    onnx = run_export(["export", str(path), "--format", "onnx", "--out", str(tmp_path / "m.onnx")], capsys)
    assert onnx["max_abs_diff"] <= 1e-4


def test_old_layout_files_are_still_read(tmp_path):
    """The .h5 cnnlab wrote before: a PyTorch state_dict under /weights, its description as attributes."""
    model = write_checkpoint(tmp_path / "best.pt", "cnn", [1, 28, 28], {"width": 4})
    kwargs = {"mean": [0.5], "std": [0.25], "width": 4}
    with h5py.File(tmp_path / "old.h5", "w") as f:
        f.attrs.update({"format": "cnnlab-h5", "format_version": 1, "arch": "cnn", "model_kwargs": json.dumps(kwargs),
                        "classes": CLASSES, "num_classes": 7, "input_shape": [1, 28, 28], "dataset": "emnist",
                        "tta": "flip"})
        for k, v in model.state_dict().items():
            f.create_dataset(f"weights/{k}", data=v.numpy())
    loaded, meta = export.load_h5(tmp_path / "old.h5")
    assert meta["classes"] == CLASSES and meta["tta"] == "flip" and meta["dataset"] == "emnist"
    x = real_images([1, 28, 28], 8).float() / 255
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


@pytest.mark.data
def test_files_that_are_not_cnnlab_keras_models_are_refused_in_one_line(exported, tmp_path, capsys):
    _, path, argv, images = exported["cnn"]
    if not path.exists():
        run_export(argv, capsys)
    (tmp_path / "junk.h5").write_text("not hdf5")
    (tmp_path / "truncated.h5").write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f.create_dataset("x", data=[1])
    (tmp_path / "foreign.h5").write_bytes(path.read_bytes())
    with h5py.File(tmp_path / "foreign.h5", "a") as f:  # a Keras model that cnnlab did not write
        del f.attrs["cnnlab"]
    (tmp_path / "tampered.h5").write_bytes(path.read_bytes())
    with h5py.File(tmp_path / "tampered.h5", "a") as f:  # a layer without its kernel: never a silently random one
        f["model_weights/features_0_0"].attrs["weight_names"] = []
    expected = {"junk.h5": "not a readable HDF5 file", "truncated.h5": "truncated file",
                "plain.h5": "an HDF5 file that is not a Keras model",
                "foreign.h5": "a Keras model that cnnlab did not write",
                "tampered.h5": "layer features_0_0 holds nothing, not the weight of its PyTorch layer"}
    for name, what in expected.items():
        with pytest.raises(DataError, match=what):
            export.load_h5(tmp_path / name)
        code = main(["export", str(tmp_path / name), "--format", "onnx", "--out", str(tmp_path / "x.onnx")])
        out, err = capsys.readouterr()
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        assert str(tmp_path / name) in err and "cnnlab export MODEL --format h5" in err
        assert not (tmp_path / "x.onnx").exists()
    with pytest.raises(DataError, match="no such file"):
        export.load_h5(tmp_path / "missing.h5")


def test_a_layer_without_an_exact_keras_equivalent_is_refused(tmp_path, capsys):
    from cnnlab.kerasfile.build import build
    model = registry.build("cnn", 7, [1, 28, 28], width=4)
    model.features[0][2] = torch.nn.GELU()
    with pytest.raises(UsageError, match=r"layer features\.0\.2 \(GELU\).*no exact Keras equivalent"):
        build(model, [1, 28, 28], "cnn")
    model = registry.build("cnn", 7, [1, 28, 28], width=4)
    model.features[1] = torch.nn.MaxPool2d(3, 2, padding=1)  # after a ReLU: zero padding is exact
    build(model, [1, 28, 28], "cnn")
    model.features[0][2] = torch.nn.Identity()  # now after batch norm: PyTorch's -inf padding has no Keras twin
    with pytest.raises(UsageError, match=r"layer features\.1 \(MaxPool2d\): padding"):
        build(model, [1, 28, 28], "cnn")


@pytest.mark.data
def test_a_failed_check_leaves_the_old_file_and_no_temporary(exported, tmp_path, capsys, monkeypatch):
    from cnnlab.kerasfile import check
    write_checkpoint(tmp_path / "best.pt", "cnn", [1, 28, 28], {"width": 4})
    out = tmp_path / "m.h5"
    out.write_bytes(b"the file from before")
    real = check.parity
    monkeypatch.setattr(check, "parity", lambda *a: {**real(*a), "max_abs_diff": 1e-3})  # a wrong Keras model
    code = main(["export", str(tmp_path / "best.pt"), "--format", "h5", "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == 1 and "differ" in err and "m.h5" in err
    assert out.read_bytes() == b"the file from before" and sorted(p.name for p in tmp_path.iterdir()) == [
        "best.pt", "m.h5"]


def test_commands_that_do_not_touch_h5_import_neither_keras_nor_h5py():
    script = ("import sys\nfrom cnnlab.cli import main\nmain(['models'])\n"
              "print([m for m in ('keras', 'h5py') if m in sys.modules])")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=os.environ)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "[]"


@pytest.mark.data
def test_the_handin_saves_the_shipped_model_as_export_writes_it_and_shows_a_grader_how_to_open_it(tmp_path, capsys):
    import keras

    from cnnlab.handin import build
    from cnnlab.notebook_helpers import best
    images = real_images([1, 48, 48], 16)
    record = best.save(tmp_path / "p2", "P2", "fer2013-vgg", "fer2013-vgg", "the shipped model", images)
    run_export(["export", "fer2013-vgg", "--format", "h5", "--out", str(tmp_path / "cli.h5")], capsys)
    assert (tmp_path / "p2" / "best_model.h5").read_bytes() == (tmp_path / "cli.h5").read_bytes()
    check = record["load_check"]
    assert check["images"] == 16 and check["agreement"] == 1.0 and check["max_abs_diff"] <= 1e-4
    assert check["roundtrip_max_abs_diff"] == 0.0 and record["input_shape"] == [1, 48, 48]
    # what the notebook runs and shows: the grader's three lines, and their agreement with cnnlab
    p = keras.models.load_model(record["h5"]).predict(nhwc(images), verbose=0)
    assert best.agreement("fer2013-vgg", images, p).startswith("same class as cnnlab on 100.0% of 16 test images")
    # models/README of the hand-in: the same three lines, on the file's name there
    lines = build._model_load({**record, "file": "p2_fer2013_best.h5"})
    assert "(N, 48, 48, 1)" in lines and "angry, disgust, fear, happy, neutral, sad, surprise" in lines
    assert build.keras_lines("p2_fer2013_best.h5").replace("\n", "\n    ") in lines
    assert "same class on 100.0% of 16 images" in build._model_row({**record, "file": "p2_fer2013_best.h5"})


@pytest.mark.data
def test_the_export_check_runs_on_real_images_where_there_are_some():
    from cnnlab.data.emnist import load_sample
    from cnnlab.kerasfile.images import check_images
    images, source = check_images({"dataset": "emnist", "input_shape": [1, 28, 28]}, None)
    assert len(images) == N_REAL and "EMNIST sample shipped with cnnlab" in source
    assert any(torch.equal(images[0], im) for im in load_sample("test").images[:1])  # real test images, in order
    images, source = check_images({"dataset": "fer2013", "input_shape": [1, 48, 48]}, str(FER))
    assert images.shape == (N_REAL, 1, 48, 48) and images.dtype == torch.uint8 and "fer2013 test images" in source
    images, source = check_images({"dataset": None, "input_shape": [3, 32, 32]}, None)
    assert len(images) == 8 and "random" in source
    with pytest.raises(DataError, match=r"--data .*shape \[1, 48, 48\], the model takes \[1, 28, 28\]"):
        check_images({"dataset": "fer2013", "input_shape": [1, 28, 28]}, str(FER))
    with pytest.raises(UsageError, match="does not say its dataset"):
        check_images({"dataset": None, "input_shape": [1, 48, 48]}, str(FER))
