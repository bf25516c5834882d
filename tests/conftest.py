import os
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
EMNIST = SHARED / "emnist-byclass-reduced"
FER = SHARED / "fer2013"
CIFAR = SHARED / "cifar10"

os.environ.setdefault("MPLBACKEND", "Agg")
# Threads per test process (and per `cnnlab` subprocess): 1 keeps parallel work on a 2-core machine from
# thrashing; .ci/run sets 2, the machine's cores, since CI runs alone.
THREADS = os.environ.setdefault("CNNLAB_TEST_THREADS", "1")
os.environ["OMP_NUM_THREADS"] = THREADS
import torch  # noqa: E402

torch.set_num_threads(int(THREADS))


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory):
    """Decoded-dataset cache: $CNNLAB_CACHE_DIR if set (CI sets it), else a per-session temporary folder."""
    if not os.environ.get("CNNLAB_CACHE_DIR"):
        os.environ["CNNLAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


def cnnlab(*args, check=True, env=None, timeout=None):
    """Run the real command line in a subprocess; returns CompletedProcess (stdout/stderr as text). No time limit
    by default: pytest-timeout bounds the test (and a timeout there kills the subprocess too)."""
    e = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    r = subprocess.run([sys.executable, "-m", "cnnlab", *map(str, args)], capture_output=True, text=True, env=e,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"cnnlab {' '.join(map(str, args))} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def run_main(argv, capsys):
    """`cnnlab ARGV` in this process: (exit code, stdout, stderr); argparse's own errors exit through SystemExit."""
    from cnnlab.cli import main
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="session")
def emnist_sample(tmp_path_factory) -> Path:
    """The real EMNIST sample shipped in the package, written out as official idx files."""
    from cnnlab.experiments.demo import write_sample
    return write_sample(tmp_path_factory.mktemp("emnist-sample"))


def wait_until(condition, what: str, alive=(), interval: float = 0.5):
    """Poll `condition()` until it returns something truthy, and return that; fail at once if a process in `alive`
    (one Popen or several) exits first. No deadline of its own: pytest-timeout bounds every test, so a loaded
    machine makes a test slow, not wrong, and a hang still fails with a traceback that points here."""
    procs = [alive] if isinstance(alive, subprocess.Popen) else list(alive)
    while True:
        value = condition()
        if value:
            return value
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"waiting for {what}: {p.args[0]} exited (code {p.returncode}) first")
        time.sleep(interval)


class Page(HTMLParser):
    """Every element's attributes, the sections by id, and the text inside each section."""

    def __init__(self, text: str):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.stack: list[str] = []
        self.sections: dict[str, list] = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag == "section":
            self.stack.append(a.get("id", ""))
            self.sections.setdefault(a.get("id", ""), [])
        elif self.stack:
            for sid in self.stack:
                self.sections[sid].append((tag, a))

    def handle_endtag(self, tag):
        if tag == "section" and self.stack:
            self.stack.pop()

    def links(self) -> list[str]:
        return [a[k] for _, a in self.elements for k in ("src", "href") if a.get(k)]

    def images(self, sid: str) -> list[dict]:
        return [a for t, a in self.sections.get(sid, []) if t == "img"]
