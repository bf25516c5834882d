"""A small Markdown-to-HTML renderer for the Markdown cnnlab writes (comparison.md, sweep.md, notes).

It knows headings, pipe tables, bullet lists, paragraphs, **bold** and `code`. Links are kept as plain text
(never as href), so a report stays free of anything that points outside the page.
"""

from __future__ import annotations

import html
import re

_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def inline(text: str) -> str:
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    return out


def _table(rows: list[list[str]], aligns: list[str]) -> str:
    head, *body = rows

    def cell(tag: str, i: int, c: str) -> str:
        style = f' style="text-align:{aligns[i]}"' if i < len(aligns) and aligns[i] else ""
        return f"<{tag}{style}>{inline(c)}</{tag}>"
    return ('<div class="scroll"><table><thead><tr>' + "".join(cell("th", i, c) for i, c in enumerate(head))
            + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(r)) + "</tr>" for r in body)
            + "</tbody></table></div>")


def _align(cells: list[str]) -> list[str]:
    return ["center" if c.startswith(":") and c.endswith(":") else "right" if c.endswith(":") else
            "left" if c.startswith(":") else "" for c in cells]


def to_html(md: str, heading_offset: int = 1) -> str:
    """Render `md`; headings are shifted down by `heading_offset` levels (# -> h2 inside a page with its own h1)."""
    out: list[str] = []
    table: list[list[str]] = []
    aligns: list[str] = []
    items: list[str] = []
    para: list[str] = []

    def flush() -> None:
        nonlocal table, items, para, aligns
        if table:
            out.append(_table(table, aligns))
        if items:
            out.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
        if para:
            out.append(f"<p>{inline(' '.join(para))}</p>")
        table, items, para, aligns = [], [], [], []

    for line in md.splitlines():
        s = line.strip()
        if s.startswith("|"):
            if not table:
                flush()
            cells = [c.strip() for c in s.strip("|").split("|")]
            if cells and all(c and set(c) <= set("-: ") for c in cells):
                aligns = _align(cells)
            else:
                table.append(cells)
            continue
        if table:
            flush()
        if s.startswith("#"):
            flush()
            level = min(6, len(s) - len(s.lstrip("#")) + heading_offset)
            out.append(f"<h{level}>{inline(s.lstrip('#').strip())}</h{level}>")
        elif s.startswith(("- ", "* ")):
            if para:
                flush()
            items.append(s[2:])
        elif s:
            if items:
                flush()
            para.append(s)
        else:
            flush()
    flush()
    return "\n".join(out)
