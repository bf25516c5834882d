"""How numbers shown together are written: one format per column of a table."""

from __future__ import annotations


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
