"""Execute the assignment notebooks headless (nbclient) and export them as offline HTML (nbconvert).

The notebooks read their settings from the environment (cnnlab.notebook_helpers.start.setup): CNNLAB_BUDGET (quick,
cpu or gpu; `cnnlab handin` sets it) or CNNLAB_QUICK=1 (the quick budget), CNNLAB_DATA (the folder of the
datasets, each found in it by cnnlab.data.layout) and CNNLAB_OUT (where they write runs, under <budget>/). The
kernel is the current interpreter ("python3" resolves to it when ipykernel is installed in this environment).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from cnnlab.errors import DataError, UsageError

# The lab template without its CDN scripts (require.js, MathJax, mermaid): the HTML loads nothing from outside.
OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def default_folder() -> Path:
    """notebooks/ of the checkout this package runs from."""
    import cnnlab
    return Path(cnnlab.__file__).resolve().parents[2] / "notebooks"


def find(folder: Path, only: list[str] | None = None) -> list[Path]:
    if not folder.is_dir():
        raise UsageError(f"--notebooks {folder}: no such folder; give the folder holding the .ipynb files "
                         "(notebooks/ of a cnnlab checkout)")
    paths = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if only:
        paths = [p for p in paths if any(o in p.name for o in only)]
    if not paths:
        raise UsageError(f"{folder}: no notebooks" + (f" matching --only {' '.join(only)}" if only else ""))
    return paths


def kernel_env(quick: bool, data: str | None, work: Path) -> dict:
    import cnnlab
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # let the kernel use its inline backend
    src = str(Path(cnnlab.__file__).resolve().parents[1])  # the kernel imports this very cnnlab
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    env["CNNLAB_QUICK"] = "1" if quick else "0"
    if quick:  # the notebooks' budget (cnnlab.handin.budget): --quick wins over a CNNLAB_BUDGET in the shell
        env["CNNLAB_BUDGET"] = "quick"
    env["CNNLAB_OUT"] = str(work.resolve())
    if data:
        if not Path(data).is_dir():
            raise DataError(f"--data {data}: no such folder; give the folder holding the datasets")
        env["CNNLAB_DATA"] = str(Path(data).resolve())
    return env


def to_html(nb) -> str:
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})],
                            template_file="offline.html.j2", embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def as_jupyter_shows(nb):
    """What Jupyter shows, stored: consecutive outputs of one stream merged, and a progress bar's updates (each
    ending in a carriage return) reduced to the last one, so an executed notebook and its HTML page hold one
    line per bar instead of one block per update. nbconvert's own preprocessor does it."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    return nb


def run_one(path: Path, out: Path, env: dict, timeout: int, quiet: bool) -> dict:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from cnnlab.engine.checkpoint import atomic_write_text
    from cnnlab.engine.logging import progress
    nb = nbformat.read(path, as_version=4)
    bar = progress(sum(c.cell_type == "code" for c in nb.cells), path.stem, quiet)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # not its loopback-TCP warning
                            on_cell_executed=lambda **_: bar.update(1))
    t0, status, error = time.perf_counter(), "ok", None
    try:
        client.execute(env=env)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        status = "failed"
        lines = [line for line in str(e).splitlines() if line.strip()]
        last = lines[-1] if lines else type(e).__name__
        error = next((line for line in reversed(lines) if "Error" in line), last)[:300]
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    nb = as_jupyter_shows(nb)
    ipynb, page = out / path.name, out / f"{path.stem}.html"
    atomic_write_text(ipynb, nbformat.writes(nb))
    atomic_write_text(page, to_html(nb))
    return {"notebook": path.name, "status": status, "seconds": round(seconds, 1), "ipynb": str(ipynb),
            "html": str(page), "error": error}


def run_all(paths: list[Path], out: Path, quick: bool = False, data: str | None = None, timeout: int = 7200,
            quiet: bool = False) -> list[dict]:
    """Execute every notebook into `out` (.ipynb with outputs and .html); writes out/notebooks.json."""
    try:
        import nbclient  # noqa: F401
        import nbconvert  # noqa: F401
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError as e:
        raise UsageError(f"'cnnlab notebooks' needs {e.name}: pip install -e '.[notebooks]'") from None
    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        raise UsageError("no 'python3' Jupyter kernel: pip install ipykernel "
                         "(or pip install -e '.[notebooks]')") from None
    from cnnlab.engine.checkpoint import atomic_write_json
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = kernel_env(quick, data, out / "work")
    results = [run_one(p, out, env, timeout, quiet) for p in paths]
    atomic_write_json(out / "notebooks.json", {"quick": quick, "notebooks": results})
    return results

