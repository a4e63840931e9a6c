"""Azure's own names in the flat vocabulary: every writable member of the five kinds.

The friendly spec keys (`vmSize`, `image`, `scale`, `startTask`, `targetRegions`…) cover
what most specs set and carry the tool's computed numbers. Everything else a resource can
be given is written under Azure's own names and nesting — ``properties:``, ``identity:``,
``extendedLocation:`` — exactly as an ARM template or Bicep file spells it. This module
owns that second half of the vocabulary:

- the field table per kind (`reconciler.openapi.surface`, generated from Microsoft's
  OpenAPI) as a trie, and the curated overlay on it: which REST paths the friendly keys
  own (`OWNED`), how values compare (`normal`);
- flat paths for Azure-named members, built from and parsed into segment tuples (never
  re-parsed by regex): ``properties.mountConfiguration[0].nfsMountConfiguration.source``,
  map entries as ``identity.userAssignedIdentities["/subscriptions/…"]``;
- `flatten`: a REST body (or part of one) as flat paths, for live state and for the spec.

A flat value is a scalar, a tuple of scalars (lists of scalars), or canonical JSON text
(open objects such as an extension's ``settings``, map entries whose values are objects).
In a desired mapping ``None`` means "ensure absent": the spec wrote ``null`` or an empty
list/mapping there. Leaving a member out means "not managed".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from reconciler.openapi.surface import Field, SurfaceKind, writable_fields
from reconciler.state.model import Kind, canonical_duration, canonical_id

#: The top-level members that hold Azure-named members, per kind (the rest of a body is
#: ``location`` and ``tags``, which the friendly keys own).
SURFACE_KINDS: dict[Kind, SurfaceKind] = {
    Kind.POOL: SurfaceKind.POOL,
    Kind.GALLERY: SurfaceKind.GALLERY,
    Kind.IMAGE: SurfaceKind.IMAGE,
    Kind.VERSION: SurfaceKind.VERSION,
    Kind.MANAGED_IMAGE: SurfaceKind.MANAGED_IMAGE,
}
_FRIENDLY_ROOTS = frozenset({"location", "tags"})
#: Every key that holds Azure-named members in some kind (a cheap first test).
ROOT_KEYS = ("properties", "identity", "extendedLocation")
#: How every Azure-named flat path starts (no friendly path of any kind does).
ROOT_PREFIXES = tuple(f"{key}{sep}" for key in ROOT_KEYS for sep in ".[")
#: A version's target region in the field table, and the members a spec writes there under
#: Azure's names (its name, count and storage type are the friendly keys').
REGION_ITEM = ("properties", "publishingProfile", "targetRegions", "[]")
REGION_MEMBERS = ("encryption", "excludeFromLatest", "additionalReplicaSets")


@dataclass(frozen=True, slots=True)
class MapKey:
    """One entry of a map (an object with free member names), e.g. a user-assigned identity."""

    value: str


Segment = str | int | MapKey
Segments = tuple[Segment, ...]


# -- paths --------------------------------------------------------------------------------


def flat_path(segments: Segments) -> str:
    """The flat path of `segments`: dots between names, ``[i]`` items, ``["k"]`` map keys."""
    out: list[str] = []
    for segment in segments:
        if isinstance(segment, int):
            out.append(f"[{segment}]")
        elif isinstance(segment, MapKey):
            out.append("[" + json.dumps(segment.value) + "]")
        else:
            out.append(("." if out else "") + segment)
    return "".join(out)


@lru_cache(maxsize=65536)
def segments_of(path: str) -> Segments:
    """The segments of a flat path written by `flat_path` (a tokenizer, not a pattern)."""
    out: list[Segment] = []
    i, n = 0, len(path)
    while i < n:
        ch = path[i]
        if ch == ".":
            i += 1
            continue
        if ch == "[":
            if i + 1 < n and path[i + 1] == '"':
                decoder = json.JSONDecoder()
                value, end = decoder.raw_decode(path, i + 1)
                out.append(MapKey(str(value)))
                i = end + 1  # past the closing bracket
            else:
                end = path.index("]", i)
                out.append(int(path[i + 1 : end]))
                i = end + 1
            continue
        j = i
        while j < n and path[j] not in ".[":
            j += 1
        out.append(path[i:j])
        i = j
    return tuple(out)


def parent_of(path: str) -> str | None:
    """The member an Azure-named leaf belongs to (its path without the last segment), for
    telling changes that go together as one; None for a friendly path or a top member."""
    if not path.startswith(ROOT_PREFIXES):
        return None
    segments = segments_of(path)
    return flat_path(segments[:-1]) if len(segments) > 2 else None


def template_of(segments: Segments) -> tuple[str, ...]:
    """The field-table path of `segments`: items as ``[]``, map keys dropped (the map is
    the leaf)."""
    out: list[str] = []
    for segment in segments:
        if isinstance(segment, int):
            out.append("[]")
        elif isinstance(segment, MapKey):
            break
        else:
            out.append(segment)
    return tuple(out)


def is_azure_path(kind: Kind, path: str) -> bool:
    """Whether `path` is in the Azure-named half of the vocabulary (not a friendly path).

    No friendly path of any kind starts with these keys, so the answer needs no table
    (it is asked for every path of every resource a plan diffs)."""
    return path.startswith(ROOT_PREFIXES)


# -- the field table as a trie -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Node:
    """A member of the table: an object (with `children`), a list of objects (`item`), or
    a leaf (`field`)."""

    children: Mapping[str, Node] | None = None
    item: Node | None = None
    field: Field | None = None


def _insert(tree: dict[str, Any], path: tuple[str, ...], field: Field) -> None:
    node = tree
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if isinstance(node, Field):
            return
    node.setdefault(path[-1], field)


def _freeze(tree: Any) -> Node:
    if isinstance(tree, Field):
        return Node(field=tree)
    children: dict[str, Node] = {}
    item: Node | None = None
    for name, sub in tree.items():
        if name == "[]":
            item = _freeze(sub)
        else:
            children[name] = _freeze(sub)
    if item is not None and not children:
        return Node(item=item)
    return Node(children=children)


@cache
def table(kind: Kind) -> Node:
    """The writable members of `kind` as a trie of `Node`s (lists of objects via ``item``)."""
    tree: dict[str, Any] = {}
    for field in writable_fields(SURFACE_KINDS[kind]):
        _insert(tree, field.path, field)
    return _freeze(tree)


@cache
def roots(kind: Kind) -> tuple[str, ...]:
    """The spec keys that hold Azure-named members of `kind` (``properties``, ``identity``…)."""
    if kind not in SURFACE_KINDS:
        return ()
    children = table(kind).children or {}
    return tuple(name for name in children if name not in _FRIENDLY_ROOTS)


def node_at(kind: Kind, template: tuple[str, ...]) -> Node | None:
    """The table node at a field-table path, or None when the table has no such member."""
    node: Node | None = table(kind)
    for part in template:
        if node is None:
            return None
        if part == "[]":
            node = node.item
        elif node.children is not None:
            node = node.children.get(part)
        else:
            return None
    return node


@lru_cache(maxsize=65536)
def field_of(kind: Kind, path: str) -> Field | None:
    """The leaf of the table a flat Azure-named path is (or lies in), or None."""
    node = node_at(kind, template_of(segments_of(path)))
    return node.field if node is not None else None


# -- the curated overlay -------------------------------------------------------------------------

_VMC = "properties.deploymentConfiguration.virtualMachineConfiguration"
_NET = "properties.networkConfiguration"

#: REST paths (field-table form) the friendly keys own: written there, never under Azure's
#: names. "always" ones are the tool's (ownership marks, computed sizing) or required
#: friendly keys; the others conflict only when the friendly key is set too.
OWNED: dict[Kind, tuple[tuple[str, str, bool], ...]] = {
    Kind.POOL: (
        ("properties.vmSize", "vmSize", True),
        (f"{_VMC}.imageReference", "image", True),
        (f"{_VMC}.nodeAgentSkuId", "nodeAgentSkuId", True),
        ("properties.scaleSettings", "scale", True),
        ("properties.metadata", "metadata", True),
        ("properties.displayName", "displayName", False),
        ("properties.taskSlotsPerNode", "taskSlotsPerNode", False),
        ("properties.interNodeCommunication", "interNodeCommunication", False),
        ("properties.startTask.commandLine", "startTask.commandLine", False),
        ("properties.startTask.environmentSettings", "startTask.environment", False),
        ("properties.startTask.waitForSuccess", "startTask.waitForSuccess", False),
        ("properties.startTask.maxTaskRetryCount", "startTask.maxTaskRetryCount", False),
        ("properties.startTask.userIdentity.autoUser", "startTask.userIdentity", False),
        (f"{_NET}.subnetId", "network.subnetId", False),
        (f"{_NET}.publicIPAddressConfiguration", "network.publicIPs", False),
        (f"{_NET}.endpointConfiguration", "network.inboundNatPools", False),
    ),
    Kind.GALLERY: (("properties.description", "description", False),),
    Kind.IMAGE: (
        ("properties.osType", "osType", True),
        ("properties.osState", "osState", True),
        ("properties.identifier", "identifier", True),
        ("properties.hyperVGeneration", "hyperVGeneration", False),
        ("properties.architecture", "architecture", False),
        ("properties.description", "description", False),
    ),
    Kind.VERSION: (
        ("properties.storageProfile.source", "source", True),
        ("properties.storageProfile.osDiskImage.source", "source", True),
        # A data disk's source and lun are `source.snapshots.dataDisks`; its other members
        # (hostCaching) keep Azure's names, items in lun order.
        ("properties.storageProfile.dataDiskImages.source", "source.snapshots.dataDisks", False),
        ("properties.storageProfile.dataDiskImages.lun", "source.snapshots.dataDisks", False),
        ("properties.publishingProfile.targetRegions", "targetRegions", True),
        ("properties.publishingProfile.excludeFromLatest", "excludeFromLatest", True),
        ("properties.publishingProfile.endOfLifeDate", "endOfLifeDate", False),
    ),
    Kind.MANAGED_IMAGE: (
        ("properties.storageProfile.osDisk.osType", "osType", True),
        ("properties.storageProfile.osDisk.snapshot", "source.osDiskSnapshot", True),
        ("properties.storageProfile.osDisk.managedDisk", "source.osDiskManagedDisk", True),
        ("properties.storageProfile.osDisk.blobUri", "source.osDiskBlobUri", True),
        ("properties.sourceVirtualMachine", "source.virtualMachine", True),
        ("properties.storageProfile.dataDisks.snapshot", "source.dataDiskSnapshots", False),
        ("properties.storageProfile.dataDisks.managedDisk", "source.dataDiskManagedDisks", False),
        ("properties.storageProfile.dataDisks.blobUri", "source.dataDiskBlobUris", False),
        ("properties.storageProfile.dataDisks.lun", "source", False),
        ("properties.hyperVGeneration", "hyperVGeneration", False),
    ),
}


#: A managed image's `source` kinds: the spec's OS disk key (also its flat path under
#: ``source.``) and the data disk list of the same kind (a virtual machine brings its own
#: data disks; the others may be mixed, one kind per disk).
MANAGED_IMAGE_SOURCES: dict[str, str | None] = {
    "osDiskSnapshot": "dataDiskSnapshots",
    "osDiskManagedDisk": "dataDiskManagedDisks",
    "osDiskBlobUri": "dataDiskBlobUris",
    "virtualMachine": None,
}

#: Writable members Azure takes in a request and never answers, beside the ones the table
#: marks secret: written when the spec declares them, never compared with what Azure
#: returns. A version's `restore` asks Azure to restore a soft-deleted version.
WRITE_ONLY: dict[Kind, frozenset[tuple[str, ...]]] = {
    Kind.VERSION: frozenset({("properties", "restore")}),
}


@cache  # asked for every member of every resource read; the overlay never changes
def owner_of(kind: Kind, template: tuple[str, ...]) -> tuple[str, bool] | None:
    """The friendly key owning the field-table path `template` (and whether always)."""
    dotted = ".".join(p for p in template if p != "[]")
    for prefix, friendly, always in OWNED.get(kind, ()):
        if dotted == prefix or dotted.startswith(prefix + "."):
            return friendly, always
    return None


def _owned(kind: Kind, segments: Segments, include_owned: bool) -> bool:
    """Whether a friendly key owns `segments` (always; or at all, unless `include_owned`)."""
    owner = owner_of(kind, template_of(segments))
    return owner is not None and (owner[1] or not include_owned)


# -- flattening --------------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """Open objects compare as JSON text with sorted keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def flatten(
    kind: Kind,
    doc: Mapping[str, Any],
    *,
    groups: frozenset[str] | None = None,
    include_owned: bool = False,
) -> dict[str, Any]:
    """The Azure-named writable members of a REST body as flat paths.

    `groups` limits the walk to top-level groups (``identity``, ``properties.<member>``);
    None walks all of them. Read-only members (not in the table) are left out; so are the
    paths the friendly vocabulary owns: always those it always owns, the others unless
    `include_owned` (a spec may write those under Azure's names when it leaves the
    friendly key out).
    """
    out: dict[str, Any] = {}
    root = table(kind).children or {}
    for name in roots(kind):
        value = doc.get(name)
        node = root.get(name)
        if value is None or node is None:
            continue
        if name == "properties" and node.children is not None and isinstance(value, Mapping):
            for member, sub in value.items():
                group = f"properties.{member}"
                child = node.children.get(member)
                if child is None or sub is None or (groups is not None and group not in groups):
                    continue
                _flatten(kind, child, sub, ("properties", member), out, include_owned)
        elif groups is None or name in groups:
            if name == "identity" and str(value.get("type", "")).lower() == "none":
                continue  # Azure's spelling of "no identity"
            _flatten(kind, node, value, (name,), out, include_owned)
    return out


