"""A user's first hour (issue 11), the options: every number checked, with a message naming its option;
--set, --resume and --quiet that do what they say; help that tells the truth; one --device; the training
options made from the configuration's fields."""

import argparse
import json

import pytest

from cnnlab.cli import build_parser
from cnnlab.engine.config import SCHEDULES, TrainConfig, apply_overrides, config_for_run
from cnnlab.errors import UsageError
from cnnlab.experiments import recipes
from conftest import cnnlab, run_main


# ---------------------------------------------------------------------------------------------------------------
# 1. every numeric option is checked, with a message naming it

BAD_TRAIN = [("--limit-train", "-5"), ("--limit-test", "0"), ("--epochs", "0"), ("--batch-size", "-1"),
             ("--lr", "nan"), ("--lr", "0"), ("--val-fraction", "1.5"), ("--ema", "1"), ("--label-smoothing", "-0.1"),
             ("--max-steps", "0"), ("--checkpoint-steps", "0"), ("--weight-decay", "-1"), ("--dropout", "1.5"),
             ("--width", "0"), ("--param-budget", "-3")]


@pytest.mark.parametrize("option,value", BAD_TRAIN, ids=[f"{o}={v}" for o, v in BAD_TRAIN])
def test_train_refuses_a_bad_number_before_reading_anything(tmp_path, capsys, option, value):
    out = tmp_path / "run"
    code, _, err = run_main(["train", "emnist", "--data", tmp_path / "no-data-here", "--out", out, option, value],
                            capsys)
    assert code == 2
    assert err.startswith(f"error: {option} must be") and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


@pytest.mark.parametrize("argv,option", [
    (["eval", "fer2013-vgg", "--images", ".", "--batch-size", "0"], "--batch-size"),
    (["predict", "fer2013-vgg", "x.png", "--top", "-1"], "--top"),
    (["demo", "--out", "d", "--epochs", "0"], "--epochs"),
    (["report", "r", "--out", "r.html", "--samples", "-1"], "--samples"),
    (["visualize", "fer2013-vgg", "--image", "x.png", "--out", "v", "--max-maps", "0"], "--max-maps"),
    (["theory", "autoencoder", "--out", "a", "--limit-train", "0"], "--limit-train"),
    (["tensorboard", "r", "--port", "70000"], "--port"),
])
def test_other_commands_check_their_numbers(capsys, argv, option):
    code, _, err = run_main(argv, capsys)
    assert code == 2 and f"argument {option}: must be" in err


def test_set_goes_through_the_same_checks(tmp_path, capsys):
    code, _, err = run_main(["train", "emnist", "--data", tmp_path, "--out", tmp_path / "r",
                             "--set", "augment.erase=2"], capsys)
    assert code == 2 and "--set augment.erase must be a probability in [0, 1], got 2.0" in err
    code, _, err = run_main(["train", "emnist", "--data", tmp_path, "--out", tmp_path / "r",
                             "--set", "warmup_epochs=-1"], capsys)
    assert code == 2 and "--set warmup_epochs must be" in err


# ---------------------------------------------------------------------------------------------------------------
# 2. --resume with nothing to resume; 3. --quiet keeps the final line; 6. --set

def test_resume_without_a_run_is_an_error_before_the_data_is_read(tmp_path, capsys):
    typo = tmp_path / "runs" / "typo"
    # the data folder does not exist either: the error must come before anything reads it
    code, _, err = run_main(["train", "emnist", "--data", tmp_path / "nowhere", "--out", typo, "--resume"], capsys)
    assert code == 2 and f"nothing to resume in {typo}: no last.pt" in err
    assert not typo.exists()
    code, _, err = run_main(["compare", "emnist", "--data", tmp_path / "nowhere", "--out", typo, "--resume"], capsys)
    assert code == 2 and f"nothing to resume in {typo}" in err and "does not exist" in err


def test_a_multi_run_command_starts_the_runs_it_has_not_started(tmp_path):
    (tmp_path / "started").mkdir()
    (tmp_path / "started" / "last.pt").write_bytes(b"x")
    base = TrainConfig(resume=True)
    assert config_for_run(base, out=str(tmp_path / "started")).resume is True
    assert config_for_run(base, out=str(tmp_path / "not-yet")).resume is False
    assert config_for_run(TrainConfig(resume=False), out=str(tmp_path / "started")).resume is False


