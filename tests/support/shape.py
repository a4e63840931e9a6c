"""Compare the *shape* of two JSON documents: keys present and JSON types, not values.

Used by the example replay: Microsoft's examples are illustrative (ids and values are
inconsistent, see the specs' README), so a sandbox answer matches an example when every
key the example shows is present with the same JSON type. Lists are compared element-wise
by their first elements (examples show several illustrative items). Numbers are one type (int or float).
"""

from __future__ import annotations

from typing import Any


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def shape_differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Where `actual` lacks a key of `expected` or has another JSON type there."""
    want, got = json_type(expected), json_type(actual)
    if want != got:
        return [f"{path}: expected {want}, got {got}"]
    if want == "object":
        out: list[str] = []
        lowered = {k.lower(): k for k in actual}
        for key, sub in expected.items():
            match = key if key in actual else lowered.get(key.lower())
            if match is None:
                out.append(f"{path}.{key}: missing")
            elif match != key:
                out.append(f"{path}.{key}: present as {match!r} (case differs)")
            else:
                out.extend(shape_differences(sub, actual[match], f"{path}.{key}"))
        return out
    if want == "array" and expected:
        if not actual:
            return [f"{path}: expected a non-empty array"]
        # Examples list several illustrative items; compare like with like, item 0 to item 0.
        return shape_differences(expected[0], actual[0], f"{path}[0]")
    return []
