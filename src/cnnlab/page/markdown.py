"""Markdown to HTML with Python-Markdown, two ways: a document (a hand-in page: raw HTML, links and images kept, a
right-to-left document wrapped in `<div dir="rtl">`) and notes inside a page (comparison.md and sweep.md in the
report: no raw HTML, links as plain text, tables scrolled sideways), so notes point nowhere outside the page."""

from __future__ import annotations

import re
from pathlib import Path

from cnnlab.atomic import atomic_write_text
from cnnlab.page.document import document, embed_images

RTL_OPEN = '<div dir="rtl">'
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
# what would let notes load or point at something: raw HTML, links, images, autolinks
_UNSAFE_BLOCKS = ("html_block",)
_UNSAFE_INLINE = ("reference", "link", "image_link", "image_reference", "short_reference", "short_image_ref",
                  "autolink", "automail", "html")
_TABLE_TAG = r"</?(?:table|thead|tbody|tr|th|td)\b[^>]*>"
_TABLE_GAP = re.compile(rf"({_TABLE_TAG})\s+(?={_TABLE_TAG})")  # the line breaks between a table's tags


def notes(md: str, heading_offset: int = 1) -> str:
    """Render notes for a place inside a page; headings shifted down by `heading_offset` levels (# -> h2 in a page
    with its own h1). A link [text](target) is written as "text (target)"."""
    import markdown
    converter = markdown.Markdown(extensions=["tables", "sane_lists"], output_format="html")
    for name in _UNSAFE_BLOCKS:
        converter.preprocessors.deregister(name)
    for name in _UNSAFE_INLINE:
        converter.inlinePatterns.deregister(name)
    body = converter.convert(_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", md))
    body = re.sub(r"<(/?)h([1-6])>", lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + heading_offset)}>", body)
    body = re.sub(r"<table>(.*?)</table>", r'<div class="scroll"><table>\1</table></div>', body, flags=re.S)
    return _TABLE_GAP.sub(r"\1", body)  # a row on one line, <tr><td>...</td><td>...</td></tr>, as before


def _local_links(body: str) -> str:
    """Links to a sibling .md document point at its .html page when that page exists (or is being written)."""
    def swap(m: re.Match) -> str:
        target, anchor = m.group(2), m.group(3) or ""
        if re.match(r"(?i)^[a-z]+:", target):
            return m.group(0)
        return f'{m.group(1)}"{target[:-3]}.html{anchor}"'
    return re.sub(r'(<a[^>]*?\shref=)"([^"#:]+\.md)(#[^"]*)?"', swap, body)


def render(markdown_text: str, title: str, base: Path, lang: str = "en") -> str:
    """The HTML page of a Markdown document; relative image paths are resolved against `base`. A document wrapped
    in `<div dir="rtl">` (the Persian ones) becomes a right-to-left page with left-to-right code; a block inside
    `<div ... markdown="1">` (the Persian documents' formula blocks) is rendered as Markdown too."""
    import markdown

    text, rtl = markdown_text, markdown_text.lstrip().startswith(RTL_OPEN)
    if rtl:
        text = text.lstrip()[len(RTL_OPEN):].rstrip()
        text = text[: -len("</div>")] if text.endswith("</div>") else text
    body = markdown.markdown(text, extensions=["tables", "fenced_code", "sane_lists", "md_in_html"],
                             output_format="html")
    return document(title, _local_links(embed_images(body, base)), lang, "rtl" if rtl else "ltr")


def write(md_path: Path, title: str, lang: str = "en") -> Path:
    """md_path's page beside it, as .html."""
    md_path = Path(md_path)
    out = md_path.with_suffix(".html")
    atomic_write_text(out, render(md_path.read_text(encoding="utf-8"), title, md_path.parent, lang))
    return out
