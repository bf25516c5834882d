"""docs/theory.md and docs/theory.fa.md are exactly what scripts/make_theory_docs.py writes from the code."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MEASURED = DOCS / "figures" / "theory" / "measured.json"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_theory_docs", ROOT / "scripts" / "make_theory_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def computed(script):
    return script.compute()


@pytest.fixture(scope="module")
def measured():
    return json.loads(MEASURED.read_text())


def test_committed_docs_are_regenerated_identically(script, computed, measured):
    built = {"theory.md": script.render("en", computed, measured), "theory.fa.md": script.render("fa", computed, measured)}
    for name, text in built.items():
        committed = (DOCS / name).read_text()
        if committed != text:
            diff = [f"committed: {a}\nbuilt:     {b}" for a, b in zip(committed.splitlines(), text.splitlines()) if a != b]
            pytest.fail(f"docs/{name} differs from what scripts/make_theory_docs.py writes; run the script. "
                        f"First differences:\n" + "\n".join(diff[:5]))
        assert "«" not in re.sub(r"«[^»]*\s[^»]*»", "", text)  # no placeholder left (Persian quotes have spaces)


def test_both_languages_carry_the_same_computed_values(script, computed, measured):
    v = computed
    en, fa = script.fill("en", v, measured), script.fill("fa", v, measured)
    assert en.keys() == fa.keys()
    for key, value in en.items():  # untranslated values (numbers, formulas, vectors) are the same in both
        if "table" not in key:
            assert fa[key] == value, key
    for name, lang in (("theory.md", "en"), ("theory.fa.md", "fa")):
        text = (DOCS / name).read_text()
        used = set(re.findall(r"«([a-z0-9_]+)»", script.TEMPLATES[lang]))
        assert used >= {k for k in en if k.endswith("_table")}, "a table is missing from the template"
        for key in used:
            assert (en if lang == "en" else fa)[key] in text


def test_measurements_are_consistent(measured):
    ae = measured["autoencoder"]
    assert ae["mse_reconstruction"] < 0.1 * ae["mse_untrained"]
    assert ae["mse_denoised"] < 0.5 * ae["mse_noisy_input"]
    assert ae["steps"] == ae["epochs"] * -(-ae["train_images"] // ae["batch_size"])
    assert measured["relative_time"]["ReLU"] == 1.0 and len(measured["relative_time"]) == 8
    for name in ("activations", "gridding", "dropout", "reconstructions", "denoising"):
        assert (DOCS / "figures" / "theory" / f"{name}.png").stat().st_size > 5000
        assert f"figures/theory/{name}.png" in (DOCS / "theory.md").read_text()
