"""The writable surface of each managed resource kind, walked from the committed swaggers.

For each kind (Batch pool, gallery, image definition, image version, managed image) the
body of its create operation is walked: ``$ref`` and ``allOf`` resolved (across files by
trailing path, as the upstream README prescribes), read-only members dropped, and every
writable leaf listed with its REST path (a tuple; ``"[]"`` stands for any list item and
``"*"`` for any map key), type, enum, pattern, bounds, default and whether Azure marks it
secret. A leaf is a scalar, a list of scalars, a map, or an object the swagger leaves open.

This is the table the surface work builds on; nothing here is hand-written per field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from reconciler.openapi import SPECS_DIR
from reconciler.openapi.refs import SwaggerFiles


class SurfaceKind(StrEnum):
    """The resource kinds whose whole writable surface the tool manages."""

    POOL = "pool"
    GALLERY = "gallery"
    IMAGE = "image"
    VERSION = "version"
    MANAGED_IMAGE = "managedImage"


#: kind -> (swagger file, create operationId)
CREATE_OPERATIONS: dict[SurfaceKind, tuple[str, str]] = {
    SurfaceKind.POOL: ("batch/2025-06-01/openapi.json", "Pool_Create"),
    SurfaceKind.GALLERY: ("compute-gallery/2026-03-03/GalleryRP.json", "Galleries_CreateOrUpdate"),
    SurfaceKind.IMAGE: (
        "compute-gallery/2026-03-03/GalleryRP.json",
        "GalleryImages_CreateOrUpdate",
    ),
    SurfaceKind.VERSION: (
        "compute-gallery/2026-03-03/GalleryRP.json",
        "GalleryImageVersions_CreateOrUpdate",
    ),
    SurfaceKind.MANAGED_IMAGE: (
        "compute-images/2026-04-01/ComputeRP.images-excerpt.json",
        "Images_CreateOrUpdate",
    ),
}

#: Members ARM sets from the URL or reports itself, though the swaggers leave them writable.
_NOT_A_PROPERTY = frozenset({"id", "name", "type", "etag"})
_MAX_DEPTH = 12

Path_ = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Field:
    """One writable leaf of a kind's request body."""

    path: Path_
    type: str  # string | integer | number | boolean | array | object | map | any
    item_type: str | None = None  # for arrays of scalars
    enum: tuple[str, ...] = ()
    closed_enum: bool = False  # x-ms-enum modelAsString false (or a bare enum)
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None
    secret: bool = False
    format: str | None = None
    required: bool = False

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


class _Specs(SwaggerFiles):
    """The committed swagger files, walked for their writable members."""

    def deref(self, node: Any, rel: str) -> tuple[Any, str]:
        """Follow ``$ref`` chains; an unresolvable one gives an open object."""
        for _ in range(32):
            if not (isinstance(node, dict) and "$ref" in node):
                return node, rel
            found = self.resolve(rel, node["$ref"])
            if found is None:
                return {}, rel
            rel, _, node = found
        return node, rel

    def flatten(
        self, schema: Any, rel: str, depth: int = 0
    ) -> tuple[dict[str, Any], set[str], bool]:
        """Properties (each with its file), required names, and whether the object is open."""
        schema, rel = self.deref(schema, rel)
        props: dict[str, tuple[Any, str]] = {}
        required: set[str] = set(schema.get("required") or [])
        open_ = not schema.get("properties") and not schema.get("allOf")
        for part in schema.get("allOf", []) if depth < _MAX_DEPTH else []:
            p, r, o = self.flatten(part, rel, depth + 1)
            props.update(p)
            required |= r
            open_ = open_ and o
        for name, sub in (schema.get("properties") or {}).items():
            props[name] = (sub, rel)
        return props, required, open_

    def operation_body(self, rel: str, operation_id: str) -> tuple[Any, str]:
        for item in (self.doc(rel).get("paths") or {}).values():
            for op in item.values():
                if isinstance(op, dict) and op.get("operationId") == operation_id:
                    for param in op.get("parameters") or []:
                        param, prel = self.deref(param, rel)
                        if param.get("in") == "body":
                            return param["schema"], prel
        raise KeyError(f"{operation_id} has no body in {rel}")


def _walk(
    specs: _Specs, schema: Any, rel: str, path: Path_, required: bool, seen: tuple[str, ...]
) -> list[Field]:
    raw, srel = specs.deref(schema, rel)
    if not isinstance(raw, dict) or True in (schema.get("readOnly"), raw.get("readOnly")):
        return []
    ident = json.dumps(schema, sort_keys=True) + srel if "$ref" in schema else ""
    type_ = raw.get("type") or ("object" if raw.get("properties") or raw.get("allOf") else None)
    secret = bool(schema.get("x-ms-secret") or raw.get("x-ms-secret"))
    if type_ == "object" or type_ is None:
        additional = raw.get("additionalProperties")
        props, req, open_ = specs.flatten(raw, srel)
        if props and len(path) < _MAX_DEPTH and ident not in seen:
            fields: list[Field] = []
            for name, (sub, prel) in props.items():
                if not path and name in _NOT_A_PROPERTY:
                    continue
                fields += _walk(specs, sub, prel, (*path, name), name in req, (*seen, ident))
            return fields
        kind = "map" if isinstance(additional, dict) else "object"
        if type_ is None and not raw and "$ref" in schema:
            # A reference the committed excerpt does not carry (an enum defined in a file
            # left out): its type is unknown, so any scalar is taken.
            kind = "any"
        return (
            [Field(path=path, type=kind, secret=secret, required=required)]
            if open_ or additional
            else []
        )
    if type_ == "array":
        items, irel = specs.deref(raw.get("items") or {}, srel)
        if items.get("type") in (None, "object") and (
            items.get("properties") or items.get("allOf")
        ):
            return _walk(specs, raw["items"], srel, (*path, "[]"), False, (*seen, ident))
        return [
            Field(
                path=path,
                type="array",
                item_type=items.get("type"),
                secret=secret,
                required=required,
            )
        ]
    enum = raw.get("enum") or ()
    ms_enum = raw.get("x-ms-enum") or {}
    return [
        Field(
            path=path,
            type=str(type_),
            enum=tuple(str(v) for v in enum),
            closed_enum=bool(enum) and not ms_enum.get("modelAsString", False),
            pattern=raw.get("pattern"),
            minimum=raw.get("minimum"),
            maximum=raw.get("maximum"),
            default=raw.get("default"),
            secret=secret,
            format=raw.get("format"),
            required=required,
        )
    ]


@cache
def writable_fields(kind: SurfaceKind) -> tuple[Field, ...]:
    """Every writable leaf of `kind`'s create body, in the swagger's order."""
    specs = _Specs(SPECS_DIR)
    rel, operation_id = CREATE_OPERATIONS[kind]
    schema, srel = specs.operation_body(rel, operation_id)
    return tuple(_walk(specs, schema, srel, (), False, ()))


__all__ = ["CREATE_OPERATIONS", "Field", "SurfaceKind", "writable_fields"]
