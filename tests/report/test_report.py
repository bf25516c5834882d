"""`cnnlab report` on real short EMNIST runs, and `cnnlab tensorboard` on loopback."""

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import Page, wait_until

ROOT = Path(__file__).resolve().parents[2]
EMNIST = ROOT.parent / "shared" / "data" / "emnist-byclass-reduced"


def cnnlab(*args, check=True, timeout=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, "-m", "cnnlab", *map(str, args)], capture_output=True, text=True, env=env,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"cnnlab {' '.join(map(str, args))} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two real short runs, one after the other (two trainings at once only fight over a small machine's cores):
    a CNN (the brief's command) and an MLP on fewer images."""
    root = tmp_path_factory.mktemp("runs")
    cnnlab("train", "emnist", "--data", EMNIST, "--epochs", 1, "--quiet", "--limit-train", 2000, "--limit-test", 500,
           "--out", root / "cnn")
    cnnlab("train", "emnist", "--data", EMNIST, "--epochs", 1, "--quiet", "--model", "mlp", "--limit-train", 1000,
           "--limit-test", 300, "--out", root / "mlp")
    return root / "cnn", root / "mlp"


def assert_self_contained(text: str, page: Page) -> None:
    for link in page.links():
        assert link.startswith(("data:", "#")), f"external reference {link[:80]!r}"
        assert not re.match(r"(?i)\s*(https?:)?//", link)
    assert "<link" not in text.lower() and "@import" not in text and "url(" not in text
    assert not any(t in ("script", "iframe") for t, _ in page.elements)


@pytest.mark.data
@pytest.mark.slow
def test_report_of_one_run_has_every_section(runs, tmp_path):
    run = runs[0]
    out = tmp_path / "r.html"
    r = cnnlab("report", run, "--out", out, "--quiet")
    assert str(out) in r.stdout
    text = out.read_text()
    page = Page(text)
    assert_self_contained(text, page)
    metrics = json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())
    for sid in ("config", "curves", "metrics", "confusion", "samples"):
        assert f"run1-{sid}" in page.sections, f"section {sid} missing"
    assert config["optimizer"] in text and str(config["lr"]) in text
    # curves from history.csv: the figure and one table row per epoch
    assert page.images("run1-curves") and page.images("run1-curves")[0]["src"].startswith("data:image/png;base64,")
    # metrics: one per-class row with the class's precision and recall from metrics.json
    cells = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>[^<]*</td><td>[^<]*</td></tr>", text)
    per_class = {c: (p, r) for c, p, r in cells if c in metrics["classes"]}
    assert len(per_class) == len(metrics["classes"]) == 62
    for c in ("0", "A", "e"):
        scores = metrics["per_class"][c]
        assert per_class[c] == (f"{scores['precision']:.4f}", f"{scores['recall']:.4f}")
    assert f"{metrics['accuracy']:.4f}" in text
    # the 62-row per-class table is folded (<details>), the averages above it are not
    folded = re.search(r'id="run1-metrics".*?<details><summary>([^<]*)</summary>(.*?)</details>', text, re.S)
    assert folded and "62 classes" in folded.group(1)
    assert sum(f"<tr><td>{c}</td>" in folded.group(2) for c in metrics["classes"]) == 62
    assert "<td>macro</td>" in text.split("<details>")[0]
    # confusion matrix: counts and row-normalised
    alts = [a["alt"] for a in page.images("run1-confusion")]
    assert any("counts" in a for a in alts) and any("row-normalised" in a for a in alts)
    # sample predictions: the best checkpoint re-run on test images, right ones and wrong ones
    samples = page.images("run1-samples")
    assert len(samples) >= 8 and all(a["src"].startswith("data:image/png;base64,") for a in samples)
    kinds = [a.get("class") for t, a in page.sections["run1-samples"] if t == "figure"]
    assert "ok" in kinds and "bad" in kinds
    # readable on a phone and on paper
    assert 'name="viewport"' in text.replace("'", '"') and "@media print" in text and "max-width" in text
    assert "side-by-side" not in page.sections


@pytest.mark.data
@pytest.mark.slow
def test_two_runs_side_by_side_and_notes(runs, tmp_path):
    from cnnlab.report.html import write_report
    cnn, mlp = runs
    (cnn.parent / "comparison.md").write_text("# MLP vs CNN\n\n| model | accuracy |\n|---|---:|\n| cnn | 0.5 |\n")
    try:
        out = write_report([cnn, mlp], tmp_path / "two.html", title="two runs", samples=2)
    finally:
        (cnn.parent / "comparison.md").unlink()
    text = out.read_text()
    page = Page(text)
    assert_self_contained(text, page)
    assert "run1" in page.sections and "run2" in page.sections and "comparison" in page.sections
    side = page.sections["side-by-side"]
    heads = re.search(r'id="side-by-side".*?<thead>(.*?)</thead>', text, re.S).group(1)
    assert "<th>cnn</th>" in heads and "<th>mlp</th>" in heads
    row = re.search(r"<tr class=\"diff\"><td>model</td><td>cnn</td><td>mlp</td></tr>", text)
    assert row, "the model row differs between the runs and is highlighted"
    m1, m2 = (json.loads((r / "metrics.json").read_text()) for r in runs)
    assert re.search(rf"<td>accuracy</td><td>{m1['accuracy']:.4f}</td><td>{m2['accuracy']:.4f}</td>", text)
    assert any(t == "img" and "overlaid" in a.get("alt", "") for t, a in side)
    assert "<h2>MLP vs CNN</h2>" in text


