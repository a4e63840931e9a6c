"""The Azure side of `reconcile export`: one read of a scope, what the spec cannot say, and
why a scope turned out empty.

- `read_for_export` reads a `ReadScope` with `read_live_state` (the very list calls `plan`
  makes), keeping every Azure-named member in the live state, and notes, per resource id,
  the writable members Azure returned that the spec's vocabulary still does not express
  (`unexpressed_members`: what the friendly keys own but do not model, such as a
  version's per-region encryption): export lists them instead of dropping them silently,
  and since writes merge into live state they stay untouched.
- `scope_problem` explains an empty resource group with one list call: the subscription
  or the group does not exist (ARM's 404 codes), or the caller may not read it (403).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from azure.core.rest import HttpRequest

from reconciler.azure import merge
from reconciler.azure.clients import AzureClients
from reconciler.azure.mapping import to_json
from reconciler.azure.read import read_live_state
from reconciler.azure.urls import collection_url
from reconciler.export.members import is_filled
from reconciler.state.model import Kind, LiveState, canonical_id, canonical_location
from reconciler.state.scope import ReadScope

# Members the vocabulary folds into others: a version's default replica count and storage
# type become per-region values (`targetRegions[…]`), so they are expressed.
_FOLDED: dict[Kind, frozenset[str]] = {
    Kind.VERSION: frozenset(
        {
            "properties.publishingProfile.replicaCount",
            "properties.publishingProfile.storageAccountType",
        }
    ),
}
# Members Azure copies from what a resource was captured from, with the member that names
# it: a managed image of a VM holds the VM's OS disk (its managed disk, size, OS type and
# state), which the spec's `source: {virtualMachine: ...}` expresses.
_CAPTURED: dict[Kind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Kind.MANAGED_IMAGE: (
        ("properties", "sourceVirtualMachine"),
        ("properties", "storageProfile", "osDisk"),
    ),
}
# Lists whose items are told apart by a member rather than by position.
_ITEM_KEYS = ("name", "lun")

# Members the spec expresses although the flat state does not carry them (Azure returns
# them, the planner never diffs them): read back into the export.
_READ_BACK: dict[Kind, tuple[tuple[str, str], ...]] = {
    Kind.POOL: (
        (
            "properties.scaleSettings.fixedScale.nodeDeallocationOption",
            "scale.fixed.nodeDeallocationOption",
        ),
        # As written (the flat state keeps it lower-case for comparisons).
        ("properties.vmSize", "vmSize"),
    ),
}


@dataclass(frozen=True, slots=True)
class ExportRead:
    """Live state of a scope plus, per canonical id, the members the spec cannot express."""

    live: LiveState
    unexpressed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    read_back: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def read_for_export(clients: AzureClients, scope: ReadScope) -> ExportRead:
    """Read `scope` (plan's list calls) and note what each resource holds beyond the spec.

    Every Azure-named member is kept in the live state (`ReadScope.every_azure_member`):
    export writes them down under ``properties:`` / ``identity:``.
    """
    scope = dataclasses.replace(scope, every_azure_member=True)
    docs: list[tuple[Kind, dict[str, Any]]] = []
    lock = threading.Lock()

    def keep(kind: Kind, doc: dict[str, Any]) -> None:
        with lock:
            docs.append((kind, doc))

    live = read_live_state(clients, scope, on_document=keep)
    by_id = {r.id: r for r in live.resources.values()}
    unexpressed: dict[str, tuple[str, ...]] = {}
    read_back: dict[str, dict[str, Any]] = {}
    for kind, doc in docs:
        resource = by_id.get(canonical_id(str(doc.get("id") or "")))
        if resource is None:
            continue
        extra = {
            flat: value
            for rest, flat in _READ_BACK.get(kind, ())
            if (value := merge.get_at(doc, tuple(rest.split(".")))) is not None
        }
        if extra:
            read_back[resource.id] = extra
        found = unexpressed_members(kind, doc, {**resource.properties, **extra})
        if found:
            unexpressed[resource.id] = found
    return ExportRead(live=live, unexpressed=unexpressed, read_back=read_back)


def unexpressed_members(
    kind: Kind, doc: Mapping[str, Any], props: Mapping[str, Any]
) -> tuple[str, ...]:
    """REST paths of the writable members in `doc` that the flat `props` do not express.

    Each is named at the shallowest level holding nothing the spec expresses
    (``properties.mountConfiguration``, not every one of its leaves).
    """
    have = _without_fills(kind, merge.writable(kind, (), dict(doc)) or {}, "")
    captured = _CAPTURED.get(kind)
    if captured is not None and merge.get_at(have, captured[0]) is not None:
        merge.remove(have, captured[1], None)
    location = canonical_location(str(doc.get("location") or ""))
    expressed = to_json(kind, props, location=location) if kind is not Kind.BATCH_ACCOUNT else {}
    folded = _FOLDED.get(kind, frozenset())
    found = [p for p in _uncovered(have, expressed, "") if p not in folded]
    return tuple(sorted(found))


def _without_fills(kind: Kind, value: Any, path: str) -> Any:
    """`value` without the members Azure fills in by itself (`reconciler.export.members.AZURE_FILLS`)."""
    if isinstance(value, Mapping):
        out = {}
        for name, item in value.items():
            here = f"{path}.{name}" if path else name
            kept = _without_fills(kind, item, here)
            if _present(kept) and not is_filled(kind, here, kept):
                out[name] = kept
        return out
    if isinstance(value, list):
        return [_without_fills(kind, item, f"{path}[*]") for item in value]
    return value


def _present(value: Any) -> bool:
    return value is not None and value != {} and value != [] and value != ""


def _uncovered(have: Any, expressed: Any, path: str) -> list[str]:
    if not _present(have):
        return []
    if expressed is None or expressed == {} or expressed == []:
        return [path]
    if isinstance(have, Mapping) and isinstance(expressed, Mapping):
        out: list[str] = []
        for name, value in have.items():
            out += _uncovered(value, expressed.get(name), f"{path}.{name}" if path else name)
        return out
    if isinstance(have, list) and isinstance(expressed, list):
        out = []
        for index, item in enumerate(have):
            key = _item_key(item)
            if key is None:
                twin = expressed[index] if index < len(expressed) else None
                out += _uncovered(item, twin, f"{path}[{index}]")
            else:
                twin = next((e for e in expressed if _item_key(e) == key), None)
                out += _uncovered(item, twin, f"{path}[{key[1]}]")
        return out
    return []


def _item_key(item: Any) -> tuple[str, str] | None:
    if not isinstance(item, Mapping):
        return None
    for member in _ITEM_KEYS:
        if item.get(member) is not None:
            return member, canonical_location(str(item[member]))
    return None


def scope_problem(clients: AzureClients, subscription: str, group: str) -> tuple[int, str] | None:
    """``(status, ARM code)`` when listing in the group fails (missing, forbidden); None if it works.

    One GET of the group's galleries: ARM answers ``SubscriptionNotFound`` or
    ``ResourceGroupNotFound`` (404), or ``AuthorizationFailed`` (403).
    """
    url = collection_url(Kind.GALLERY, subscription, group)
    response = clients.reader("compute", subscription).send_request(
        HttpRequest("GET", url.path, params={"api-version": url.api_version})
    )
    if response.status_code == 200:
        return None
    try:
        code = str((response.json().get("error") or {}).get("code") or "")
    except ValueError:
        code = ""
    return response.status_code, code
