"""HTML tables, lists and links: values are escaped here, cells given as HTML are kept."""

from __future__ import annotations

import html

from cnnlab.page.numbers import float_format, number


def esc(v) -> str:
    return html.escape(str(v))


def link(href: str, text: str) -> str:
    return f'<a href="{esc(href)}">{esc(text)}</a>'


def bullets(items: list[str], cls: str = "") -> str:
    """A list of items given as HTML."""
    return (f'<ul class="{cls}">' if cls else "<ul>") + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def html_table(header: list[str] | None, rows: list[list[str]]) -> str:
    """A table of cells given as HTML (links, code); the header, if any, as text."""
    head = ("<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead>") if header else ""
    return (f"<table>{head}<tbody>" + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
            + "</tbody></table>")


def table(head: list[str], rows: list[list], row_class: list[str] | None = None, cls: str = "",
          uniform: str = "columns", dash: str = "-") -> str:
    """A table of values, scrolled sideways when wider than the page. `uniform`: the numbers of each column
    ("columns"), or of each row ("rows": one quantity per row), share one format; "none" formats each number alone
    (a settings table)."""
    if uniform == "columns":  # one format per column, chosen once from the whole column
        column = [float_format([r[i] for r in rows if i < len(r)]) for i in range(max(map(len, rows), default=0))]
        specs = [column[:len(r)] for r in rows]
    elif uniform == "rows":
        specs = [[float_format(r[1:])] * len(r) for r in rows]
    else:
        specs = [[None] * len(r) for r in rows]

    def cell(v, i: int, spec) -> str:
        text = number(v, spec, dash)
        wide = i > 0 and isinstance(v, (str, dict, list)) and len(number(v, dash=dash)) > 24
        return f'<td class="text">{esc(text)}</td>' if wide else f"<td>{esc(text)}</td>"

    def row(n: int, r: list) -> str:
        opening = f'<tr class="{row_class[n]}">' if row_class and row_class[n] else "<tr>"
        return opening + "".join(cell(v, i, specs[n][i]) for i, v in enumerate(r)) + "</tr>"
    opening = f'<table class="{cls}">' if cls else "<table>"
    return (f'<div class="scroll">{opening}<thead><tr>' + "".join(f"<th>{esc(h)}</th>" for h in head)
            + "</tr></thead><tbody>" + "".join(row(n, r) for n, r in enumerate(rows)) + "</tbody></table></div>")
