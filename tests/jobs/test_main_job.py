"""The main job through the real command line, at toy size: `cnnlab demo` (the README's first command) and
`cnnlab compare emnist`. What a user reads (report.html, comparison.md, comparison.json) must carry the numbers
of each run's metrics.json."""

import json
import re

import numpy as np
import pytest

from cnnlab.experiments import recipes
from conftest import Page, cnnlab

MODELS = ["mlp", "cnn", "cnn-factorized"]


def check_comparison(out):
    """comparison.json and comparison.md against out/<model>/metrics.json; returns (comparison.json, .md, metrics)."""
    table = json.loads((out / "comparison.json").read_text())
    md = (out / "comparison.md").read_text()
    assert [row["model"] for row in table["models"]] == MODELS
    metrics = {}
    for row in table["models"]:
        m = metrics[row["model"]] = json.loads((out / row["model"] / "metrics.json").read_text())
        cm = np.array(m["confusion_matrix"])
        assert np.trace(cm) / cm.sum() == pytest.approx(m["accuracy"])  # metrics.json is itself consistent
        for key, mkey in (("params", "params_total"), ("accuracy", "accuracy"), ("precision_macro", "precision_macro"),
                          ("recall_macro", "recall_macro"), ("f1_macro", "f1_macro"), ("best_epoch", "best_epoch"),
                          ("train_seconds", "train_seconds"), ("images_per_second", "images_per_second")):
            assert row[key] == m[mkey], (row["model"], key)
        assert (f"| {row['model']} | {m['params_total']:,} | {m['accuracy']:.4f} | {m['precision_macro']:.4f} | "
                f"{m['recall_macro']:.4f} | {m['f1_macro']:.4f} |") in md, row["model"]
    mlp, cnn, fac = (metrics[n] for n in MODELS)
    assert abs(mlp["params_total"] - cnn["params_total"]) <= 0.05 * cnn["params_total"]  # matched budgets
    assert fac["params_total"] < cnn["params_total"]
    # the prose draws its conclusions from the same numbers
    better = "CNN" if cnn["accuracy"] >= mlp["accuracy"] else "MLP"
    assert (f"the {better} is more accurate here (CNN {cnn['accuracy']:.4f}, MLP {mlp['accuracy']:.4f})"
            in md.replace("\n", " "))
    assert f"cuts the parameters from {cnn['params_total']:,} to {fac['params_total']:,}" in md
    assert f"{fac['accuracy']:.4f} vs {cnn['accuracy']:.4f}" in md
    return table, md, metrics


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo"
    r = cnnlab("demo", "--out", out, "--epochs", 1, "--device", "cpu", "--quiet")
    return out, r.stdout


@pytest.mark.slow
def test_demo_report_carries_each_runs_metrics(demo):
    out, stdout = demo
    assert stdout.strip().splitlines()[-1] == f"report: {out / 'report.html'}"
    table, md, metrics = check_comparison(out)
    assert table["epochs"] == 1
    for name in MODELS:
        config = json.loads((out / name / "config.json").read_text())
        assert config["epochs"] == 1 and config["model"] == name and config["samples"]["test"] == 2000
        assert len((out / name / "history.csv").read_text().strip().splitlines()) == 2
        # config.json names the recipe the demo ran, and that recipe (as `cnnlab recipes` lists it) has its values
        recipe = recipes("emnist")[config["recipe"]]
        assert config["recipe"] == "demo" and all(config[k] == v for k, v in recipe.items() if k != "epochs")
    text = (out / "report.html").read_text()
    page = Page(text)
    # one section per run, in the comparison's order, each headed by that run's test accuracy
    for i, name in enumerate(MODELS, 1):
        m = metrics[name]
        assert f"run{i}" in page.sections
        head = re.search(rf'<section class="run" id="run{i}"><h2>([^<]*)</h2><p>([^<]*)</p>', text)
        assert head and name in head.group(1), f"run{i}"
        assert f"test accuracy {m['accuracy']:.4f}, macro recall {m['recall_macro']:.4f}" in head.group(2)
        assert f"{m['precision_macro']:.4f}" in section_text(text, f"run{i}-metrics")
    # the side-by-side table: one column per run
    cells = "".join(f"<td>{metrics[n]['accuracy']:.4f}</td>" for n in MODELS)
    assert f"<td>accuracy</td>{cells}" in text
    cells = "".join(f"<td>{metrics[n]['params_total']:,}</td>" for n in MODELS)
    assert f"<td>parameters</td>{cells}" in text
    # comparison.md is shown at the top, with the same numbers
    notes = section_text(text, "notes")
    for name in MODELS:
        m = metrics[name]
        assert re.search(rf"<tr><td>{name}</td><td[^>]*>{m['params_total']:,}</td><td[^>]*>{m['accuracy']:.4f}</td>",
                         notes), name


def section_text(html: str, sid: str) -> str:
    assert f'id="{sid}"' in html, f"no section {sid}"
    start = html.index(f'id="{sid}"')
    return html[start:html.index("</section>", start)]


def test_compare_emnist(emnist_sample, tmp_path):
    out = tmp_path / "compare"
    args = ["compare", "emnist", "--data", emnist_sample, "--out", out, "--epochs", 2, "--limit-train", 600,
            "--limit-test", 300, "--batch-size", 64, "--lr", 0.004, "--quiet"]
    r = cnnlab(*args)
    table, md, metrics = check_comparison(out)
    assert r.stdout == md + "\n"  # it prints comparison.md
    assert table["epochs"] == 2
    # the same hyper-parameters for every model, and the header says which
    configs = [json.loads((out / name / "config.json").read_text()) for name in MODELS]
    for config in configs:
        assert (config["epochs"], config["batch_size"], config["lr"], config["limit_train"]) == (2, 64, 0.004, 600)
        assert config["samples"]["test"] == 300
        assert {k: config[k] for k in ("optimizer", "weight_decay", "seed")} == {k: configs[0][k] for k in
                                                                                ("optimizer", "weight_decay", "seed")}
    c = configs[0]
    assert (f"2 epochs, batch 64, {c['optimizer']} lr 0.004, weight decay (L2) {c['weight_decay']}, dropout "
            f"{c['model_kwargs']['dropout']}, seed 0") in md
    # --resume reuses the finished runs: nothing is trained again, the same table comes out
    stamps = {name: (out / name / "metrics.json").stat().st_mtime_ns for name in MODELS}
    r = cnnlab(*args, "--resume")
    assert {name: (out / name / "metrics.json").stat().st_mtime_ns for name in MODELS} == stamps
    assert json.loads((out / "comparison.json").read_text()) == table and r.stdout == md + "\n"
