"""`cnnlab notebooks`: notebooks execute headless and export HTML, and a failing one is reported. The three
assignment notebooks themselves run (quick budget, real data) in tests/handin/test_handin.py, through `cnnlab
handin`."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]


def cnnlab(*args):
    """No time limit of its own: pytest-timeout bounds each test (and a timeout there ends the subprocess too)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "cnnlab", *map(str, args)], capture_output=True, text=True, env=env)


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


def test_a_failing_notebook_is_reported(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import os\nprint('quick', os.environ['CNNLAB_QUICK'])"),
                nbformat.v4.new_code_cell("raise ValueError('broken on purpose')")]
    nbformat.write(nb, folder / "broken.ipynb")
    r = cnnlab("notebooks", "--notebooks", folder, "--out", tmp_path / "out", "--quiet")
    assert r.returncode == 1 and "error: 1 notebook(s) failed: broken.ipynb" in r.stderr
    assert "ValueError" in r.stdout
    executed = nbformat.read(tmp_path / "out" / "broken.ipynb", as_version=4)
    assert "quick 0" in outputs(executed, "stream") and "broken on purpose" in outputs(executed, "error")
    assert "broken on purpose" in (tmp_path / "out" / "broken.html").read_text()
    r = cnnlab("notebooks", "--notebooks", tmp_path / "nowhere", "--out", tmp_path / "out")
    assert r.returncode == 2 and r.stderr.startswith("error: --notebooks")


def test_a_progress_bar_is_stored_as_one_line(tmp_path):
    """A bar's updates (carriage returns, flushed one by one) are kept as Jupyter shows them: the last one."""
    folder = tmp_path / "nbs"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(
        "import sys, time\nfor i in range(1, 6):\n    sys.stderr.write(f'\\repoch 1: {20 * i}%')\n"
        "    sys.stderr.flush()\n    time.sleep(0.05)\nsys.stderr.write('\\n')\nsys.stderr.flush()\ntime.sleep(0.2)\n"
        "print('done')")]
    nbformat.write(nb, folder / "bar.ipynb")
    r = cnnlab("notebooks", "--notebooks", folder, "--out", tmp_path / "out", "--quiet")
    assert r.returncode == 0, r.stderr
    executed = nbformat.read(tmp_path / "out" / "bar.ipynb", as_version=4)
    err = [o for o in executed.cells[0].outputs if o.output_type == "stream" and o.name == "stderr"]
    assert len(err) == 1 and err[0].text == "epoch 1: 100%\n"
    assert "done" in outputs(executed, "stream")
    page = (tmp_path / "out" / "bar.html").read_text()
    assert "epoch 1: 100%" in page and "epoch 1: 40%" not in page