def flatten_at(kind: Kind, template: tuple[str, ...], value: Any) -> dict[str, Any]:
    """The writable members of `value`, found at field-table path `template` (an item of
    a list the friendly vocabulary keys, such as a version's target region), as paths
    relative to it."""
    node = node_at(kind, template)
    out: dict[str, Any] = {}
    if node is not None:
        _flatten(kind, node, value, (), out, include_owned=True)
    return out


def _flatten(
    kind: Kind, node: Node, value: Any, at: Segments, out: dict[str, Any], include_owned: bool
) -> None:
    if value is None:
        return
    if at and _owned(kind, at, include_owned):
        return
    if node.field is not None:
        for path, leaf in leaf_paths(node.field, value, at):
            out[path] = leaf
        return
    if node.item is not None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                _flatten(kind, node.item, item, (*at, index), out, include_owned)
        return
    if node.children is not None and isinstance(value, Mapping):
        for name, sub in value.items():
            child = node.children.get(name)
            if child is not None:
                _flatten(kind, child, sub, (*at, name), out, include_owned)


def leaf_paths(field: Field, value: Any, at: Segments) -> Iterator[tuple[str, Any]]:
    """The flat paths and values of one leaf's `value` at `at` (a map gives one per key)."""
    if field.type == "map" and isinstance(value, Mapping):
        for key, item in value.items():
            key = canonical_id(key) if str(key).startswith("/subscriptions/") else key
            if isinstance(item, Mapping):
                item = {k: v for k, v in item.items() if k not in _MAP_ITEM_STATUS}
                item = canonical_json(item)
            yield flat_path((*at, MapKey(str(key)))), item
        return
    if field.type == "object":
        yield flat_path(at), value if isinstance(value, str) else canonical_json(value)
        return
    if isinstance(value, list):
        yield flat_path(at), tuple(value)
        return
    yield flat_path(at), value


