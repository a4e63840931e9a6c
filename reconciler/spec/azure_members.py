"""A resource's Azure-named members (``properties:``, ``identity:``…), checked and flattened.

Every writable member of a kind can be written in a spec under Azure's own names and
nesting. This module checks such a block against the field table generated from
Microsoft's OpenAPI (`reconciler.state.surface`) — unknown members with "did you mean",
types, enum values (listed), patterns, bounds — and turns it into flat desired paths.
Problems come all at once, each at its ``file:line:col``.

It also holds the two rules that join the halves of the vocabulary:
- a path a friendly key owns (`surface.OWNED`) is set there, not under Azure's names
  (RC014, naming both places);
- a member Azure marks secret takes only a ``${env:NAME}`` reference (RC015), so no
  literal password or key ever sits in a spec file or a plan.

``null`` (or an empty list or mapping) is kept as ``None``: "ensure absent".
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from reconciler.diagnostics import Diagnostic, diag
from reconciler.openapi.surface import Field
from reconciler.secrets import is_reference
from reconciler.spec.hints import type_hint
from reconciler.state import surface
from reconciler.state.model import Kind
from reconciler.state.surface import MapKey, Node, Segments, flat_path

At = tuple[str, int, int]
Where = Callable[[Sequence[str | int]], At | None]


@dataclass(frozen=True, slots=True)
class AzureMembers:
    """What a resource declares under Azure's names: flat paths (None: ensure absent), and
    the lists it declares whole (their items beyond the declared ones are removed)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    complete: tuple[str, ...] = ()


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


class _Walk:
    def __init__(self, kind: Kind, address: str, where: Where, friendly: frozenset[str]) -> None:
        self.kind = kind
        self.address = address
        self.where = where
        self.friendly = friendly
        self.values: dict[str, Any] = {}
        self.complete: list[str] = []
        self.diags: list[Diagnostic] = []

    def error(self, code: str, message: str, loc: Sequence[str | int], hint: str = "") -> None:
        self.diags.append(
            diag(code, message, hint=hint, address=self.address, at=self.where(tuple(loc)))
        )

    def walk(self, node: Node, value: Any, segs: Segments, loc: tuple[str | int, ...]) -> None:
        shown = flat_path(segs)
        owner = surface.owner_of(self.kind, surface.template_of(segs))
        if owner is not None:
            friendly, always = owner
            if always or friendly.split(".", 1)[0] in self.friendly:
                both = friendly.split(".", 1)[0] in self.friendly
                self.error(
                    "RC014",
                    f"{shown} is set by `{friendly}`"
                    + (", which this resource sets too" if both else ""),
                    loc,
                    hint=f"write it as `{friendly}` and drop {shown}",
                )
                return
        if value is None or (isinstance(value, list | dict) and not value):
            self.values[shown] = None  # ensure absent
            return
        if node.field is not None:
            self.leaf(node.field, value, segs, loc)
        elif node.item is not None:
            if not isinstance(value, list):
                self.error(
                    "RC004",
                    f"{shown} must be a list, not {_type(value)}",
                    loc,
                    _hint(loc, "array", value),
                )
                return
            self.complete.append(shown + "[")
            for index, item in enumerate(value):
                self.walk(node.item, item, (*segs, index), (*loc, index))
        elif node.children is not None:
            if not isinstance(value, Mapping):
                self.error(
                    "RC004",
                    f"{shown} must be a mapping, not {_type(value)}",
                    loc,
                    _hint(loc, "object", value),
                )
                return
            for name, sub in value.items():
                child = node.children.get(str(name))
                if child is None:
                    guess = difflib.get_close_matches(str(name), list(node.children), n=1)
                    self.error(
                        "RC003",
                        f"unknown key {name!r} in {shown}",
                        (*loc, str(name)),
                        hint=f"did you mean {guess[0]!r}?"
                        if guess
                        else "allowed here: " + ", ".join(sorted(node.children)),
                    )
                    continue
                self.walk(child, sub, (*segs, str(name)), (*loc, str(name)))

    def leaf(self, f: Field, value: Any, segs: Segments, loc: tuple[str | int, ...]) -> None:
        shown = flat_path(segs)
        if f.secret:
            if not is_reference(value):
                self.error(
                    "RC015",
                    f"{shown} is a secret: it takes a ${{env:NAME}} reference, not a literal",
                    loc,
                    hint=f"write {shown}: ${{env:SOME_NAME}} and set SOME_NAME where apply runs",
                )
                return
            self.values[shown] = value
            return
        if f.type == "map":
            if not isinstance(value, Mapping):
                self.error(
                    "RC004",
                    f"{shown} must be a mapping, not {_type(value)}",
                    loc,
                    _hint(loc, "object", value),
                )
                return
            for path, leaf in surface.leaf_paths(f, value, segs):
                self.values[path] = leaf
            self.complete.append(shown + "[")  # a map written is the whole map
            return
        if f.type == "object":
            if not isinstance(value, Mapping):
                self.error(
                    "RC004",
                    f"{shown} must be a mapping, not {_type(value)}",
                    loc,
                    _hint(loc, "object", value),
                )
                return
            self.values[shown] = surface.canonical_json(_plain(value))
            return
        if f.type == "array":
            if not isinstance(value, list):
                self.error(
                    "RC004",
                    f"{shown} must be a list, not {_type(value)}",
                    loc,
                    _hint(loc, "array", value),
                )
                return
            for index, item in enumerate(value):
                if not self.scalar(f, f.item_type or "string", item, shown, (*loc, index)):
                    return
            self.values[shown] = tuple(value)
            return
        if self.scalar(f, f.type, value, shown, loc):
            if isinstance(value, dt.date | dt.datetime):
                value = value.isoformat()
            self.values[shown] = value

    def scalar(
        self, f: Field, type_: str, value: Any, shown: str, loc: tuple[str | int, ...]
    ) -> bool:
        ok = {
            "string": isinstance(value, str)
            or (f.format in ("date-time", "date") and isinstance(value, dt.date)),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
        }.get(type_, True)
        if not ok:
            hint = _hint(loc, type_, value)
            self.error("RC004", f"{shown} must be {_article(type_)}, not {_type(value)}", loc, hint)
            return False
        known = {e.casefold() for e in f.enum} if type_ == f.type else set()
        if isinstance(value, str) and known and value.casefold() not in known:
            guess = difflib.get_close_matches(value, list(f.enum), n=1)
            self.error(
                "RC011",
                f"{shown} is {value!r}, not one of: {', '.join(f.enum)}",
                loc,
                hint=f"did you mean {guess[0]!r}?" if guess else "",
            )
            return False
        if isinstance(value, str) and f.pattern:
            pattern = _compiled(f.pattern)
            if pattern is not None and not pattern.search(value):
                self.error("RC011", f"{shown} {value!r} does not match {f.pattern}", loc)
                return False
        if isinstance(value, int | float) and not isinstance(value, bool):
            if f.minimum is not None and value < f.minimum:
                self.error("RC011", f"{shown} is {value}, below the minimum {f.minimum:g}", loc)
                return False
            if f.maximum is not None and value > f.maximum:
                self.error("RC011", f"{shown} is {value}, above the maximum {f.maximum:g}", loc)
                return False
        return True


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def _hint(loc: Sequence[str | int], type_: str, value: Any) -> str:
    """RC004's fix, named by the member's own key (a list item's: its list's)."""
    name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "value")
    return type_hint(name, type_, value)


