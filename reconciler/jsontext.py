"""Indented JSON text, exactly as ``json.dumps(value, indent=2, ensure_ascii=False)`` writes it.

The standard library uses its C encoder only without `indent`; with it, every token is
yielded up through one Python generator per nesting level. Plans, plan files and the
validate report are written indented (people read and diff them), and at tens of
thousands of resources that encoder was a third of `reconcile validate`. This writer
appends each token once, encoding strings with the standard library's C string encoder,
and produces the same bytes (a test compares them on generated documents).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

_INDENT = "  "
_FLOAT_SPECIAL = {float("inf"): "Infinity", float("-inf"): "-Infinity"}


def dumps(value: Any) -> str:
    """`value` as ``json.dumps(value, indent=2, ensure_ascii=False)`` would write it."""
    parts: list[str] = []
    _write(value, "\n", parts)
    return "".join(parts)


def _scalar(value: Any) -> str | None:
    if isinstance(value, str):
        return encode_basestring(value)  # type: ignore[no-any-return]
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        return _FLOAT_SPECIAL.get(value) or float.__repr__(value)
    return None


def _key(key: Any) -> str:
    if isinstance(key, str):
        return encode_basestring(key)  # type: ignore[no-any-return]
    text = _scalar(key)
    if text is None:
        raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
    return '"' + text + '"'


def _write(value: Any, newline: str, parts: list[str]) -> None:
    text = _scalar(value)
    if text is not None:
        parts.append(text)
        return
    inner = newline + _INDENT
    if isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        separator = "{" + inner
        for key, item in value.items():
            parts.append(separator + _key(key) + ": ")
            _write(item, inner, parts)
            separator = "," + inner
        parts.append(newline + "}")
    elif isinstance(value, list | tuple):
        if not value:
            parts.append("[]")
            return
        separator = "[" + inner
        for item in value:
            parts.append(separator)
            _write(item, inner, parts)
            separator = "," + inner
        parts.append(newline + "]")
    else:
        # Whatever the standard library does with it (a TypeError for the unknown).
        parts.append(json.dumps(value, indent=2, ensure_ascii=False))
