"""cnnlab soup: fine-tunes of one EMNIST run (the real sample shipped in the package) averaged into one model."""

import json

import pytest
import torch

from conftest import cnnlab

SMALL = ["--limit-train", "1500", "--limit-test", "400", "--batch-size", "128", "--quiet"]


@pytest.fixture(scope="module")
def fine_tunes(emnist_sample, tmp_path_factory):
    """A CNN and two one-epoch fine-tunes of it (other seeds, the same validation split)."""
    root = tmp_path_factory.mktemp("soup")
    common = ["--data", emnist_sample, "--model", "cnn", *SMALL]
    cnnlab("train", "emnist", "--out", root / "base", "--epochs", "2", *common)
    for seed in (1, 2):
        cnnlab("train", "emnist", "--out", root / f"ft{seed}", "--init", root / "base", "--epochs", "1", "--lr",
               "0.0005", "--seed", seed, "--set", "split_seed=0", *common)
    return root


def weights(run):
    return torch.load(run / "best.pt", weights_only=False)["model"]


def test_average_takes_the_mean_of_float_tensors_and_the_first_counter():
    from cnnlab.soup import average
    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
    b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(7)}
    mean = average([a, b])
    assert torch.equal(mean["w"], torch.tensor([2.0, 4.0])) and int(mean["n"]) == 3


def test_uniform_soup_is_the_mean_of_its_ingredients_and_a_run_folder(fine_tunes, emnist_sample, tmp_path):
    out = tmp_path / "soup"
    models = [fine_tunes / "ft1", fine_tunes / "ft2", fine_tunes / "base"]
    r = cnnlab("soup", *models, "--data", emnist_sample, "--out", out)
    printed = json.loads(r.stdout)
    info = json.loads((out / "soup.json").read_text())
    assert info["method"] == "uniform" and all(i["in_soup"] for i in info["ingredients"])
    assert [i["model"] for i in info["ingredients"]] == [str(m) for m in models]
    assert printed["val_acc"] == info["val_acc"] and 0.3 < info["val_acc"] <= 1
    soup, parts = weights(out), [weights(m) for m in models]
    for k, v in soup.items():
        if v.is_floating_point():
            assert torch.allclose(v, sum(p[k] for p in parts) / 3, atol=1e-6), k
    # every command that takes a MODEL reads the folder; its test metrics are those of best.pt
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["num_samples"] == 400
    evaluated = json.loads(cnnlab("eval", out, "--data", emnist_sample, "--split", "test").stdout)
    assert evaluated["num_samples"] >= 400 and 0.3 < evaluated["accuracy"] <= 1
    assert (out / "plots" / "confusion_matrix.png").exists()
    assert sorted(json.loads((out / "config.json").read_text())["soup"]) == sorted(map(str, models))


def test_greedy_soup_keeps_only_what_does_not_lose_validation_accuracy(fine_tunes, emnist_sample, tmp_path):
    out = tmp_path / "greedy"
    r = cnnlab("soup", fine_tunes / "base", fine_tunes / "ft1", fine_tunes / "ft2", "--data", emnist_sample,
               "--out", out, "--greedy")
    info = json.loads((out / "soup.json").read_text())
    best = max(i["val_acc"] for i in info["ingredients"])
    assert info["method"] == "greedy" and info["val_acc"] >= best
    kept = [i for i in info["ingredients"] if i["in_soup"]]
    assert kept and max(kept, key=lambda i: i["val_acc"])["val_acc"] == best
    assert "validation accuracy" in r.stderr and ("kept" in r.stderr or "left out" in r.stderr)
    if len(kept) == 1:  # nothing helped: the soup is the best ingredient itself
        source = next(fine_tunes / n for n in ("base", "ft1", "ft2") if str(fine_tunes / n) == kept[0]["model"])
        assert all(torch.equal(v, weights(source)[k]) for k, v in weights(out).items() if v.is_floating_point())


def test_soup_refuses_in_one_line_what_cannot_be_averaged(fine_tunes, emnist_sample, tmp_path):
    cnnlab("train", "emnist", "--out", tmp_path / "seed1", "--data", emnist_sample, "--model", "cnn", "--epochs", "1",
           "--seed", "1", *SMALL)
    cnnlab("train", "emnist", "--out", tmp_path / "mlp", "--data", emnist_sample, "--model", "mlp", "--epochs", "1",
           *SMALL)
    cases = [([fine_tunes / "base"], "at least two models"),
             ([fine_tunes / "base", fine_tunes / "base"], "given twice"),
             ([fine_tunes / "base", tmp_path / "mlp"], "differ from"),
             ([fine_tunes / "base", tmp_path / "seed1"], "another validation split"),
             ([fine_tunes / "base", tmp_path / "nothing"], "neither a run folder")]
    for models, says in cases:
        r = cnnlab("soup", *models, "--data", emnist_sample, "--out", tmp_path / "refused", check=False)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and says in r.stderr, (models, r.stderr)
        assert not (tmp_path / "refused").exists()
    r = cnnlab("soup", fine_tunes / "base", fine_tunes / "ft1", "--data", emnist_sample, "--out", fine_tunes / "ft2",
               check=False)
    assert r.returncode == 2 and "already holds a run" in r.stderr, r.stderr
