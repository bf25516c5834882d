"""One description of the machine and the versions (cnnlab.environment): a run's config.json, the hand-in's index
page and the benchmark results each show their part of it."""

import json
import os
from types import SimpleNamespace

import torch

from cnnlab.engine.config import RUN_ENVIRONMENT, TrainConfig, save_config
from cnnlab.environment import environment


def test_config_json_index_page_and_benchmarks_show_the_same_machine(tmp_path):
    env = environment(packages=("h5py", "no_such_package_here"))
    assert env["torch"] == torch.__version__ and env["cores"] == os.cpu_count() and env["cpu"]
    assert env["packages"]["h5py"] and env["packages"]["no_such_package_here"] is None
    save_config(TrainConfig(), tmp_path / "config.json")
    written = json.loads((tmp_path / "config.json").read_text())["environment"]
    assert list(written) == list(RUN_ENVIRONMENT) and all(written[k] == env[k] for k in RUN_ENVIRONMENT)

    from cnnlab.handin.index import environment_summary, machine
    summary = environment_summary()
    assert summary["machine"]["cpu"] == env["cpu"] and summary["machine"]["cores"] == env["cores"]
    assert list(summary["versions"]) == ["cnnlab", "torch", "torchvision", "python", "nbclient", "nbconvert", "h5py",
                                          "keras"]
    page = machine(SimpleNamespace(budget="quick", settings={"about": "minutes"}, datasets={}))
    assert f"{env['cpu']}, {env['cores']} cores" in page and f"torch {env['torch']}" in page

    from benchmarks.common import machine as benchmark_machine
    assert benchmark_machine("cpu") == (f"CPU: {env['cpu']} ({env['cpu_capability']}), {env['cores']} cores, "
                                        f"torch {env['torch']} ({torch.get_num_threads()} threads)")
