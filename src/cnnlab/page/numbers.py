"""How numbers are written on a page, in a table and in a log line: one format per column, and a dash for none."""

from __future__ import annotations

import json


def float_format(values) -> str:
    """One format for the floats among `values` (a column of a table), chosen by the largest: 1,234.5, or 55.40 and
    9.07, or 0.1234; '.3g' when some are below 0.001 (learning rates)."""
    floats = [abs(v) for v in values if isinstance(v, float) and v == v]
    if not floats:
        return ".4f"
    if max(floats) >= 100:
        return ",.1f"
    if max(floats) >= 10:
        return ".2f"
    return ".3g" if any(0 < v < 1e-3 for v in floats) else ".4f"


def number(v, spec: str | None = None, dash: str = "—") -> str:
    """`v` as a page shows it: `dash` for None, true/false, a float in `spec` (else the format of its own column),
    an int with thousands separators (whatever `spec`), a dict or list as JSON, anything else as str."""
    if v is None:
        return dash
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return format(v, spec or float_format([v]))
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)