# Members of a map entry that Azure reports and a request never sends (a user-assigned
# identity's principalId/clientId).
_MAP_ITEM_STATUS = frozenset({"principalId", "clientId"})


def groups_of(paths: Iterator[str] | tuple[str, ...] | list[str]) -> frozenset[str]:
    """The top-level groups (``identity``, ``properties.<member>``) that `paths` lie in."""
    out: set[str] = set()
    for path in paths:
        if not path.startswith(ROOT_PREFIXES):
            continue  # a friendly path (a target region's members)
        segs = segments_of(path)
        if not segs:
            continue
        if segs[0] == "properties" and len(segs) > 1 and isinstance(segs[1], str):
            out.add(f"properties.{segs[1]}")
        else:
            out.add(str(segs[0]))
    return frozenset(out)


# -- values -------------------------------------------------------------------------------------

_ENUM_CANON: dict[tuple[str, ...], dict[str, str]] = {}


def _enum_canon(field: Field) -> dict[str, str]:
    known = _ENUM_CANON.get(field.path)
    if known is None:
        known = {v.casefold(): v for v in field.enum}
        _ENUM_CANON[field.path] = known
    return known


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}")


def normal(kind: Kind, path: str, value: Any) -> Any:
    """An Azure-named value in the form it is compared in: ids case-blind, durations and
    instants canonical, enum values in the table's spelling (Azure echoes its own casing)."""
    if isinstance(value, tuple):
        return tuple(sorted((normal(kind, path, v) for v in value), key=str))
    if not isinstance(value, str):
        return value
    if value.startswith("/subscriptions/"):
        return canonical_id(value)
    field = field_of(kind, path)
    if field is None:
        return value
    if field.enum:
        return _enum_canon(field).get(value.casefold(), value)
    if field.format == "duration":
        try:
            return canonical_duration(value)
        except ValueError:
            return value
    if field.format == "date-time" and _DATE_TIME.match(value):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return parsed.isoformat(timespec="seconds")
    return value


