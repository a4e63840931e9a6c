"""Derive the sandbox's table of request-body members from the committed OpenAPI specs.

`reconciler/sandbox/members.json` is what the sandbox consults at run time to refuse a
PUT/PATCH body member its models do not define (the sandbox never reads the specs). This
module rebuilds that table from the swaggers for every PUT/PATCH operation with a body
that the sandbox routes; `test_members_table.py` checks the shipped file against it, and
``python -m tests.conformance.members_table`` rewrites the file after a spec update.

Table format: ``operations`` maps an operationId to its body's model; ``types`` maps a
model name to its members, each ``null`` (a value not checked further: a scalar, a map or
an open object), ``"T"`` (an object of model T), ``"T[]"`` (a list of T) or ``"-"``
(read-only: accepted and ignored, as Azure ignores it). A model the specs leave open
(``additionalProperties``, or a parent the excerpts do not hold) has the member ``"*"``:
members it does not list are let through. Maps and free-form objects are not listed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.support import openapi

TABLE = Path(__file__).resolve().parents[2] / "reconciler" / "sandbox" / "members.json"
NOTE = (
    "Generated from the Azure REST specs by tests/conformance/members_table.py; do not edit. "
    "Members: null = not checked further, T = object of model T, T[] = list of T, - = read-only."
)


def _served_body_operations() -> list[openapi.OperationInfo]:
    from reconciler.sandbox.app import _ROUTER

    ops = []
    for op in openapi.registry().operations:
        if op.method not in ("PUT", "PATCH") or not op.body_parameter:
            continue
        try:
            _ROUTER.match(op.method, re.sub(r"\{[^}]+\}", "x1", op.path))
        except Exception:
            continue
        ops.append(op)
    return ops


class _Builder:
    def __init__(self) -> None:
        self.reg = openapi.registry()
        self.types: dict[str, dict[str, str | None]] = {}
        self.keys: dict[tuple[str, str], str] = {}

    def model(self, rel: str, name: str) -> str | None:
        """Add model `name` of file `rel` (and what it holds); None when the model is open.

        Two specs may define a model of the same name: the later one is keyed
        ``name@<spec folder>`` (the sandbox names the model without the suffix).
        """
        if (rel, name) in self.keys:
            key = self.keys[(rel, name)]
            return key if key in self.types else None
        key = name
        if key in self.keys.values():
            key = f"{name}@{rel.split('/', 1)[0]}"
        self.keys[(rel, name)] = key
        schema = self.reg.doc(rel)["definitions"][name]
        members: dict[str, str | None] = {}
        for srel, sname in [(rel, name), *self.reg._subtypes_of(rel, name)]:
            sschema = self.reg.doc(srel)["definitions"][sname]
            props, _, _, additional = self.reg._flatten(sschema, srel)
            if not props:
                return None  # a map or a free-form object
            if additional not in (None, False):
                members["*"] = None  # open: other members are not refused
            for member, prop in props.items():
                members[member] = "-" if self.reg._read_only(prop) else self._member(*prop)
        if not isinstance(schema, dict):
            return None
        self.types[key] = members
        return key

    def _member(self, schema: Any, rel: str) -> str | None:
        items = False
        raw, rrel, pointer = self.reg._deref(schema, rel)
        if isinstance(raw, dict) and raw.get("type") == "array" and "items" in raw:
            items = True
            raw, rrel, pointer = self.reg._deref(raw["items"], rrel)
        if not (isinstance(raw, dict) and pointer and pointer.startswith("/definitions/")):
            return None
        if not (raw.get("properties") or raw.get("allOf")):
            return None
        name = self.model(rrel, pointer.rsplit("/", 1)[-1])
        if name is None:
            return None
        return f"{name}[]" if items else name


def build() -> dict[str, Any]:
    """The table as the committed specs define it."""
    builder = _Builder()
    operations = {}
    for op in _served_body_operations():
        root = op.body_schema.rsplit(".definitions.", 1)[-1] if op.body_schema else None
        operations[op.operation_id] = builder.model(op.spec, root) if root else None
    return {
        "note": NOTE,
        "operations": dict(sorted(operations.items())),
        "types": {k: dict(sorted(v.items())) for k, v in sorted(builder.types.items())},
    }


def render(table: dict[str, Any]) -> str:
    return json.dumps(table, indent=1) + "\n"


if __name__ == "__main__":
    TABLE.write_text(render(build()), encoding="utf-8")
    print(f"wrote {TABLE.name}")
