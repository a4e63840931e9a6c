"""Live-state snapshots as JSON: golden tests' ``live.json`` and debugging dumps.

A snapshot is ``{"scopes": [...], "resources": [{kind, id, name, location,
properties, etag?, ...}]}``; lists in `properties` become tuples (the flat vocabulary's
sorted tuples). Missing ``address`` is derived from the id the way the planner names
live resources. Pure: reading and writing files is the caller's business.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from reconciler.state.model import Kind, LiveResource, LiveState, RegionReplication, canonical_id
from reconciler.state.scope import address_for

_OPTIONAL = tuple(
    f.name
    for f in fields(LiveResource)
    if f.name not in ("address", "kind", "id", "name", "location", "properties", "replication")
)


def live_state_from_dict(data: Mapping[str, Any]) -> LiveState:
    """A `LiveState` from its JSON form."""

    resources: dict[str, LiveResource] = {}
    for item in data.get("resources", ()):
        kind = Kind(item["kind"])
        resource_id = canonical_id(item["id"])
        props = {
            k: tuple(v) if isinstance(v, list) else v for k, v in item.get("properties", {}).items()
        }
        extra = {name: item[name] for name in _OPTIONAL if name in item}
        if "resize_errors" in extra:
            extra["resize_errors"] = tuple(extra["resize_errors"])
        resource = LiveResource(
            address=item.get("address") or address_for(kind, resource_id),
            kind=kind,
            id=resource_id,
            name=item.get("name") or resource_id.rsplit("/", 1)[-1],
            location=item.get("location", ""),
            properties=props,
            replication=tuple(RegionReplication(**r) for r in item.get("replication", ())),
            **extra,
        )
        resources[resource.address] = resource
    return LiveState(resources=resources, scopes=tuple(data.get("scopes", ())))


def live_state_to_dict(state: LiveState) -> dict[str, Any]:
    """The JSON form of a `LiveState` (stable key order)."""
    out = []
    for address in sorted(state.resources):
        r = state.resources[address]
        item: dict[str, Any] = {
            "address": r.address,
            "kind": r.kind.value,
            "id": r.id,
            "name": r.name,
            "location": r.location,
            "properties": {
                k: list(v) if isinstance(v, tuple) else v for k, v in sorted(r.properties.items())
            },
        }
        for name in _OPTIONAL:
            value = getattr(r, name)
            if value not in (None, ()):
                item[name] = list(value) if isinstance(value, tuple) else value
        if r.replication:
            item["replication"] = [
                {"region": x.region, "state": x.state, "progress": x.progress, "details": x.details}
                for x in r.replication
            ]
        out.append(item)
    return {"scopes": list(state.scopes), "resources": out}


def load_live_state(path: str | Path) -> LiveState:
    """Read a snapshot file."""
    return live_state_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