def test_quiet_prints_only_the_result_line_and_set_reaches_config_json(emnist_sample, tmp_path):
    out = tmp_path / "q"
    r = cnnlab("train", "emnist", "--data", emnist_sample, "--out", out, "--epochs", "1", "--limit-train", "300",
               "--limit-test", "100", "--batch-size", "64", "--quiet", "--set", "augment.erase=0.25",
               "--set", "warmup_epochs=0.25", "--set", "model_kwargs.width=6", "--set", "augment.flip=true")
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert "test accuracy" in lines[-1] and str(out) in lines[-1]
    assert not any(line.startswith(("epoch ", "data:", "model:")) for line in lines)
    config = json.loads((out / "config.json").read_text())
    assert config["augment"] == {"degrees": 8.0, "scale": 0.08, "erase": 0.25, "flip": True}
    assert config["warmup_epochs"] == 0.25 and config["model_kwargs"]["width"] == 6
    assert config["model_kwargs_resolved"]["width"] == 6


def test_apply_overrides_types_and_errors():
    d = TrainConfig().to_dict()
    new = apply_overrides(d, ["lr=1", "epochs=3", "limit_train=none", "nesterov=false", "augment.crop_pad=4",
                              "model_kwargs.width=16", "model_kwargs.fc=128", "schedule=none"])
    assert new["lr"] == 1.0 and isinstance(new["lr"], float) and new["epochs"] == 3
    assert new["limit_train"] is None and new["nesterov"] is False
    assert new["augment"] == {"crop_pad": 4} and new["model_kwargs"] == {"width": 16, "fc": 128}
    assert d["augment"] == {} and d["model_kwargs"] == {}  # the input is not changed
    assert apply_overrides(d, ['augment={"flip": true}'])["augment"] == {"flip": True}
    for bad, words in [("epochs=2.5", "epochs takes int"), ("lr=fast", "lr takes float"),
                       ("epoch=3", "'epoch' is not a hyper-parameter"), ("warmup_epochs", "expected KEY=VALUE"),
                       ("lr.x=1", "only the dict fields"), ("augment.flip=perhaps", "augment.flip takes bool")]:
        with pytest.raises(UsageError, match=words):
            apply_overrides(d, [bad])
    with pytest.raises(UsageError, match="unknown augmentation 'blur'"):
        TrainConfig.from_dict(apply_overrides(d, ["augment.blur=1"])).check()
    with pytest.raises(UsageError, match="--schedule must be one of"):
        TrainConfig.from_dict(apply_overrides(d, ["schedule=onecycle"])).check()


def test_set_comes_after_the_options(tmp_path):
    from cnnlab.cli import config_from_args
    args = build_parser().parse_args(["train", "fer2013", "--data", str(tmp_path), "--out", "r", "--recipe", "cpu",
                                      "--epochs", "3", "--set", "epochs=2", "--width", "8"])
    cfg = config_from_args(args, "fer2013")
    assert cfg.epochs == 2 and cfg.model_kwargs["width"] == 8 and cfg.recipe == "cpu"
    assert cfg.augment == recipes("fer2013")["cpu"]["augment"]


# ---------------------------------------------------------------------------------------------------------------
# 4. one list of schedules; 5. help that tells the truth; 7. one name and one --device

