"""A user's first hour (issue 11), the output: --json of every theory command, negative number lists taken
as values, and a closed pipe that ends the command quietly."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, run_main


# ---------------------------------------------------------------------------------------------------------------
# 14. --json of every theory command, negative lists, a closed pipe

THEORY = [["layers", "CONV3-4 ReLU POOL-2 FLATTEN FC-3", "--input", "8x8x1"], ["receptive-field"], ["conv-output"],
          ["conv1d-backprop"], ["losses", "--y-true", "1,2,3", "--y-pred", "1,2,4"], ["demos"]]


@pytest.mark.parametrize("argv", THEORY, ids=[a[0] for a in THEORY])
def test_every_theory_command_prints_json(capsys, argv):
    code, out, _ = run_main(["theory", *argv, "--json"], capsys)
    assert code == 0 and isinstance(json.loads(out), dict)


def test_theory_commands_that_write_files_print_json_too(tmp_path, capsys):
    code, out, err = run_main(["theory", "activations", "--out", tmp_path / "a", "--no-timing", "--json"], capsys)
    assert code == 0 and "ReLU" in json.loads(out) and "wrote" in err
    code, out, _ = run_main(["theory", "activations", "--out", tmp_path / "b", "--no-timing"], capsys)
    assert code == 0 and "| ReLU |" in out and "LeCun" in out  # the table, saying how the deep stack was initialised
    code, out, err = run_main(["theory", "autoencoder", "--out", tmp_path / "ae", "--epochs", "1",
                               "--limit-train", "64", "--limit-test", "32", "--json"], capsys)
    assert code == 0 and json.loads(out)["epochs"] == 1 and "wrote" in err


def test_negative_number_lists_are_values(capsys):
    code, out, _ = run_main(["theory", "losses", "--y-true", "-1,2,3", "--y-pred", "-1.5,2,3", "--json"], capsys)
    assert code == 0 and abs(json.loads(out)["mse"] - 0.25 / 3) < 1e-12
    code, out, _ = run_main(["theory", "conv1d-backprop", "--x", "-1,2,-3,4", "--k", "-0.5,1", "--w", "1,-1",
                             "--b", "-0.1", "--json"], capsys)
    assert code == 0 and json.loads(out)["verified"] is True
    code, out, _ = run_main(["theory", "losses", "--y-true", "1,2,3", "--y-pred", "1,2,4"], capsys)
    assert "nrmse_mean and rrmse are the same formula" in out


def test_a_closed_pipe_ends_quietly():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    p = subprocess.Popen([sys.executable, "-m", "cnnlab", "theory", "layers", "--json",
                          "CONV3-8 ReLU POOL-2 CONV3-16 ReLU POOL-2 FLATTEN FC-10"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    p.stdout.close()  # the reader is gone before anything is written, as `| head` after its lines
    err = p.stderr.read().decode()
    p.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err and p.returncode == 141
