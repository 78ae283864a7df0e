"""Files people open in spreadsheets (CSV statements, exports, reports).

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab or a
carriage return) as a formula: text a customer typed into a description could then run on
the computer of whoever opens the file (OWASP "CSV injection"). Free-text cells are written
with a leading apostrophe, which spreadsheets show as text and do not evaluate.
"""

from __future__ import annotations

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str | None) -> str:
    """A free-text cell that a spreadsheet will show as text, never run."""
    if not value:
        return ""
    return f"'{value}" if value.startswith(_FORMULA_PREFIXES) else value