def _article(type_: str) -> str:
    return {"integer": "an integer", "boolean": "a boolean (true/false)"}.get(type_, f"a {type_}")


def check(
    kind: Kind,
    raw: Mapping[str, Any],
    *,
    address: str,
    where: Where,
    friendly: frozenset[str] = frozenset(),
) -> tuple[AzureMembers, list[Diagnostic]]:
    """The Azure-named members `raw` (a resource's YAML mapping) declares, and problems.

    `friendly` names the friendly keys the resource sets (for RC014).
    """
    walk = _Walk(kind, address, where, friendly)
    root = surface.table(kind).children or {}
    for name in surface.roots(kind):
        if name not in raw:
            continue
        value = raw[name]
        if value is None:
            continue  # `properties:` written with nothing under it: nothing managed
        walk.walk(root[name], value, (name,), (name,))
    return AzureMembers(dict(walk.values), tuple(walk.complete)), walk.diags


def check_at(
    kind: Kind,
    template: tuple[str, ...],
    raw: Mapping[str, Any],
    keys: Sequence[str],
    *,
    prefix: str,
    address: str,
    where: Where,
) -> tuple[AzureMembers, list[Diagnostic]]:
    """The members `keys` of `raw`, an item the friendly vocabulary keys (a version's target
    region), checked against the table node at `template`; paths start with `prefix`."""
    walk = _Walk(kind, address, where, frozenset())
    node = surface.node_at(kind, template)
    children = node.children if node is not None and node.children else {}
    for key in keys:
        if key in raw and key in children:
            walk.walk(children[key], raw[key], (key,), (key,))
    values = {f"{prefix}{path}": value for path, value in walk.values.items()}
    complete = tuple(f"{prefix}{path}" for path in walk.complete)
    return AzureMembers(values, complete), walk.diags


__all__ = ["AzureMembers", "MapKey", "check", "check_at"]
