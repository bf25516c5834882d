"""Left-to-right islands in a right-to-left Markdown document (the Persian theory answers).

In a right-to-left paragraph the Unicode bidirectional algorithm reorders the neutral characters around numbers
and Latin letters: "−0.6975" renders as "0.6975−", "(ŷ − y)·v₁" loses its order. `wrap_ltr` marks every formula
and every number with a sign as a left-to-right isolate, so it reads as written inside the Persian text:

- an indented code block (formula lines) goes into `<div dir="ltr" markdown="1">` (Python-Markdown's md_in_html
  and GitHub both render the Markdown inside);
- in prose, table cells, headings and quotes, each maximal run of non-Persian text that holds a digit, an
  operator or a bracket goes into `<span dir="ltr">`; a bracket whose partner lies in the Persian text stays
  outside, with its partner.

Links, HTML tags, images and emphasis markers are left as they are; Persian letters and Persian punctuation end a
run. tests/theory/test_bidi.py checks the result independently: nothing of a formula is left outside an island.
"""

from __future__ import annotations

import re

PERSIAN = "\u0600-\u06ff\u200c\u200f\ufb50-\ufdff\ufe70-\ufeff«»—"
# tokens kept whole: HTML tags, images and link targets, inline code, emphasis markers
# (<sub> and <sup> belong to the formula they are in: they do not end a run)
PROTECTED = re.compile(r"<(?!/?su[bp]>)[^>]+>|!\[[^\]]*\]\([^)]*\)|\]\([^)]*\)|`[^`]*`|\*+")
RUN = re.compile(rf"[^{PERSIAN}]+")
MATH = re.compile(r"[0-9=<>≤≥≈±−+×÷/·√Σ∏∂⌊⌋()\[\]{}²³¹⁰ⁱ₀-₉ᵢⱼₖₗₘₙₚ′″…~^|∈∧∨∞→←]")
SPAN_OPEN, SPAN_CLOSE = '<span dir="ltr">', "</span>"
DIV_OPEN, DIV_CLOSE = '<div dir="ltr" markdown="1">', "</div>"
LINE_PREFIX = re.compile(r"^(\s*(?:#+\s|>\s?|[-*]\s|\d+\.\s)*)")
OPEN, CLOSE = "([{⌊", ")]}⌋"


def _unmatched(s: str) -> set[int]:
    """Positions of the brackets of `s` that have no partner inside `s` (a half-open interval [0, ∞) pairs '['
    with ')')."""
    stack, lone = [], set()
    for i, c in enumerate(s):
        if c in OPEN:
            stack.append(i)
        elif c in CLOSE:
            if stack and (s[stack[-1]] == OPEN[CLOSE.index(c)] or s[stack[-1]] + c in ("[)", "(]")):
                stack.pop()
            else:
                lone.add(i)
    return lone | set(stack)


def _island(piece: str) -> str:
    """`piece` with its formula (spaces and sentence punctuation left outside) marked left-to-right, if it is one:
    it holds a digit, an operator or a bracket and something besides brackets and dots, and is not a plain unsigned
    number."""
    lead, core, trail = re.fullmatch(r"([\s:;,.]*)(.*?)([\s:;,.]*)", piece, flags=re.S).groups()
    if (core and MATH.search(core) and re.search(r"[^\s·()\[\]{}]", core)
            and not re.fullmatch(r"\d+(?:[.,]\d+)*%?", core)):
        core = SPAN_OPEN + core + SPAN_CLOSE
    return lead + core + trail


def _wrap_text(text: str) -> str:
    """Every run of non-Persian text becomes an island; a bracket whose partner lies outside the run (in Persian
    text) stays outside, so that it pairs with its partner in the right-to-left text."""
    out, pos = [], 0
    for m in RUN.finditer(text):
        out.append(text[pos:m.start()])
        run, start = m.group(0), 0
        for i in sorted(_unmatched(run)):
            out.append(_island(run[start:i]) + run[i])
            start = i + 1
        out.append(_island(run[start:]))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def _wrap_segment(text: str) -> str:
    """Wrap the runs of a piece of a line; protected tokens split the runs, inline code with brackets, digits or
    operators becomes an island of its own."""
    out, pos = [], 0
    for m in PROTECTED.finditer(text):
        out.append(_wrap_text(text[pos:m.start()]))
        token = m.group(0)
        if token.startswith("`") and MATH.search(token):
            token = SPAN_OPEN + token + SPAN_CLOSE
        out.append(token)
        pos = m.end()
    out.append(_wrap_text(text[pos:]))
    return "".join(out)


def _wrap_line(line: str) -> str:
    if re.fullmatch(r"\s*\|?\s*:?-{3,}.*", line) or not line.strip():
        return line
    prefix = LINE_PREFIX.match(line).group(1)
    body = line[len(prefix):]
    if body.startswith("|"):  # a table row: every cell on its own
        cells = body.split("|")
        return prefix + "|".join(_wrap_segment(c) if c.strip() else c for c in cells)
    return prefix + _wrap_segment(body)


def wrap_ltr(markdown: str) -> str:
    """The document with every formula line, formula and signed number marked left-to-right (apply once, to the
    filled template; a `<div dir="ltr" markdown="1">` block already there is left as it is)."""
    lines, out, i = markdown.split("\n"), [], 0
    while i < len(lines):
        line = lines[i]
        if line == DIV_OPEN:  # already a left-to-right block: kept as it is
            end = lines.index(DIV_CLOSE, i)
            out += lines[i:end + 1]
            i = end + 1
            continue
        if line.startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            block = []
            while i < len(lines) and (lines[i].startswith("    ") or (not lines[i].strip() and i + 1 < len(lines)
                                                                      and lines[i + 1].startswith("    "))):
                block.append(lines[i])
                i += 1
            out += [DIV_OPEN, ""] + block + ["", DIV_CLOSE]
            continue
        out.append(_wrap_line(line))
        i += 1
    return "\n".join(out)