def default_of(kind: Kind, path: str) -> Any:
    """The default the table states for an Azure-named leaf (Azure fills it in), or None."""
    if not is_azure_path(kind, path):
        return None
    field = field_of(kind, path)
    return field.default if field is not None else None


def is_secret_path(kind: Kind, path: str) -> bool:
    """Whether `path` is a member Azure marks secret (never returned on read)."""
    if not is_azure_path(kind, path):
        return False
    field = field_of(kind, path)
    return field is not None and field.secret


def is_unanswered_path(kind: Kind, path: str) -> bool:
    """Whether Azure never returns `path`: a secret, or a write-only member (`WRITE_ONLY`).
    Such a member is written when declared and never compared."""
    if not is_azure_path(kind, path):
        return False
    field = field_of(kind, path)
    return field is not None and (field.secret or field.path in WRITE_ONLY.get(kind, ()))


__all__ = [
    "MANAGED_IMAGE_SOURCES",
    "OWNED",
    "SURFACE_KINDS",
    "WRITE_ONLY",
    "MapKey",
    "Node",
    "Segment",
    "Segments",
    "canonical_json",
    "default_of",
    "field_of",
    "flat_path",
    "flatten",
    "flatten_at",
    "groups_of",
    "is_azure_path",
    "is_secret_path",
    "is_unanswered_path",
    "node_at",
    "normal",
    "owner_of",
    "parent_of",
    "roots",
    "segments_of",
    "table",
    "template_of",
]
