"""Writes merged into what Azure holds: nothing the spec does not declare is ever lost.

Azure's update operations replace each top-level property they are sent (a Batch pool's
``startTask`` or ``deploymentConfiguration``, a version's ``publishingProfile``, a
resource's ``tags``). A write built from the spec alone would therefore drop every
member the spec does not model — a pool's container configuration, disks, security
profile or start-task resource files. This module builds each group a write touches as
read-modify-write: the live group as Azure returned it, the declared paths applied on top
(`overlay`), the paths the plan removes taken out (`remove`), read-only members dropped
(`writable`, from the committed OpenAPI surface).

It owns:
- where each flat path of the vocabulary lives in the REST body (`location`);
- `update_body`: the PATCH body of an update (only the touched groups, each merged);
- `replacement_base` / `create_body`: what a replacement pool keeps from the pool it
  replaces (every writable member the spec does not declare), and `uncopyable`: the
  secrets Azure never returns, without which a copy would be incomplete.

Pure JSON in, JSON out: no SDK, no I/O.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from reconciler.openapi.surface import SurfaceKind, writable_fields
from reconciler.state import surface
from reconciler.state.model import (
    APPLIED_METADATA_KEY,
    APPLIED_TAG,
    Kind,
    canonical_location,
)
from reconciler.state.secret_members import missing_secrets

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Key:
    """One item of a list keyed by a member (``metadata`` by ``name``, ...)."""

    value: str


Segment = str | Key | int  # int: a list item by position (Azure-named lists)
Location = tuple[Segment, ...]

_P = ("properties",)
_VMC = (*_P, "deploymentConfiguration", "virtualMachineConfiguration")
_NET = (*_P, "networkConfiguration")
_PUBLISHING = (*_P, "publishingProfile")


def _segments(tail: str) -> Location:
    """A friendly path's tail in Azure's names (``encryption.dataDiskImages[0].lun``)."""
    return tuple(s for s in surface.segments_of(tail) if not isinstance(s, surface.MapKey))


def _tags(m: re.Match[str]) -> Location:
    return ("tags", m[1])


# flat path (regex) -> its REST location; the first match wins.
_LOCATIONS: dict[Kind, tuple[tuple[str, Callable[[re.Match[str]], Location]], ...]] = {
    Kind.POOL: (
        (r"(displayName|vmSize|interNodeCommunication|taskSlotsPerNode)", lambda m: (*_P, m[1])),
        (r"image\.id", lambda m: (*_VMC, "imageReference", "id")),
        (
            r"image\.(publisher|offer|sku|version)",
            lambda m: (*_VMC, "imageReference", m[1]),
        ),
        (r"nodeAgentSkuId", lambda m: (*_VMC, "nodeAgentSkuId")),
        (r"scale\..+", lambda m: (*_P, "scaleSettings")),
        (
            r"startTask\.(commandLine|waitForSuccess|maxTaskRetryCount)",
            lambda m: (*_P, "startTask", m[1]),
        ),
        (
            r"startTask\.environment\.(.+)",
            lambda m: (*_P, "startTask", "environmentSettings", Key(m[1])),
        ),
        (
            r"startTask\.userIdentity\.(elevationLevel|scope)",
            lambda m: (*_P, "startTask", "userIdentity", "autoUser", m[1]),
        ),
        (r"network\.subnetId", lambda m: (*_NET, "subnetId")),
        (
            r"network\.publicIPAddressProvisioningType",
            lambda m: (*_NET, "publicIPAddressConfiguration", "provision"),
        ),
        (r"network\.publicIPs", lambda m: (*_NET, "publicIPAddressConfiguration", "ipAddressIds")),
        (
            r"network\.inboundNatPools\[([^\]]+)\]\.(\w+)",
            lambda m: (*_NET, "endpointConfiguration", "inboundNatPools", Key(m[1]), m[2]),
        ),
        (r"metadata\.(.+)", lambda m: (*_P, "metadata", Key(m[1]))),
        (r"tags\.(.+)", _tags),
    ),
    Kind.GALLERY: ((r"description", lambda m: (*_P, "description")), (r"tags\.(.+)", _tags)),
    Kind.IMAGE: ((r"description", lambda m: (*_P, "description")), (r"tags\.(.+)", _tags)),
    Kind.VERSION: (
        (
            r"targetRegions\[([^\]]+)\]\.replicas",
            lambda m: (*_PUBLISHING, "targetRegions", Key(m[1]), "regionalReplicaCount"),
        ),
        (
            r"targetRegions\[([^\]]+)\]\.storageAccountType",
            lambda m: (*_PUBLISHING, "targetRegions", Key(m[1]), "storageAccountType"),
        ),
        (
            r"targetRegions\[([^\]]+)\]\.(.+)",
            lambda m: (*_PUBLISHING, "targetRegions", Key(m[1]), *_segments(m[2])),
        ),
        (r"(excludeFromLatest|endOfLifeDate)", lambda m: (*_PUBLISHING, m[1])),
        (r"tags\.(.+)", _tags),
    ),
    Kind.MANAGED_IMAGE: ((r"tags\.(.+)", _tags),),
}

# Lists whose items are matched by a member, named by the list's own key.
_KEYED_LISTS: dict[str, tuple[str, Callable[[str], str]]] = {
    "metadata": ("name", str),
    "environmentSettings": ("name", str),
    "inboundNatPools": ("name", str),
    "targetRegions": ("name", canonical_location),  # Azure answers "East US" for eastus
}

# Groups the spec declares completely (every writable member has a flat path): sent as
# declared, never merged — a pool's scale mode replaces the other one.
_WHOLE_GROUPS: dict[Kind, frozenset[Location]] = {
    Kind.POOL: frozenset({(*_P, "scaleSettings")}),
}

# Objects replaced whole when declared: their members are alternatives, and keeping a
# live one beside the declared one would make a body Azure refuses (an image by id and a
# Marketplace publisher/offer/sku at once).
_WHOLE_OBJECTS: frozenset[Location] = frozenset({(*_VMC, "imageReference")})

# Members that a declared sibling excludes: a start task runs as an auto user or as a
# named one, never both.
_EXCLUDES: dict[Location, tuple[str, str]] = {
    (*_P, "startTask", "userIdentity"): ("autoUser", "userName"),
}

_RECORDS: dict[Location, str] = {("tags",): APPLIED_TAG, (*_P, "metadata"): APPLIED_METADATA_KEY}

_SURFACE = {
    Kind.POOL: SurfaceKind.POOL,
    Kind.GALLERY: SurfaceKind.GALLERY,
    Kind.IMAGE: SurfaceKind.IMAGE,
    Kind.VERSION: SurfaceKind.VERSION,
    Kind.MANAGED_IMAGE: SurfaceKind.MANAGED_IMAGE,
}


@cache
def _compiled(
    kind: Kind,
) -> tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Location]], ...]:
    return tuple((re.compile(p + "$"), build) for p, build in _LOCATIONS.get(kind, ()))


def location(kind: Kind, path: str) -> Location | None:
    """Where the flat `path` of a `kind` resource lives in its REST body; None if unknown."""
    if surface.is_azure_path(kind, path):
        # Azure-named paths are REST paths already: their segments are the location.
        return tuple(
            s.value if isinstance(s, surface.MapKey) else s for s in surface.segments_of(path)
        )
    for pattern, build in _compiled(kind):
        match = pattern.match(path)
        if match:
            return build(match)
    return None


def group_of(loc: Location) -> Location:
    """The top-level property an update replaces as a whole: ``tags`` or ``properties.<x>``."""
    return loc[:1] if loc[0] != "properties" else loc[:2]


# -- walking JSON ---------------------------------------------------------------------------


def _key_of(list_name: str) -> tuple[str, Callable[[str], str]] | None:
    return _KEYED_LISTS.get(list_name)


def _find(items: list[Any], list_name: str, key: str) -> int | None:
    spec = _key_of(list_name)
    if spec is None:
        return None
    member, canon = spec
    for index, item in enumerate(items):
        if isinstance(item, Mapping) and canon(str(item.get(member, ""))) == canon(key):
            return index
    return None


def get_at(doc: Any, loc: Location) -> Any:
    """The value at `loc` in `doc`, or None."""
    node = doc
    name = ""
    for segment in loc:
        if isinstance(segment, int):
            if not isinstance(node, list) or not 0 <= segment < len(node):
                return None
            node = node[segment]
        elif isinstance(segment, Key):
            if not isinstance(node, list):
                return None
            index = _find(node, name, segment.value)
            if index is None:
                return None
            node = node[index]
        else:
            if not isinstance(node, Mapping):
                return None
            node = node.get(segment)
            name = segment
    return node


def put_at(doc: Json, loc: Location, value: Any) -> None:
    """Set `loc` in `doc`, creating objects and list items on the way (a group, or one
    Azure-named member inside one)."""
    node: Any = doc
    for segment, following in itertools.pairwise(loc):
        fresh: Any = [] if isinstance(following, int) else {}
        if isinstance(segment, int):
            while len(node) <= segment:
                node.append(None)
            if not isinstance(node[segment], dict | list):
                node[segment] = fresh
            node = node[segment]
        else:
            key = segment.value if isinstance(segment, Key) else segment
            if not isinstance(node.get(key), dict | list):
                node[key] = fresh
            node = node[key]
    last = loc[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last if not isinstance(last, Key) else last.value] = value


def with_azure_members(kind: Kind, body: Json, props: Mapping[str, Any]) -> Json:
    """`body` with the Azure-named members of `props` written in (ensure-absent ones left
    out): flat values back in their REST form."""
    for path, value in props.items():
        if value is None or not surface.is_azure_path(kind, path):
            continue
        loc = location(kind, path)
        if loc:
            put_at(body, loc, _rest_value(kind, path, value))
    return body


def _rest_value(kind: Kind, path: str, value: Any) -> Any:
    field = surface.field_of(kind, path)
    if isinstance(value, tuple):
        return list(value)
    is_json = field is not None and field.type in ("object", "map")
    if isinstance(value, str) and is_json and value.startswith(("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# -- merging ---------------------------------------------------------------------------------


def overlay(live: Any, declared: Any, at: Location = ()) -> Any:
    """`declared` applied onto `live`: objects member by member, keyed lists item by item.

    Members and items `declared` does not mention are kept from `live`; anything else
    (scalars, plain lists) is the declared value.
    """
    if declared is None:
        return copy.deepcopy(live)
    if at in _WHOLE_OBJECTS:
        return copy.deepcopy(declared)
    if isinstance(declared, Mapping) and isinstance(live, Mapping):
        out = copy.deepcopy(dict(live))
        for name, value in declared.items():
            out[name] = overlay(live.get(name), value, (*at, name))
        pair = _EXCLUDES.get(at)
        if pair is not None and pair[0] in declared:
            out.pop(pair[1], None)
        return out
    name = at[-1] if at and isinstance(at[-1], str) else ""
    spec = _key_of(name)
    if isinstance(declared, list) and isinstance(live, list) and spec is not None:
        member = spec[0]
        out_list = copy.deepcopy(live)
        for item in declared:
            key = item.get(member) if isinstance(item, Mapping) else None
            index = _find(out_list, name, str(key)) if key is not None else None
            if index is None:
                out_list.append(copy.deepcopy(item))
            else:
                out_list[index] = overlay(out_list[index], item, (*at, Key(str(key))))
        return out_list
    return copy.deepcopy(declared)


def remove(doc: Any, loc: Location, declared: Any) -> None:
    """Take `loc` out of `doc` (in place); an item of a keyed list `declared` no longer
    has goes as a whole, with the members the spec never modelled."""
    node = doc
    name = ""
    for depth, segment in enumerate(loc):
        last = depth == len(loc) - 1
        if isinstance(segment, int):
            if not isinstance(node, list) or not 0 <= segment < len(node):
                return
            if last:
                del node[segment]
                return
            node = node[segment]
        elif isinstance(segment, Key):
            if not isinstance(node, list):
                return
            index = _find(node, name, segment.value)
            if index is None:
                return
            if last or get_at(declared, loc[: depth + 1]) is None:
                del node[index]
                return
            node = node[index]
        else:
            if not isinstance(node, dict) or segment not in node:
                return
            if last:
                del node[segment]
                return
            node = node[segment]
            name = segment


def _drop_stale_records(value: Any, record: str, declared: Any) -> Any:
    """Parts of an earlier, longer applied record that this write no longer has."""

    def stale(key: Any) -> bool:
        key = str(key)
        return (key == record or key.startswith(record + "-")) and not _declares(declared, key)

    if not _declares(declared, record):
        return value  # a write without the record (scale-to-zero) leaves it alone
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if not stale(k)}
    if isinstance(value, list):
        return [i for i in value if not (isinstance(i, Mapping) and stale(i.get("name")))]
    return value


def _declares(declared: Any, key: str) -> bool:
    if isinstance(declared, Mapping):
        return key in declared
    if isinstance(declared, list):
        return any(isinstance(i, Mapping) and i.get("name") == key for i in declared)
    return False


# -- the writable surface ---------------------------------------------------------------------

_LEAF = object()


@cache
def _trie(kind: Kind) -> dict[str, Any]:
    """The writable paths of `kind` as a trie; a leaf keeps its whole value."""
    root: dict[str, Any] = {}
    for field in writable_fields(_SURFACE[kind]):
        node = root
        for part in field.path[:-1]:
            node = node.setdefault(part, {})
            if node is _LEAF:
                break
        else:
            node.setdefault(field.path[-1], _LEAF)
    return root


def _subtrie(kind: Kind, loc: Location) -> Any:
    node: Any = _trie(kind)
    for segment in loc:
        if node is _LEAF:
            return _LEAF
        node = node.get("[]" if isinstance(segment, Key | int) else segment)
        if node is None:
            return None
    return node


def _filter(value: Any, node: Any, at: tuple[str, ...]) -> Any:
    if node is _LEAF:
        if at[-2:] == ("identity", "userAssignedIdentities") and isinstance(value, Mapping):
            # principalId/clientId are Azure's answer; a request names the identities only.
            return {name: {} for name in value}
        return copy.deepcopy(value)
    if isinstance(value, list):
        inner = node.get("[]") if isinstance(node, dict) else None
        if inner is None:
            return copy.deepcopy(value)
        return [_filter(item, inner, at) for item in value]
    if isinstance(value, Mapping) and isinstance(node, dict):
        out = {}
        for name, item in value.items():
            child = node.get(name)
            if child is not None and item is not None:
                out[name] = _filter(item, child, (*at, name))
        return out
    return copy.deepcopy(value)


def writable(kind: Kind, loc: Location, value: Any) -> Any:
    """`value` (found at `loc`) without the members Azure reports but never accepts."""
    node = _subtrie(kind, loc)
    if node is None:
        return None
    return _filter(value, node, tuple(s for s in loc if isinstance(s, str)))


# -- updates ----------------------------------------------------------------------------------


def removed_paths(props: Mapping[str, Any], changed_paths: Iterable[str]) -> tuple[str, ...]:
    """Changed paths the desired mapping no longer has (or declares absent, ``None``): the
    spec takes them out."""
    return tuple(p for p in changed_paths if props.get(p) is None)


def _absent_root(props: Mapping[str, Any], path: str) -> str:
    """The member the spec declares absent that `path` lies in (itself if none): what
    goes is the whole member, not its leaves one by one."""
    best = path
    for declared, value in props.items():
        shorter = value is None and len(declared) < len(best)
        if shorter and path.startswith(declared) and path[len(declared)] in ".[":
            best = declared
    return best


def _removed_locations(
    kind: Kind, props: Mapping[str, Any], changed_paths: Iterable[str]
) -> list[Location]:
    """The REST locations of `removed_paths` (paths with none are left out)."""
    roots = dict.fromkeys(_absent_root(props, p) for p in removed_paths(props, changed_paths))
    return [loc for loc in (location(kind, p) for p in roots) if loc]


def empty_group(kind: Kind, group: Location) -> Any:
    """What an update sends to take a whole group away (PATCH keeps what it is not sent):
    an empty list, ``{"type": "None"}`` for an identity, else an empty object."""
    if group == ("identity",):
        return {"type": "None"}
    node = surface.node_at(kind, tuple(s for s in group if isinstance(s, str)))
    if node is not None and (node.item is not None or (node.field and node.field.type == "array")):
        return []
    return {}


def _merged_group(
    kind: Kind,
    group: Location,
    live: Mapping[str, Any],
    declared: Mapping[str, Any],
    removals: Sequence[Location],
) -> Any:
    want = get_at(declared, group)
    if group in _WHOLE_GROUPS.get(kind, frozenset()):
        return copy.deepcopy(want)
    value = overlay(get_at(live, group), want, group)
    for loc in removals:
        if loc[: len(group)] != group:
            continue
        if len(loc) == len(group):
            value = None
            continue
        _remove_within(value, group, loc, want)
    record = _RECORDS.get(group)
    if record is not None:
        value = _drop_stale_records(value, record, want)
    if value is None:
        return None
    return writable(kind, group, value)


def _remove_within(value: Any, group: Location, loc: Location, want: Any) -> None:
    rel = loc[len(group) :]
    wrapper = {"_": value}
    remove(wrapper, ("_", *rel), {"_": want})


def groups_of(kind: Kind, paths: Iterable[str]) -> tuple[Location, ...]:
    """The top-level properties (in first-seen order) that writing `paths` touches."""
    out: list[Location] = []
    for path in paths:
        loc = location(kind, path)
        if loc is None:
            raise ValueError(f"no REST location for {kind.value} path {path!r}")
        group = group_of(loc)
        if group not in out:
            out.append(group)
    return tuple(out)


def update_body(
    kind: Kind,
    live: Mapping[str, Any],
    declared: Mapping[str, Any],
    props: Mapping[str, Any],
    changed_paths: Sequence[str],
    *,
    extra_groups: Sequence[Location] = (),
) -> Json:
    """The update body: each group `changed_paths` touch, as live with the changes applied.

    `declared` is the spec-only body (as a create would send it); `live` the resource's
    body as just read. Only touched groups are sent, so the rest of the resource is not
    even part of the request.
    """
    removals = _removed_locations(kind, props, changed_paths)
    body: Json = {}
    for group in (*groups_of(kind, changed_paths), *extra_groups):
        if get_at(body, group) is not None:
            continue
        value = _merged_group(kind, group, live, declared, removals)
        if group == (*_P, "startTask") and not (value or {}).get("commandLine"):
            value = {}  # Pool_Update: `startTask: {}` removes the start task
        elif group == (*_P, "metadata") and value is None:
            value = []
        elif group == ("tags",) and value is None:
            value = {}
        elif value is None:
            value = empty_group(kind, group)
        put_at(body, group, value)
    return body


# -- replacement ------------------------------------------------------------------------------


def replacement_base(
    kind: Kind,
    old: Mapping[str, Any],
    declared: Mapping[str, Any],
    props: Mapping[str, Any],
    changed_paths: Sequence[str],
) -> Json:
    """What a replacement keeps from the resource it replaces: every writable member of
    `old`, without what the plan takes out. `declared` goes on top at create."""
    base = writable(kind, (), old) or {}
    base.pop("location", None)  # the spec places the new resource
    for loc in _removed_locations(kind, props, changed_paths):
        remove(base, loc, declared)
    return base


def create_body(kind: Kind, base: Mapping[str, Any] | None, declared: Mapping[str, Any]) -> Json:
    """A create body: `declared` over `base` (a replaced resource's members), if any."""
    if not base:
        return dict(declared)
    body = overlay(base, declared)
    for group in _WHOLE_GROUPS.get(kind, frozenset()):
        want = get_at(declared, group)
        if want is not None:
            put_at(body, group, copy.deepcopy(want))
    for group, record in _RECORDS.items():
        value = get_at(body, group)
        if value is not None:
            put_at(body, group, _drop_stale_records(value, record, get_at(declared, group)))
    return body


def uncopyable(kind: Kind, body: Mapping[str, Any]) -> tuple[str, ...]:
    """Secret members `body` must have but does not: Azure never returns secrets, so a
    copy of a resource read from Azure lacks them (REST paths, e.g.
    ``properties.userAccounts[0].password``; the rule is `missing_secrets`')."""
    return tuple(m.shown for m in missing_secrets(kind, body))


__all__ = [
    "Key",
    "create_body",
    "get_at",
    "group_of",
    "groups_of",
    "location",
    "overlay",
    "put_at",
    "remove",
    "removed_paths",
    "replacement_base",
    "uncopyable",
    "update_body",
    "writable",
]
