"""docs/theory.md and docs/theory.fa.md are exactly what scripts/make_theory_docs.py writes: the templates in
src/cnnlab/theory/templates/ filled by cnnlab.theory.answers."""

import json
import re
from pathlib import Path

import pytest

from cnnlab.theory import answers

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MEASURED = DOCS / answers.FIGURES / answers.MEASURED
TRANSLATED = {"ae_denoise_sentence", "references"}  # values written in the document's language (and the tables)


def plain(text: str) -> str:
    """Text without the left-to-right marks of the Persian document (tags only; every character stays)."""
    return re.sub(r'<span dir="(?:ltr|rtl)">|</span>|<div dir="ltr" markdown="1">|</div>', "", text)


@pytest.fixture(scope="module")
def computed():
    return answers.compute()


@pytest.fixture(scope="module")
def measured():
    return json.loads(MEASURED.read_text())


def test_committed_docs_are_regenerated_identically(computed, measured):
    for lang in answers.LANGS:
        name = answers.DOC_NAMES[lang]
        text = answers.render(lang, computed, measured)
        committed = (DOCS / name).read_text()
        if committed != text:
            diff = [f"committed: {a}\nbuilt:     {b}"
                    for a, b in zip(committed.splitlines(), text.splitlines()) if a != b]
            pytest.fail(f"docs/{name} differs from what scripts/make_theory_docs.py writes; run the script. "
                        f"First differences:\n" + "\n".join(diff[:5]))
        assert not answers.PLACEHOLDER.search(text), "a placeholder was left unfilled"


def test_both_languages_carry_the_same_computed_values(computed, measured):
    en, fa = answers.fill("en", computed, measured), answers.fill("fa", computed, measured)
    assert en.keys() == fa.keys()
    for key, value in en.items():  # untranslated values (numbers, formulas, vectors) are the same in both
        if "table" not in key and key not in TRANSLATED:
            assert fa[key] == value, key
    for lang, values in (("en", en), ("fa", fa)):
        used = set(answers.PLACEHOLDER.findall(answers.template(lang)))
        assert used <= values.keys(), f"the {lang} template names values nobody computes: {used - values.keys()}"
        assert used >= {k for k in values if k.endswith("_table")}, f"a table is missing from the {lang} template"
        text = plain((DOCS / answers.DOC_NAMES[lang]).read_text())
        for key in used:
            assert plain(values[key]) in text, key


def test_measured_json_has_not_drifted(measured):
    """A drift check of the committed measured.json and figures (it runs no code, so it is no test of correctness:
    the code behind each number is tested in test_theory.py: the autoencoder learning and denoising, its step
    count, the activation timings)."""
    ae = measured["autoencoder"]
    assert ae["mse_reconstruction"] < 0.1 * ae["mse_untrained"]
    assert ae["mse_denoised"] < 0.5 * ae["mse_noisy_input"]
    assert ae["steps"] == ae["epochs"] * -(-ae["train_images"] // ae["batch_size"])
    assert measured["relative_time"]["ReLU"] == 1.0 and len(measured["relative_time"]) == 8
    for name in ("activations", "gridding", "dropout", "reconstructions", "denoising"):
        assert (DOCS / answers.FIGURES / f"{name}.png").stat().st_size > 5000
        for lang in answers.LANGS:
            assert f"{answers.FIGURES}/{name}.png" in (DOCS / answers.DOC_NAMES[lang]).read_text()


def test_a_measured_sentence_follows_the_measurement(computed, measured):
    """The autoencoder's sentence is chosen by the measured numbers, not written once for all cases."""
    good = answers.fill("en", computed, measured)["ae_denoise_sentence"]
    autoencoder = measured["autoencoder"]
    bad = dict(measured, autoencoder={**autoencoder, "mse_denoised": 2 * autoencoder["mse_noisy_input"]})
    worse = answers.fill("en", computed, bad)["ae_denoise_sentence"]
    assert "closer" in good and "did not learn to denoise" in worse and "2×" in worse
    assert re.search(r"\d", good)
