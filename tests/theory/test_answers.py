"""The theory answers follow the assignment part by part: every part of every question has its section (question,
answer, evidence) in both languages; question 3 is the assignment's own network, read from the assignment as
written and checked against PyTorch here; `cnnlab theory layers` takes that notation."""

import json
import re
from pathlib import Path

import pytest
import torch

from cnnlab.theory import answers, layers

from conftest import cnnlab

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ASSIGNMENT = ROOT.parent / "shared" / "assignment" / "README.md"
PARTS = ["Q1 (a)", "Q1 (b)", "Q1 (c)", "Q1 (d)", "Q1 (e)", "Q2 (a)", "Q2 (b)", "Q2 (c)", "Q3",
         "Q4 (a)", "Q4 (b)", "Q4 (c)", "Q4 (d)", "Q4 (e)"]
MARKERS = {"en": ("> **Question.**", "**Answer.**", "**Evidence"),
           "fa": ("> **صورت سوال.**", "**پاسخ.**", "**شواهد")}


def part_texts(text: str) -> dict[str, str]:
    """{part label: its text up to the next anchor}; the parts are found by their anchors (<a id="q1a"></a> is
    Q1 (a)), which both languages carry."""
    anchors = list(re.finditer(r'<a id="([a-z0-9]+)"></a>', text))
    out = {}
    for a, nxt in zip(anchors, anchors[1:] + [None]):
        m = re.fullmatch(r"q(\d)([a-e]?)", a[1])
        if m:
            out[f"Q{m[1]}" + (f" ({m[2]})" if m[2] else "")] = text[a.end(): nxt.start() if nxt else len(text)]
    return out


def without_ltr_marks(text: str) -> str:
    """The Persian document's text without its left-to-right islands' tags (the words as a reader sees them)."""
    return re.sub(r'<span dir="ltr">|</span>|<div dir="ltr" markdown="1">', "", text)


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_every_part_has_question_answer_and_evidence(lang):
    text = (DOCS / answers.DOC_NAMES[lang]).read_text()
    parts = part_texts(text)
    assert [p for p in answers.sections(text) if p in PARTS] == PARTS, "parts missing or out of order"
    question, answer, evidence = MARKERS[lang]
    for part in PARTS:
        body = parts[part]
        assert question in body and answer in body and evidence in body, f"{lang} {part}"
        assert body.index(question) < body.index(answer) < body.index(evidence), f"{lang} {part}: order"
        assert f'<a id="{part.lower().replace(" ", "").replace("(", "").replace(")", "")}"></a>' in text


def test_persian_document_quotes_the_original_wording():
    text = without_ltr_marks((DOCS / "theory.fa.md").read_text())
    for phrase in ("nRMSE", "و rRMSE تحقیق کنید", "دراپ‌اوت دوبعدی و سه‌بعدی", "پارامترهای قابل یادگیری",
                   "ساختار، کاربرد و ویژگی‌های", "حداقل دو مورد از هر کدام", "به صورت پارامتری مشخص کنید",
                   "بر حسب N, m, k, d", "پارامترهای این شبکه را مشخص کنید", "مقادیر ∂L/∂zᵢ را محاسبه کنید"):
        assert phrase in text, phrase


def assignment_q3() -> tuple[str, list[str]]:
    """The input size and the layer column of question 3's table, as the assignment writes them."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")][:2]
            for line in ASSIGNMENT.read_text().splitlines() if line.startswith("|")]
    start = next(i for i, (name, _) in enumerate(rows) if name == "Input")
    end = next(i for i, (name, _) in enumerate(rows) if name == "FC-10")
    return rows[start][1], [name for name, _ in rows[start + 1: end + 1]]


@pytest.mark.data
def test_q3_table_from_the_assignments_notation_matches_pytorch():
    size, names = assignment_q3()
    assert names == answers.Q3_LAYERS and "CONV5-16(3, 2)" in names  # the document answers this very network
    result = layers.summary(", ".join(names), size)
    net = layers.build_torch(", ".join(names), size)
    h, w, c = layers.parse_input(size)
    x = torch.randn(2, c, h, w)
    for module, row in zip(net, result["layers"], strict=True):
        x = module(x)
        measured = list(x.shape[1:]) if x.dim() == 2 else [x.shape[2], x.shape[3], x.shape[1]]
        assert row["output"] == measured, row
        assert row["params"] == sum(p.numel() for p in module.parameters()), row
    conv2 = next(m for m in net if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (5, 5))
    assert conv2.stride == (3, 3) and conv2.padding == (2, 2)  # CONV5-16(3, 2): stride 3, padding 2
    assert result["total_params"] == sum(p.numel() for p in net.parameters())
    # and the document prints exactly these rows
    doc = (DOCS / "theory.md").read_text()
    for row in result["layers"]:
        out = "×".join(map(str, row["output"]))
        assert re.search(rf"^\| `{re.escape(row['layer'])}` \| {out} \| {row['params']} \|", doc, flags=re.M), row
    assert f"**Total: {result['total_params']} learnable parameters**" in doc


@pytest.mark.data
def test_theory_layers_parses_the_assignment_notation():
    size, names = assignment_q3()
    r = cnnlab("theory", "layers", "--json", f"Input {size}, " + ", ".join(names))
    written = json.loads(r.stdout)
    assert [row["layer"] for row in written["layers"]] == names
    conv = written["layers"][names.index("CONV5-16(3, 2)")]
    assert conv["output"] == [6, 6, 16] and conv["formula"].startswith("out = floor((16 + 2·2 − 5)/3) + 1 = 6")
    bn = written["layers"][names.index("BATCHNORM")]
    assert bn["params"] == 16 and bn["non_trainable"] == 16
    # the shell splits "CONV5-16(3, 2)" into two words when it is not quoted: the same table
    r = cnnlab("theory", "layers", "--json", "--input", "32x32x3", *" ".join(names).split())
    assert json.loads(r.stdout) == written
    table = cnnlab("theory", "layers", "--input", "32×32×3", *names).stdout
    assert re.search(r"^CONV5-16\(3, 2\)\s+6x6x16\s+3216\s", table, flags=re.M)
    bad = cnnlab("theory", "layers", "--input", "28x28x1", f"Input {size}", "CONV3-8", check=False)
    assert bad.returncode == 2 and "Input row says 32x32x3 but --input says 28x28x1" in bad.stderr


def test_q2_formulas_agree_with_dilated_convolutions():
    for row in answers.q2b_checks():
        assert row["match"] and row["same"]["match"], row
    for row in answers.q2c_checks():
        assert row["match"], row
    # the formulas are the document's: rows i ... i + 3d(k − 1), and (N − d(k − 1)) × (N − d(k − 1)) × m
    k, d, i = 3, 2, 5
    reach = answers.dilated_reach(k, d, 3, (i, 0))
    assert reach["rows"] == [i, i + 3 * d * (k - 1)] and reach["row_set"] == list(range(i, i + 3 * d * (k - 1) + 1, d))
    en, fa = (DOCS / "theory.md").read_text(), without_ltr_marks((DOCS / "theory.fa.md").read_text())
    assert "rows     i  …  i + 3d(k − 1)" in en and "output = (N − d(k − 1)) × (N − d(k − 1)) × m" in en
    assert "سطرها:   i  …  i + 3d(k − 1)" in fa and "خروجی = (N − d(k − 1)) × (N − d(k − 1)) × m" in fa


def test_q4_general_gradients_against_autograd():
    for n, d in ((5, 3), (9, 4), (12, 1), (7, 7)):
        assert answers.q4e_check(n, d, seed=n)["max_abs_diff"] < 1e-12
