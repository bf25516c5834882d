"""Text kept in a template file of `## key` sections (a package's templates/NAME.md): each key's text, filled in
with str.format."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def read(package: str, name: str) -> dict[str, str]:
    """{key: text} of `package`/templates/`name`; what stands before the first `## key` is the file's own note."""
    text = (resources.files(package) / "templates" / name).read_text(encoding="utf-8")
    parts = re.split(r"^## ([\w.]+)[ \t]*$", text, flags=re.M)
    return {key: body.strip() for key, body in zip(parts[1::2], parts[2::2])}
