"""The test setup itself: a test that hangs (a subprocess, a server, a browser) fails alone, with a message, instead
of holding CI until its 90-minute limit."""

import subprocess
import sys
import tomllib

from conftest import ROOT


def test_a_hung_test_fails_alone_with_a_message(tmp_path, pytestconfig):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert any(d.startswith("pytest-timeout") for d in project["project"]["optional-dependencies"]["dev"])
    limit = project["tool"]["pytest"]["ini_options"]["timeout"]
    assert 300 <= limit <= 1800  # generous, and well inside CI's 90 minutes
    assert pytestconfig.pluginmanager.hasplugin("timeout") and float(pytestconfig.getini("timeout")) == limit
    # the project's pytest configuration on a file with a test that hangs, its limit lowered to 2 seconds
    (tmp_path / "test_hang.py").write_text("import time\n\n\ndef test_hangs():\n    time.sleep(3600)\n\n\n"
                                           "def test_next():\n    pass\n")
    r = subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
                        "-p", "no:cacheprovider", "-o", "timeout=2", str(tmp_path / "test_hang.py")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Timeout (>2.0s) from pytest-timeout" in r.stdout and "1 failed, 1 passed" in r.stdout, r.stdout


def test_package_data_names_files_that_exist_and_every_data_file():
    """Each pattern of [tool.setuptools.package-data] matches a file, and every file of the package that is not
    Python source is matched by one (else an installed cnnlab lacks it)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package = ROOT / "src" / "cnnlab"
    patterns = project["tool"]["setuptools"]["package-data"]["cnnlab"]
    matched = {}
    for pattern in patterns:
        matched[pattern] = {p for p in package.glob(pattern) if p.is_file()}
        assert matched[pattern], f"package-data pattern {pattern!r} matches no file under src/cnnlab"
    data = {p for p in package.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts}
    assert data - set().union(*matched.values()) == set()
