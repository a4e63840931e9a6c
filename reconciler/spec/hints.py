"""How to write a value of the type a spec position expects: the hint of every RC004.

The loader (the friendly keys, through pydantic's error types) and the Azure-named members
(the field table's JSON types) each say in their own words that a value has the wrong
type; the fix both suggest comes from here, so they never advise differently.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

# An example value of each type, as it is written after `name: `.
_EXAMPLES = {
    "integer": "4",
    "number": "1.5",
    "boolean": "true",
    "date": "2027-06-30",
}


def type_hint(name: str, expected: str, value: Any) -> str:
    """The fix for `value` written where `name` takes `expected` (a JSON type: string,
    integer, number, boolean, array, object; or date)."""
    if expected == "string":
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, dt.date):
            text = value.isoformat()
        else:
            text = str(value)
        return f'quote it to make it a string: {name}: "{text}"'
    if isinstance(value, str) and expected in ("integer", "number"):
        stripped = value.strip()
        if stripped.lstrip("-").replace(".", "", expected == "number").isdigit():
            return f"remove the quotes: {name}: {stripped}"
    if (
        expected == "boolean"
        and isinstance(value, str)
        and value.strip().lower() in ("true", "false")
    ):
        return f"write true or false without quotes: {name}: {value.strip().lower()}"
    if expected == "integer":
        return f"write a whole number without quotes, e.g. {name}: 4"
    if expected in _EXAMPLES:
        return f"write it without quotes, e.g. {name}: {_EXAMPLES[expected]}"
    if expected == "array":
        return f"write a list: one `- item` line per entry, indented under `{name}:`"
    if expected == "object":
        return f"write a mapping: `key: value` lines, indented under `{name}:`"
    return ""
