"""`cnnlab notebooks --quick`: the three assignment notebooks execute headless on the real data and export HTML."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NOTEBOOKS = ["1_emnist_mlp_vs_cnn.ipynb", "2_fer2013.ipynb", "3_distillation_cifar10.ipynb"]


def cnnlab(*args, timeout=900):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "cnnlab", *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=timeout)


def outputs(nb, kind: str) -> str:
    """All text of one kind of output (stream, markdown display, error) of an executed notebook."""
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if kind == "stream" and o.output_type == "stream":
                parts.append(o.text)
            elif kind == "markdown" and o.output_type == "display_data":
                parts.append(o.data.get("text/markdown", ""))
            elif kind == "image" and o.output_type == "display_data" and "image/png" in o.data:
                parts.append("png")
            elif kind == "error" and o.output_type == "error":
                parts.append(f"{o.ename}: {o.evalue}")
    return "\n".join(parts)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    r = cnnlab("notebooks", "--quick", "--out", out, "--data", SHARED, "--quiet")
    return out, r


def test_notebooks_execute_in_quick_mode(executed):
    out, r = executed
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads((out / "notebooks.json").read_text())
    assert summary["quick"] is True
    assert [n["notebook"] for n in summary["notebooks"]] == NOTEBOOKS
    for n in summary["notebooks"]:
        assert n["status"] == "ok", n
        nb = nbformat.read(out / n["notebook"], as_version=4)
        assert not outputs(nb, "error")
        assert "QUICK=True" in outputs(nb, "stream") and f"DATA={SHARED.resolve()}" in outputs(nb, "stream")
        assert outputs(nb, "image").count("png") >= 2  # figures made by the library, shown inline
        page = (out / n["html"].split("/")[-1]).read_text()
        links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", page)
        assert not [u for u in links if re.match(r"(?i)(https?:)?//", u)], "the HTML must load nothing from outside"
        assert page.count("data:image/png;base64,") >= 2


def test_each_notebook_answers_its_question(executed):
    out, _ = executed
    nb1, nb2, nb3 = (nbformat.read(out / n, as_version=4) for n in NOTEBOOKS)
    md1 = outputs(nb1, "markdown")
    comparison = json.loads(next((out / "work").glob("quick/1_emnist/compare/comparison.json")).read_text())
    assert [m["model"] for m in comparison["models"]] == ["mlp", "cnn", "cnn-factorized"]
    for m in comparison["models"]:  # the notebook shows the numbers the library computed
        assert f"| {m['model']} | {m['params']:,} | {m['accuracy']:.4f} |" in md1
    assert "| dropout+L2 |" in md1 and "| none |" in md1 and "3×1" in md1 and "1×3" in md1
    assert (out / "work" / "quick" / "1_emnist" / "report.html").exists()
    s2 = outputs(nb2, "stream")
    assert "test images 300: accuracy" in s2 and "face(s) found in the scene" in s2
    assert "featuremaps_" in s2 or "feature maps at the output of" in s2
    md3 = outputs(nb3, "markdown")
    assert "teacher (linear probe)" in md3 and "student, no teacher" in md3 and "Distillation sweep" in md3


def test_a_failing_notebook_is_reported(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import os\nprint('quick', os.environ['CNNLAB_QUICK'])"),
                nbformat.v4.new_code_cell("raise ValueError('broken on purpose')")]
    nbformat.write(nb, folder / "broken.ipynb")
    r = cnnlab("notebooks", "--notebooks", folder, "--out", tmp_path / "out", "--quiet", timeout=300)
    assert r.returncode == 1 and "error: 1 notebook(s) failed: broken.ipynb" in r.stderr
    assert "ValueError" in r.stdout
    executed = nbformat.read(tmp_path / "out" / "broken.ipynb", as_version=4)
    assert "quick 0" in outputs(executed, "stream") and "broken on purpose" in outputs(executed, "error")
    assert "broken on purpose" in (tmp_path / "out" / "broken.html").read_text()
    r = cnnlab("notebooks", "--notebooks", tmp_path / "nowhere", "--out", tmp_path / "out", timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: --notebooks")
