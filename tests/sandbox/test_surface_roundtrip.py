"""The sandbox stores and answers every writable member of the five kinds the tool manages.

For each kind a body is built from the committed field table (`reconciler.openapi.surface`):
every writable leaf gets a value of its type (an enum's first value, a list item, a map
entry), with the few values the sandbox checks (sources, images, scale settings) set to
real ones. It is written with PUT and read back; every leaf sent must come back as sent,
or in the spelling Azure answers it in (`AZURE_SPELLING`). Leaves that cannot go together
in one body are written in a second one (`ALTERNATIVES`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.openapi.surface import Field, SurfaceKind, writable_fields
from reconciler.sandbox import Sandbox
from tests.sandbox.conftest import (
    ACCOUNT,
    COMPUTE,
    RG_BATCH,
    SNAPSHOT,
    SUB,
    frozen_version_id,
    rest,
)

GALLERY_API = "2026-03-03"
IMAGES_API = "2026-04-01"
BATCH_API = "2025-06-01"
POOLS = (
    f"/subscriptions/{SUB}/resourceGroups/{RG_BATCH}/providers/Microsoft.Batch/batchAccounts/"
    f"{ACCOUNT}/pools"
)
DATA_SNAPSHOT = f"{COMPUTE}/snapshots/snap-render-data0-2026-10"


UAMI = (
    f"/subscriptions/{SUB}/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/"
    "userAssignedIdentities/surface"
)
# Leaves whose value the field table cannot tell (a map of objects, a list of enum values).
VALUES: dict[str, Any] = {
    "identity.userAssignedIdentities": {UAMI: {}},
    "properties.deploymentConfiguration.virtualMachineConfiguration.diskEncryptionConfiguration"
    ".targets": ["OsDisk"],
}


def _value(field: Field) -> Any:
    if field.dotted in VALUES:
        return copy.deepcopy(VALUES[field.dotted])
    if field.enum:
        return field.enum[0]
    if field.type == "boolean":
        return True
    if field.type == "integer":
        return int(field.minimum) if field.minimum is not None else 1
    if field.type == "number":
        return 1.5
    if field.type == "array":
        return ["x1"] if field.item_type in (None, "string") else [1]
    if field.type in ("map", "object"):
        return {"k1": "v1"} if field.type == "map" else {}
    if field.format == "date-time":
        return "2030-01-01T00:00:00+00:00"
    return "v-" + field.path[-1]


def _put_path(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node: Any = body
    for part, following in zip(path, (*path[1:], None), strict=True):
        if following is None:
            node[part] = value
            return
        if part == "[]":
            continue
        node = node.setdefault(part, [{}])[0] if following == "[]" else node.setdefault(part, {})


def _get_path(doc: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if part == "[]":
            if not isinstance(doc, list) or not doc:
                return None
            doc = doc[0]
        elif isinstance(doc, dict):
            doc = doc.get(part)
        else:
            return None
    return doc


def _body(kind: SurfaceKind, skip: tuple[str, ...]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for field in writable_fields(kind):
        if not field.dotted.startswith(skip):
            _put_path(body, field.path, _value(field))
    return body


# Values the sandbox checks: real resources, consistent settings.
OVERRIDES: dict[SurfaceKind, Callable[[dict[str, Any], str], None]] = {}


def _override(kind: SurfaceKind):
    def register(fn: Callable[[dict[str, Any], str], None]):
        OVERRIDES[kind] = fn
        return fn

    return register


@_override(SurfaceKind.GALLERY)
def _gallery(body: dict[str, Any], image: str) -> None:
    body["location"] = "westeurope"


@_override(SurfaceKind.IMAGE)
def _definition(body: dict[str, Any], image: str) -> None:
    body["location"] = "westeurope"
    body["properties"]["osState"] = "Generalized"


@_override(SurfaceKind.VERSION)
def _version(body: dict[str, Any], image: str) -> None:
    body["location"] = "westeurope"
    storage = body["properties"]["storageProfile"]
    storage["osDiskImage"]["source"] = {"id": SNAPSHOT}
    storage["dataDiskImages"][0]["source"] = {"id": DATA_SNAPSHOT}
    storage["dataDiskImages"][0]["lun"] = 0
    profile = body["properties"]["publishingProfile"]
    profile["targetRegions"][0]["name"] = "westeurope"
    profile["targetRegions"][0]["regionalReplicaCount"] = 1
    profile["replicaCount"] = 1


@_override(SurfaceKind.MANAGED_IMAGE)
def _managed_image(body: dict[str, Any], image: str) -> None:
    body["location"] = "westeurope"
    storage = body["properties"]["storageProfile"]
    storage["osDisk"].update(
        {"snapshot": {"id": SNAPSHOT}, "osType": "Linux", "osState": "Generalized"}
    )
    storage["osDisk"].pop("managedDisk", None)
    storage["dataDisks"][0]["snapshot"] = {"id": DATA_SNAPSHOT}
    storage["dataDisks"][0].pop("managedDisk", None)
    body["properties"].pop("sourceVirtualMachine", None)


@_override(SurfaceKind.POOL)
def _pool(body: dict[str, Any], image: str) -> None:
    vmc = body["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"]
    vmc["imageReference"] = {"id": image}
    vmc["nodeAgentSkuId"] = "batch.node.ubuntu 22.04"
    body["properties"]["scaleSettings"] = {
        "fixedScale": {
            "targetDedicatedNodes": 0,
            "targetLowPriorityNodes": 0,
            "resizeTimeout": "PT15M",
            "nodeDeallocationOption": "Requeue",
        }
    }


# Leaves left out of the one body: alternatives of a member sent instead (Azure takes one
# source, one image reference, one scale mode), or a request rather than a property. The
# pool's image reference alternatives (publisher/offer/sku/version, shared and community
# gallery ids) are left out by the override, which names a gallery image version by id.
NOT_SENT: dict[SurfaceKind, tuple[str, ...]] = {
    SurfaceKind.GALLERY: (),
    SurfaceKind.IMAGE: (),
    SurfaceKind.VERSION: (
        "properties.storageProfile.source.",  # the per-disk snapshots are the source here
        "properties.storageProfile.osDiskImage.source.uri",
        "properties.storageProfile.osDiskImage.source.storageAccountId",
        "properties.storageProfile.dataDiskImages.[].source.uri",
        "properties.storageProfile.dataDiskImages.[].source.storageAccountId",
        "properties.restore",  # restores a soft-deleted version: a request, not a property
    ),
    SurfaceKind.MANAGED_IMAGE: (
        "properties.sourceVirtualMachine.",  # the snapshots are the source here
        "properties.storageProfile.osDisk.managedDisk.",
        "properties.storageProfile.osDisk.blobUri",
        "properties.storageProfile.dataDisks.[].managedDisk.",
        "properties.storageProfile.dataDisks.[].blobUri",
    ),
    # fixedScale here; autoScale (its alternative) in test_batch's autoscale tests.
    SurfaceKind.POOL: ("properties.scaleSettings.",),
}

# How Azure answers a value differently from how it was sent (recorded answers).
AZURE_SPELLING: dict[str, Callable[[Any], Any]] = {
    "properties.vmSize": str.upper,
    "properties.publishingProfile.targetRegions.[].name": lambda _: "West Europe",
}

PATHS = {
    SurfaceKind.GALLERY: (f"{COMPUTE}/galleries/surface", GALLERY_API),
    SurfaceKind.IMAGE: (f"{COMPUTE}/galleries/gal/images/surface", GALLERY_API),
    SurfaceKind.VERSION: (f"{COMPUTE}/galleries/gal/images/render/versions/9.9.9", GALLERY_API),
    SurfaceKind.MANAGED_IMAGE: (f"{COMPUTE}/images/surface", IMAGES_API),
    SurfaceKind.POOL: (f"{POOLS}/surface", BATCH_API),
}


@pytest.mark.parametrize("kind", list(SurfaceKind))
def test_every_writable_member_is_stored_and_answered(frozen: Sandbox, kind: SurfaceKind):
    """Every writable leaf the kind's create body can carry comes back from a GET."""
    image = frozen_version_id(frozen)
    body = _body(kind, NOT_SENT[kind])
    OVERRIDES[kind](body, image)
    sent = [f for f in writable_fields(kind) if _get_path(body, f.path) is not None]
    path, api = PATHS[kind]
    rest(frozen, "PUT", path, body, api)
    frozen.advance(24 * 3600)
    got = rest(frozen, "GET", path, None, api)
    missing = []
    for field in sent:
        want = _get_path(body, field.path)
        spelled = AZURE_SPELLING.get(field.dotted)
        if spelled is not None:
            want = spelled(want)
        have = _get_path(got, field.path)
        if field.secret and have is None:
            continue  # Azure never answers a secret
        if have != want and not _same_instant(want, have):
            missing.append(f"{field.dotted}: sent {want!r}, answered {have!r}")
    total = len(writable_fields(kind))
    print(f"{kind.value}: {len(sent) - len(missing)}/{total} writable leaves round-trip")
    assert missing == []


def _same_instant(a: Any, b: Any) -> bool:
    from reconciler.sandbox.clock import parse_datetime

    try:
        return isinstance(a, str) and isinstance(b, str) and parse_datetime(a) == parse_datetime(b)
    except ValueError:
        return False
