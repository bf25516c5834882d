"""The Persian theory answers read right inside a right-to-left page: every formula line, formula and number with a
sign is a left-to-right island (`<span dir="ltr">`, `<div dir="ltr">`), the Persian text uses the assignment's
terms, and no English prose is left in it."""

import re
from pathlib import Path

from cnnlab.page import markdown as pages
from cnnlab.theory import bidi

ROOT = Path(__file__).resolve().parents[2]
FA = ROOT / "docs" / "theory.fa.md"
# characters that the bidi algorithm reorders around numbers in a right-to-left line (minus, operators, brackets
# of formulas); '(' and ')' around Persian words are fine and are not listed
OPERATORS = re.compile(r"[=<>≤≥≈±−+×÷√Σ∏∂⌊⌋²³ᵢⱼₖₗₘₙₚ₀-₉′∧]")
SIGNED = re.compile(r"(?<![\w.])[−+-]\s?\d")


def outside_islands(markdown: str, island: str = " ") -> list[tuple[int, str]]:
    """(line number, text) of every line with the left-to-right islands (replaced by `island`), tags, link targets
    and inline code removed: what the right-to-left page lays out by the bidi algorithm alone."""
    out, in_div = [], False
    for number, line in enumerate(markdown.splitlines(), 1):
        if line.startswith('<div dir="ltr"'):
            in_div = True
        if in_div:
            in_div = line != "</div>"
            continue
        text = re.sub(r"^\s*(?:>\s?|#+\s|[-*]\s|\d+\.\s)*", "", line)  # Markdown's quote, heading, list marks
        text = re.sub(r'<span dir="ltr">.*?</span>', island, text)
        text = re.sub(r"`[^`]*`|!\[[^\]]*\]\([^)]*\)|\]\([^)]*\)|<[^>]+>", " ", text)
        out.append((number, text))
    return out


def test_every_formula_line_and_signed_number_of_the_persian_answers_is_left_to_right():
    text = FA.read_text()
    assert text.startswith('<div dir="rtl">')
    code_lines = 0
    for number, line in outside_islands(text):
        assert not line.startswith("    ") or not line.strip(), f"theory.fa.md:{number}: formula line outside ltr"
        assert not SIGNED.search(line), f"theory.fa.md:{number}: signed number outside a ltr island: {line}"
        assert not OPERATORS.search(line), f"theory.fa.md:{number}: formula outside a ltr island: {line}"
    for number, line in outside_islands(text, island="§"):  # a bracket pair split around an island: [§]
        assert not re.search(r"[\[(]\s*§\s*[\])]", line), f"theory.fa.md:{number}: brackets outside their formula"
    for block in re.findall(r'<div dir="ltr" markdown="1">\n\n(.*?)\n\n</div>', text, flags=re.S):
        code_lines += sum(line.startswith("    ") for line in block.splitlines())
    assert code_lines > 40  # the formula blocks are there, inside left-to-right blocks
    assert len(re.findall(r'<span dir="ltr">', text)) > 300
    # a number with a sign from the computed values, e.g. the error −1.5 of Q1 (a), is one island
    assert re.search(r'<span dir="ltr">-1\.5</span>', text)


def test_wrap_ltr_marks_formulas_and_leaves_persian_text_and_markdown_alone():
    wrapped = bidi.wrap_ltr("خطا از -0.6975 به 18.5 می‌رسد و x > 0 است (یعنی N×C×H×W).")
    assert wrapped == ('خطا از <span dir="ltr">-0.6975</span> به 18.5 می‌رسد و <span dir="ltr">x > 0</span> است '
                       '(یعنی <span dir="ltr">N×C×H×W</span>).')  # an unsigned number needs no island
    # a bracket whose partner is in the Persian text stays outside; links, emphasis and <sub> are kept
    assert bidi.wrap_ltr("[(الف) مقدار](#q1a) **MSE** و nRMSE<sub>mean</sub> = rRMSE") == (
        '[(الف) مقدار](#q1a) **MSE** و <span dir="ltr">nRMSE<sub>mean</sub> = rRMSE</span>')
    # a table row: cell by cell; a code block: one left-to-right block
    assert (bidi.wrap_ltr("| حالت | −1 | [0, ∞) |")
            == '| حالت | <span dir="ltr">−1</span> | <span dir="ltr">[0, ∞)</span> |')
    block = bidi.wrap_ltr("متن:\n\n    y = a − b\n    z = 2\n\nمتن")
    assert block == 'متن:\n\n<div dir="ltr" markdown="1">\n\n    y = a − b\n    z = 2\n\n</div>\n\nمتن'
    # a block already marked left-to-right is left as it is
    assert bidi.wrap_ltr(block) == block


def test_the_persian_page_renders_islands_and_formula_blocks_left_to_right(tmp_path):
    html = pages.render(bidi.wrap_ltr('<div dir="rtl">\n\nمتن -1:\n\n    y = −x\n\n</div>\n'), "t", tmp_path, "fa")
    assert '<html lang="fa" dir="rtl">' in html
    assert '<span dir="ltr">-1</span>' in html
    assert re.search(r'<div dir="ltr">\s*<pre><code>y = −x', html)  # Markdown inside the block is rendered


def test_persian_answers_use_the_assignments_terms_and_no_english_prose():
    text = FA.read_text()
    answers = text[: text.index('<a id="references">')]
    prose = "\n".join(line for line in answers.splitlines() if not line.startswith(">"))  # not the quoted question
    # the assignment's word for the dilation rate is «طول گام» and it warns that it is not the stride: here the
    # dilation is «گسترش» throughout, the stride is "stride", the padding «پدینگ»
    assert "اتساع" not in text and "لایه‌گذاری" not in text
    assert re.sub(r"«طول گام»", "", prose).count("گام") == 0
    assert prose.count("نرخ گسترش") >= 5 and prose.count("پدینگ") >= 5
    bare = "\n".join(line for _, line in outside_islands(prose))
    for word in ("and", "rows", "columns", "sees", "output", "train", "eval", "mean", "biased", "variance"):
        assert not re.search(rf"\b{word}\b", bare), word  # in the Persian prose
    formulas = re.sub(r"`[^`]*`", " ", prose)  # the formulas too: no English words (mean(y) is a function)
    for word in ("and", "rows", "columns", "sees", "output", "train", "eval", "biased", "size"):
        assert not re.search(rf"\b{word}\b", formulas), word