def test_all_runs_plot_legend_says_train_dashed_test_solid(tmp_path, monkeypatch):
    """The caption under the 'all runs' plot says test solid, train dashed: the legend shows those two line styles
    (long enough for the dashes to show, no marker hiding them) and one colour per run, as the lines are drawn."""
    from matplotlib.colors import to_rgb

    from cnnlab import plots
    figures = []
    monkeypatch.setattr(plots, "save", lambda fig, path: figures.append(fig) or path)
    history = [{"epoch": e, "train_loss": 2.0 / e, "test_loss": 1.5 / e, "train_acc": 0.3 * e, "test_acc": 0.35 * e}
               for e in (1, 2)]
    plots.overlay_curves({"mlp": history, "cnn": history}, tmp_path / "o.png", title="all runs")
    fig = figures[0]
    (legend,) = fig.legends
    entries = {t.get_text(): h for t, h in zip(legend.get_texts(), legend.legend_handles)}
    assert list(entries) == ["mlp", "cnn", "train", "test"]
    assert entries["train"].get_linestyle() == "--" and entries["test"].get_linestyle() == "-"
    assert all(entries[s].get_marker() in (None, "None", "") for s in ("train", "test"))
    assert legend.handlelength >= 3
    drawn = {line.get_label(): line for ax in fig.axes for line in ax.get_lines()}
    for run in ("mlp", "cnn"):
        assert drawn[f"{run} train"].get_linestyle() == "--" and drawn[f"{run} test"].get_linestyle() == "-"
        assert to_rgb(drawn[f"{run} test"].get_color()) == to_rgb(entries[run].get_facecolor())


@pytest.mark.data
@pytest.mark.slow
def test_unreachable_data_is_said_not_fatal(runs, tmp_path):
    from cnnlab.report.html import write_report
    run = tmp_path / "moved"
    shutil.copytree(runs[0], run)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "data": str(tmp_path / "gone")}))
    text = write_report([run], tmp_path / "r.html").read_text()
    page = Page(text)
    assert "is not reachable" in text and "--data" in text
    assert not page.images("run1-samples")
    assert page.images("run1-curves") and page.images("run1-confusion")
    # --data points the report at the dataset again
    text = write_report([run], tmp_path / "r2.html", data=str(EMNIST), samples=3).read_text()
    assert len(Page(text).images("run1-samples")) == 6


@pytest.mark.data
@pytest.mark.slow
def test_bad_input_is_one_line(tmp_path, runs, capsys):
    from cnnlab.cli import main
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "metrics.json" in err and err.count("\n") == 1
    assert main(["report", str(runs[0]), "--out", str(tmp_path / "r.pdf")]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["tensorboard", str(tmp_path)]) == 2
    assert "no tb/ folder" in capsys.readouterr().err


@pytest.mark.data
@pytest.mark.slow
def test_tensorboard_serves_the_runs_and_stops_on_ctrl_c(runs):
    """`cnnlab tensorboard RUN... --port 0`: the address it prints serves each run's scalars (the values of its
    history.csv); Ctrl-C stops it cleanly and frees the port."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    p = subprocess.Popen([sys.executable, "-m", "cnnlab", "tensorboard", *map(str, runs), "--port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = p.stdout.readline()  # waits for the line (or for the end of the output if it dies)
        stderr = p.stderr.read() if p.poll() is not None else ""
        assert line.startswith("TensorBoard at http://127.0.0.1:"), line + stderr
        url = line.split()[2]

        def get(path: str, at_least: int = 1):
            """The JSON answer to GET url/path once it lists at least `at_least` items, else None."""
            with urllib.request.urlopen(url + path, timeout=60) as resp:  # loopback only
                value = json.loads(resp.read())
            return value if len(value) >= at_least else None

        # e.g. ["cnn/.", "mlp/."]: one run per --logdir_spec entry; TensorBoard finds them in the background
        names = wait_until(lambda: get("data/runs", 2), "TensorBoard listing both runs", p)
        assert sorted(n.split("/")[0] for n in names) == ["cnn", "mlp"]
        for run in runs:
            name = next(n for n in names if n.split("/")[0] == run.name)
            rows = list(csv.DictReader((run / "history.csv").open()))
            query = urllib.parse.urlencode({"run": name, "tag": "loss/train"})
            points = wait_until(lambda: get(f"data/plugin/scalars/scalars?{query}", len(rows)),
                                f"the loss/train scalars of {name}", p)
            assert [int(step) for _, step, _ in points] == [int(r["epoch"]) for r in rows]
            assert [value for _, _, value in points] == pytest.approx([float(r["train_loss"]) for r in rows], rel=1e-5)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            _, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            raise AssertionError(f"cnnlab tensorboard did not stop within 120 s of Ctrl-C; its stderr:\n{err[-3000:]}")
    assert p.returncode == 0 and "stopped" in err, err
    with pytest.raises(OSError):  # nothing listens there any more
        urllib.request.urlopen(url, timeout=10)
