"""Markdown documents as self-contained HTML pages (Python-Markdown; figures embedded as data: URIs, inline CSS):
a page opens offline, mailed or handed in, and loads nothing from outside. A document wrapped in
`<div dir="rtl">` (the Persian ones) becomes a right-to-left page with left-to-right code; a block inside
`<div ... markdown="1">` (the Persian documents' formula blocks) is rendered as Markdown too."""

from __future__ import annotations

import base64
import html
import re
from importlib import resources
from pathlib import Path

from cnnlab.atomic import atomic_write_text

RTL_OPEN = '<div dir="rtl">'
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml", ".gif": "image/gif"}


def css() -> str:
    return (resources.files("cnnlab.handin") / "templates" / "page.css").read_text(encoding="utf-8")


def _embed_images(body: str, base: Path) -> str:
    def embed(m: re.Match) -> str:
        src = m.group(2)
        path = (base / html.unescape(src)).resolve()
        if re.match(r"(?i)^(data:|https?:|//)", src) or path.suffix.lower() not in MIME or not path.is_file():
            return m.group(0)
        data = base64.b64encode(path.read_bytes()).decode()
        return f'{m.group(1)}"data:{MIME[path.suffix.lower()]};base64,{data}"'
    return re.sub(r'(<img[^>]*?\ssrc=)"([^"]+)"', embed, body)


def _local_links(body: str) -> str:
    """Links to a sibling .md document point at its .html page when that page exists (or is being written)."""
    def swap(m: re.Match) -> str:
        target, anchor = m.group(2), m.group(3) or ""
        if re.match(r"(?i)^[a-z]+:", target):
            return m.group(0)
        return f'{m.group(1)}"{target[:-3]}.html{anchor}"'
    return re.sub(r'(<a[^>]*?\shref=)"([^"#:]+\.md)(#[^"]*)?"', swap, body)


def render(markdown_text: str, title: str, base: Path, lang: str = "en") -> str:
    """The HTML page of `markdown_text`; relative image paths are resolved against `base`."""
    import markdown

    text, rtl = markdown_text, markdown_text.lstrip().startswith(RTL_OPEN)
    if rtl:
        text = text.lstrip()[len(RTL_OPEN):].rstrip()
        text = text[: -len("</div>")] if text.endswith("</div>") else text
    body = markdown.markdown(text, extensions=["tables", "fenced_code", "sane_lists", "md_in_html"],
                             output_format="html")
    body = _local_links(_embed_images(body, base))
    direction = "rtl" if rtl else "ltr"
    return (f'<!DOCTYPE html>\n<html lang="{lang}" dir="{direction}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{html.escape(title)}</title>\n'
            f"<style>{css()}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def write(md_path: Path, title: str, lang: str = "en") -> Path:
    """md_path's page beside it, as .html."""
    md_path = Path(md_path)
    out = md_path.with_suffix(".html")
    atomic_write_text(out, render(md_path.read_text(encoding="utf-8"), title, md_path.parent, lang))
    return out
