"""The sandbox stores and answers every writable member of the five kinds the tool manages.

For each kind a body is built from the committed field table (`reconciler.openapi.surface`):
every writable leaf gets a value of its type (an enum's first value, a list item, a map
entry), with the few values the sandbox checks (sources, images, scale settings) set to
real ones. It is written with PUT and read back; every leaf sent must come back as sent,
or in the spelling Azure answers it in (`AZURE_SPELLING`), except write-only ones
(`WRITE_ONLY`). Sources that cannot go together in one body are written in bodies of their
own (`ALTERNATIVES`).
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
        if (field.secret or field.dotted in WRITE_ONLY.get(kind, ())) and have is None:
            continue  # Azure never answers a secret nor a write-only member
        if have != want and not _same_instant(want, have):
            missing.append(f"{field.dotted}: sent {want!r}, answered {have!r}")
    total = len(writable_fields(kind))
    print(f"{kind.value}: {len(sent) - len(missing)}/{total} writable leaves round-trip")
    assert missing == []


# Write-only leaves: taken in a request, never answered (`reconciler.state.surface.WRITE_ONLY`).
WRITE_ONLY = {SurfaceKind.VERSION: ("properties.restore",)}

ACCOUNT_ID = (
    f"{COMPUTE.split('/providers/')[0]}/providers/Microsoft.Storage/storageAccounts/stimagesweu"
)
VHD = "https://stimagesweu.blob.core.windows.net/vhds/render-{}-2026-10.vhd"
DISKS = f"{COMPUTE}/disks"


def _vhd(disk: str) -> dict[str, Any]:
    return {"uri": VHD.format(disk), "storageAccountId": ACCOUNT_ID}


# The sources NOT_SENT leaves out of the one body, each in a body of its own: together with
# the one body they send every writable leaf of the kind.
ALTERNATIVES: dict[str, tuple[SurfaceKind, dict[str, Any]]] = {
    "version from VHDs": (
        SurfaceKind.VERSION,
        {
            "osDiskImage": {"source": _vhd("os")},
            "dataDiskImages": [{"lun": 0, "source": _vhd("data0")}],
        },
    ),
    "version from a community gallery image": (
        SurfaceKind.VERSION,
        {"source": {"communityGalleryImageId": "/CommunityGalleries/contoso-5678/Images/render"}},
    ),
    "version from a managed image": (
        SurfaceKind.VERSION,
        {"source": {"id": f"{COMPUTE}/images/img-build-render-2026-10"}},
    ),
    "version of a VM": (
        SurfaceKind.VERSION,
        {"source": {"virtualMachineId": f"{COMPUTE}/virtualMachines/vm-build-sim-01"}},
    ),
    "managed image of a VM": (
        SurfaceKind.MANAGED_IMAGE,
        {"sourceVirtualMachine": {"id": f"{COMPUTE}/virtualMachines/vm-build-sim-01"}},
    ),
    "managed image from managed disks": (
        SurfaceKind.MANAGED_IMAGE,
        {
            "storageProfile": {
                "osDisk": {"managedDisk": {"id": f"{DISKS}/disk-render-os-2026-10"}},
                "dataDisks": [
                    {"lun": 0, "managedDisk": {"id": f"{DISKS}/disk-render-data0-2026-10"}}
                ],
            }
        },
    ),
    "managed image from blobs": (
        SurfaceKind.MANAGED_IMAGE,
        {
            "storageProfile": {
                "osDisk": {"blobUri": VHD.format("os")},
                "dataDisks": [{"lun": 0, "blobUri": VHD.format("data0")}],
            }
        },
    ),
}


def _alternative_body(kind: SurfaceKind, given: dict[str, Any]) -> dict[str, Any]:
    if kind is SurfaceKind.VERSION:
        return {
            "location": "westeurope",
            "properties": {
                "storageProfile": copy.deepcopy(given),
                "publishingProfile": {
                    "targetRegions": [{"name": "westeurope", "regionalReplicaCount": 1}]
                },
            },
        }
    props = copy.deepcopy(given)
    os_disk = props.get("storageProfile", {}).get("osDisk")
    if os_disk is not None:
        os_disk.update({"osType": "Linux", "osState": "Generalized"})
    return {"location": "westeurope", "properties": props}


@pytest.mark.parametrize("name", list(ALTERNATIVES))
def test_every_alternative_source_is_stored_and_answered(frozen: Sandbox, name: str):
    """A source left out of the one body is answered as sent in a body of its own."""
    kind, given = ALTERNATIVES[name]
    frozen_version_id(frozen)  # the gallery and definition a version needs
    body = _alternative_body(kind, given)
    path, api = PATHS[kind]
    rest(frozen, "PUT", path, body, api)
    frozen.advance(24 * 3600)
    got = rest(frozen, "GET", path, None, api)
    for field in writable_fields(kind):
        if field.dotted.startswith(NOT_SENT[kind]) and _get_path(body, field.path) is not None:
            assert _get_path(got, field.path) == _get_path(body, field.path), field.dotted


@pytest.mark.parametrize("kind", [SurfaceKind.VERSION, SurfaceKind.MANAGED_IMAGE])
def test_the_one_body_and_the_alternatives_send_every_leaf(kind: SurfaceKind):
    """Every writable leaf of the kind is sent by the one body or by an alternative."""
    bodies = [_body(kind, NOT_SENT[kind])]
    OVERRIDES[kind](bodies[0], "unused")
    bodies += [_alternative_body(k, given) for k, given in ALTERNATIVES.values() if k is kind]
    unsent = [
        f.dotted for f in writable_fields(kind) if all(_get_path(b, f.path) is None for b in bodies)
    ]
    assert unsent == []


def _same_instant(a: Any, b: Any) -> bool:
    from reconciler.sandbox.clock import parse_datetime

    try:
        return isinstance(a, str) and isinstance(b, str) and parse_datetime(a) == parse_datetime(b)
    except ValueError:
        return False
