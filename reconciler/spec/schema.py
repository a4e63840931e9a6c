"""The JSON Schema of a spec file, generated from the pydantic models.

`schemas/spec.schema.json` is this text, checked in so editors (yaml-language-server,
via the modeline at the top of each example) can complete and check specs. A test
fails when the file is stale; `make schema` (``reconcile schema``) rewrites it.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.openapi.surface import Field
from reconciler.secrets import REFERENCE
from reconciler.spec.models import SpecDocument
from reconciler.state import surface
from reconciler.state.model import Kind
from reconciler.state.surface import Node

# The spec models that carry Azure-named members, and their kind.
_AZURE_MODELS = {
    "Gallery": Kind.GALLERY,
    "ImageDefinition": Kind.IMAGE,
    "ImageVersion": Kind.VERSION,
    "ManagedImage": Kind.MANAGED_IMAGE,
    "Pool": Kind.POOL,
}
_SECRET_REF = f"^{REFERENCE}$"

SCHEMA_PATH = "schemas/spec.schema.json"


def spec_json_schema() -> dict[str, Any]:
    """The schema as a dict (draft 2020-12, keys as written in YAML)."""
    schema = SpecDocument.model_json_schema(by_alias=True, mode="validation")
    ordered = {
        "$schema": schema.pop("$schema"),
        "title": schema.pop("title"),
        "description": schema.pop("description", ""),
    }
    for name, kind in _AZURE_MODELS.items():
        members = schema["$defs"][name]["properties"]
        root = surface.table(kind).children or {}
        for key in surface.roots(kind):
            members[key] = _node_schema(kind, root[key], (key,))
    region = schema["$defs"]["TargetRegion"]["properties"]
    item = surface.node_at(Kind.VERSION, surface.REGION_ITEM)
    for key, child in ((item.children or {}) if item is not None else {}).items():
        if key in region and key not in ("name", "storageAccountType"):
            region[key] = _node_schema(Kind.VERSION, child, (*surface.REGION_ITEM, key))
    ordered.update(schema)
    return ordered


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """null (or empty) means "ensure absent" for every Azure-named member."""
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _node_schema(kind: Kind, node: Node, at: tuple[str, ...]) -> dict[str, Any]:
    if node.field is not None:
        return _field_schema(node.field)
    if node.item is not None:
        return _nullable({"type": "array", "items": _node_schema(kind, node.item, (*at, "[]"))})
    props: dict[str, Any] = {}
    for name, child in (node.children or {}).items():
        owner = surface.owner_of(kind, (*at, name))
        if owner is not None and owner[1]:
            continue  # always set through a friendly key
        props[name] = _node_schema(kind, child, (*at, name))
    return _nullable({"type": "object", "properties": props, "additionalProperties": False})


def _field_schema(field: Field) -> dict[str, Any]:
    if field.secret:
        return _nullable({"type": "string", "pattern": _SECRET_REF})
    if field.type == "map":
        return _nullable({"type": "object"})
    if field.type == "object":
        return _nullable({"type": "object"})
    if field.type == "array":
        items: dict[str, Any] = {"type": field.item_type or "string"}
        return _nullable({"type": "array", "items": items})
    out: dict[str, Any] = {"type": field.type}
    if field.enum:
        out["enum"] = list(field.enum)
    if field.minimum is not None:
        out["minimum"] = field.minimum
    if field.maximum is not None:
        out["maximum"] = field.maximum
    if field.format in ("date-time", "date", "duration", "uri"):
        out["format"] = field.format
    return _nullable(out)


def render_schema() -> str:
    """The schema file's exact text (stable: two-space indent, trailing newline)."""
    return json.dumps(spec_json_schema(), indent=2, ensure_ascii=False) + "\n"
