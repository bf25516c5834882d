"""A self-contained HTML page: the one stylesheet inline and figures embedded as data: URIs, so a page opens
offline, mailed or handed in, and loads nothing from outside."""

from __future__ import annotations

import base64
import html
import re
from importlib import resources
from pathlib import Path

MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml", ".gif": "image/gif"}


def css() -> str:
    """The stylesheet of every page (style.css): readable on a phone and on paper."""
    return (resources.files("cnnlab.page") / "style.css").read_text(encoding="utf-8")


def document(title: str, body: str, lang: str = "en", direction: str = "ltr") -> str:
    return (f'<!DOCTYPE html>\n<html lang="{lang}" dir="{direction}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{css()}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def data_uri(path: Path) -> str:
    path = Path(path)
    return f"data:{MIME[path.suffix.lower()]};base64,{base64.b64encode(path.read_bytes()).decode()}"


def figure(path: Path, alt: str, caption: str = "") -> str:
    """An image file embedded in the page, with its caption (text) under it."""
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{html.escape(alt)}" src="{data_uri(path)}">{cap}</figure>'


def embed_images(body: str, base: Path) -> str:
    """Every <img> whose src is an image file relative to `base` gets the file's bytes as a data: URI."""
    def embed(m: re.Match) -> str:
        src = m.group(2)
        path = (base / html.unescape(src)).resolve()
        if re.match(r"(?i)^(data:|https?:|//)", src) or path.suffix.lower() not in MIME or not path.is_file():
            return m.group(0)
        return f'{m.group(1)}"{data_uri(path)}"'
    return re.sub(r'(<img[^>]*?\ssrc=)"([^"]+)"', embed, body)
