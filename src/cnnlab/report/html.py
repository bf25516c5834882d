"""A self-contained HTML report of one or more run folders (figures embedded as data: URIs, nothing external)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from cnnlab.engine.checkpoint import atomic_write_text

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:auto;padding:1em;line-height:1.45}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}img{max-width:100%}pre{background:#f6f6f6;padding:.6em;overflow:auto}
@media print{img{page-break-inside:avoid}}"""


def _img(path: Path) -> str:
    if not path.exists():
        return ""
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


def _markdown_table_to_html(md: str) -> str:
    """A minimal rendering of the Markdown our tools write: headings, pipe tables and paragraphs."""
    out, table = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not all(set(c) <= set("-:") for c in cells):
                table.append(cells)
            continue
        if table:
            head, *body = table
            out.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
                       + "</table>")
            table = []
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level + 1}>{html.escape(line.lstrip('#').strip())}</h{level + 1}>")
        elif line.strip():
            text = html.escape(line)
            while "**" in text:
                text = text.replace("**", "<b>", 1).replace("**", "</b>", 1)
            out.append(f"<p>{text}</p>")
    return "\n".join(out)


def write_report(runs: list[Path], out: Path, title: str = "cnnlab report", extra_markdown: str = "") -> Path:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
             f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    if extra_markdown:
        parts.append(_markdown_table_to_html(extra_markdown))
    for run in map(Path, runs):
        metrics = json.loads((run / "metrics.json").read_text())
        config = json.loads((run / "config.json").read_text())
        parts.append(f"<h2>{html.escape(config.get('model', run.name))} ({html.escape(str(run))})</h2>")
        parts.append(f"<p>test accuracy {metrics['accuracy']:.4f}, macro precision {metrics['precision_macro']:.4f}, "
                     f"macro recall {metrics['recall_macro']:.4f}, {metrics['params_total']:,} parameters, "
                     f"best epoch {metrics['best_epoch']}</p>")
        parts.append(_img(run / "plots" / "curves.png"))
        parts.append(_img(run / "plots" / "confusion_matrix.png"))
        parts.append(f"<details><summary>configuration</summary><pre>{html.escape(json.dumps(config, indent=2))}</pre></details>")
    parts.append("</body></html>")
    atomic_write_text(Path(out), "\n".join(parts))
    return Path(out)
