"""benchmarks/make_benchmarks_md.py: BENCHMARKS.md labels a speed check as one and shows no accuracy for it; a
sweep inside a result gets its own table."""

import importlib.util

from conftest import ROOT


def load_script(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmarks_label_a_speed_check_and_show_no_accuracy():
    md = load_script(ROOT / "benchmarks" / "make_benchmarks_md.py")
    rec = {"name": "mnv2", "kind": "speed", "command": "cnnlab train ...", "machine": "CPU", "note": "",
           "results": {"accuracy": 0.1, "f1_macro": 0.02, "recall_per_class": {"dog": 1.0}, "images_per_second": 53.7,
                       "train_seconds": 38.6}}
    text = "\n".join(md.section(rec))
    assert "Speed check: mnv2" in text and "images_per_second" in text
    assert "accuracy" not in text and "f1_macro" not in text and "dog" not in text
    real = dict(rec, kind=None, name="real")
    assert md.kind(real) == "result" and "| accuracy |" in "\n".join(md.section(real))


def test_benchmarks_give_a_sweep_inside_a_result_its_own_table():
    md = load_script(ROOT / "benchmarks" / "make_benchmarks_md.py")
    rec = {"name": "crop", "kind": "result", "command": "python -m benchmarks.calibration.live_crop", "machine": "CPU",
           "note": "", "results": {"faces": 700, "found": 661, "candidates": [{"crop": "fitted", "accuracy": 0.655},
                                                                   {"crop": "ceiling", "accuracy": 0.67}]}}
    lines = md.section(rec)
    assert "| faces | found |" in lines and "candidates:" in lines and "| crop | accuracy |" in lines
    assert "| fitted | 0.6550 |" in lines and "| ceiling | 0.6700 |" in lines
