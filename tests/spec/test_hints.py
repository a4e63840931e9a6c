"""Every wrong type in a spec comes with the fix, in the same words for friendly keys and
Azure-named members."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.spec.hints import type_hint

from .world import load, pool, world


@pytest.mark.parametrize(
    ("expected", "value", "hint"),
    [
        ("string", 1.0, 'quote it to make it a string: name: "1.0"'),
        ("string", True, 'quote it to make it a string: name: "true"'),
        ("integer", "4", "remove the quotes: name: 4"),
        ("integer", "four", "write a whole number without quotes, e.g. name: 4"),
        ("integer", 1.5, "write a whole number without quotes, e.g. name: 4"),
        ("number", "1.5", "remove the quotes: name: 1.5"),
        ("boolean", "True", "write true or false without quotes: name: true"),
        ("boolean", "yes please", "write it without quotes, e.g. name: true"),
        ("date", 5, "write it without quotes, e.g. name: 2027-06-30"),
        ("array", {"a": 1}, "write a list: one `- item` line per entry, indented under `name:`"),
        ("object", [1], "write a mapping: `key: value` lines, indented under `name:`"),
    ],
)
def test_the_hint_says_how_to_write_the_expected_type(expected: str, value: Any, hint: str) -> None:
    """The hint for a value of the wrong type shows the value written as the type wants."""
    assert type_hint("name", expected, value) == hint


def _pool(**values: Any) -> Callable[[dict[str, Any]], object]:
    return lambda d: pool(d).update(values)


@pytest.mark.parametrize(
    "mutate",
    [
        _pool(taskSlotsPerNode="four"),
        _pool(metadata="owner=render"),
        _pool(startTask={"commandLine": "/bin/true", "waitForSuccess": "maybe"}),
        _pool(properties={"taskSlotsPerNode": "four"}),
        _pool(properties={"mountConfiguration": {"nfs": 1}}),
        _pool(properties={"networkConfiguration": {"enableAcceleratedNetworking": "maybe"}}),
        _pool(properties={"displayName": 7}),
    ],
    ids=["friendly-int", "friendly-map", "friendly-bool", "azure-int", "azure-list",
         "azure-bool", "azure-string"],
)  # fmt: skip
def test_every_wrong_type_has_a_hint(tmp_path: Path, mutate: Any) -> None:
    """A wrong type anywhere in a pool is RC004 with a hint that is never empty."""
    wrong = [d for d in load(tmp_path, world(mutate)).diagnostics if d.code == "RC004"]
    assert wrong and all(d.hint.strip() for d in wrong), [d.format() for d in wrong]