def subparsers(parser):
    """(command, parser) for every command and sub-command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, p in action.choices.items():
                yield name, p
                yield from ((f"{name} {n}", q) for n, q in subparsers(p))


def test_schedules_are_one_list():
    assert TrainConfig().schedule in SCHEDULES
    train = dict(subparsers(build_parser()))["train"]
    assert tuple(next(a for a in train._actions if a.dest == "schedule").choices) == SCHEDULES


def test_no_help_shows_a_none_default_and_required_options_say_so():
    for name, p in subparsers(build_parser()):
        text = p.format_help()
        assert "(default: None)" not in text and "(default: False)" not in text, name
        for action in p._actions:
            if action.required and action.option_strings:
                assert "(required)" in (p._get_formatter()._get_help_string(action)), (name, action.dest)


def test_device_is_the_same_option_everywhere():
    seen = set()
    for name, p in subparsers(build_parser()):
        for a in p._actions:
            if a.dest == "device":
                seen.add((a.default, tuple(a.choices), a.help))
    assert len(seen) == 1 and next(iter(seen))[0] == "auto"


def test_train_help_shows_the_dataset_recipes(capsys):
    code, out, _ = run_main(["train", "fer2013", "--help"], capsys)
    assert code == 0
    table = recipes("fer2013")
    flat = " ".join(out.split())
    # a value the recipes share is shown once, values that differ per recipe
    assert table["cpu"]["batch_size"] == table["gpu"]["batch_size"] and table["cpu"]["lr"] != table["gpu"]["lr"]
    assert ("--batch-size BATCH_SIZE batch size (global, split over torchrun processes) "
            f"(default: {table['cpu']['batch_size']})") in flat
    assert f"--lr LR peak learning rate (cpu: {table['cpu']['lr']}; gpu: {table['gpu']['lr']})" in flat
    assert f"(cpu: {table['cpu']['model_kwargs']['width']}; gpu: {table['gpu']['model_kwargs']['width']})" in flat
    assert "--data DATA dataset folder" in flat and "(required)" in flat
    assert "Recipes of fer2013, picked by --recipe" in flat and "(the default here)" in flat
    for name in table:
        assert f" {name}" in flat and f"augment.crop_pad={table[name]['augment']['crop_pad']}" in flat
    code, out, _ = run_main(["compare", "emnist", "--help"], capsys)
    assert code == 0 and f"(default: {recipes('emnist')['default']['epochs']})" in out
    code, out, _ = run_main(["recipes", "--json"], capsys)
    assert code == 0 and json.loads(out)["fer2013"]["recipes"]["gpu"]["epochs"] == table["gpu"]["epochs"]


def test_distill_teacher_offers_only_what_applies(capsys):
    code, out, _ = run_main(["distill", "teacher", "--help"], capsys)
    assert code == 0 and "--teacher-arch" in out and "--width" not in out and "--param-budget" not in out
    assert "Recipes, picked by --mode" in out and "linear-probe (the default here)" in out
    code, out, _ = run_main(["distill", "compare", "--help"], capsys)
    assert code == 0 and "--teacher-arch" in out


def test_a_recipe_sets_seed_and_val_fraction_and_the_options_still_win(tmp_path):
    """--seed and --val-fraction have no argparse default, so a recipe's (or a sub-command's) value stands."""
    from cnnlab.cli import config_from_args
    base = ["train", "emnist", "--data", str(tmp_path), "--out", "r"]
    cfg = config_from_args(build_parser().parse_args(base), "emnist", seed=3, val_fraction=0.2)
    assert (cfg.seed, cfg.val_fraction) == (3, 0.2)
    cfg = config_from_args(build_parser().parse_args([*base, "--seed", "5", "--val-fraction", "0"]), "emnist",
                           seed=3, val_fraction=0.2)
    assert (cfg.seed, cfg.val_fraction) == (5, 0.0)
    cfg = config_from_args(build_parser().parse_args(base), "emnist")
    assert (cfg.seed, cfg.val_fraction) == (TrainConfig().seed, TrainConfig().val_fraction)


def test_training_options_are_made_from_the_config_fields():
    """The fields of TrainConfig are the one description: each option of OPTIONS carries its field's help and
    choices and has no default of its own; a field without an option is reached by --set only."""
    from cnnlab.engine.config import OPTIONS, fields, option
    train = dict(subparsers(build_parser()))["train"]
    by_dest = {a.dest: a for a in train._actions if a.option_strings}
    for name, f in fields().items():
        assert f.metadata["help"], name
        if name not in OPTIONS:
            assert name not in by_dest and option(name) == f"--set {name}"
            continue
        action = by_dest[name]
        assert option(name) in action.option_strings and action.help == f.metadata["help"]
        assert tuple(action.choices or ()) == tuple(f.metadata["choices"] or ()), name
        assert action.default in (None, False) or name == "device", name
    assert option("model_kwargs.width") == "--width" and by_dest["width"].type is int
