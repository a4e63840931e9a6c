"""AzureOperations through the sandbox with the real SDK: every kind, ETags, absence."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from azure.core.pipeline.policies import SansIOHTTPPolicy

from reconciler.azure.operations import AzureOperations
from reconciler.errors import ConflictError, PermanentAzureError
from reconciler.state import surface
from reconciler.state.model import Kind
from tests.azure.conftest import (
    ACCOUNT,
    DEFINITION,
    GALLERY,
    IMAGES_RG,
    OWNED,
    POOL,
    SNAPSHOT,
    SNAPSHOT_DATA,
    SUB,
    VERSION,
    World,
    definition_props,
    pool_props,
    version_props,
)


def friendly(live: Any) -> dict[str, Any]:
    """A read's friendly paths: the Azure-named members Azure fills in are checked elsewhere."""
    return {k: v for k, v in live.properties.items() if not surface.is_azure_path(live.kind, k)}


class Recorder(SansIOHTTPPolicy):
    """Keeps (method, url, headers, body) of every request the SDK sends."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []

    def on_request(self, request: Any) -> None:
        http = request.http_request
        body = http.content if isinstance(http.content, str | bytes) else None
        parsed = json.loads(body) if body else None
        self.requests.append((http.method, http.url, dict(http.headers), parsed))


def _gallery_tree(ops: AzureOperations) -> None:
    ops.create(
        kind=Kind.GALLERY,
        resource_id=GALLERY,
        location="westeurope",
        props={"location": "westeurope", **OWNED},
    )
    ops.create(
        kind=Kind.IMAGE, resource_id=DEFINITION, location="westeurope", props=definition_props()
    )
    ops.create(kind=Kind.VERSION, resource_id=VERSION, location="westeurope", props=version_props())


def test_gallery_create_update_delete(world: World) -> None:
    """A gallery is created, updated with a full PUT, and deleted; reads follow each step."""
    ops = world.operations()
    props = {"location": "westeurope", "description": "first", **OWNED}
    created = ops.create(kind=Kind.GALLERY, resource_id=GALLERY, location="westeurope", props=props)
    assert friendly(created) == props
    assert created.address == "gallery:gal"
    updated = ops.update(
        kind=Kind.GALLERY,
        resource_id=GALLERY,
        location="westeurope",
        props={**props, "description": "second"},
        changed_paths=("description",),
    )
    assert updated.properties["description"] == "second"
    assert ops.read(kind=Kind.GALLERY, resource_id=GALLERY).properties["description"] == "second"
    ops.delete(kind=Kind.GALLERY, resource_id=GALLERY)
    assert ops.read(kind=Kind.GALLERY, resource_id=GALLERY) is None


def test_definition_and_version_lifecycle(world: World) -> None:
    """A definition and a version are created, the version's replicas updated, then both deleted."""
    ops = world.operations()
    _gallery_tree(ops)
    version = ops.read(kind=Kind.VERSION, resource_id=VERSION)
    assert version is not None
    assert friendly(version) == version_props()
    assert [r.region for r in version.replication] == ["westeurope"]
    assert version.replication[0].state == "Completed"

    grown = version_props(
        **{
            "targetRegions[westeurope].replicas": 3,
            "targetRegions[northeurope].replicas": 1,
            "targetRegions[northeurope].storageAccountType": "Standard_LRS",
        }
    )
    ops.update(
        kind=Kind.VERSION,
        resource_id=VERSION,
        location="westeurope",
        props=grown,
        changed_paths=("targetRegions[westeurope].replicas", "targetRegions[northeurope].replicas"),
    )
    assert friendly(ops.read(kind=Kind.VERSION, resource_id=VERSION)) == grown

    ops.delete(kind=Kind.VERSION, resource_id=VERSION)
    assert ops.read(kind=Kind.VERSION, resource_id=VERSION) is None
    ops.delete(kind=Kind.IMAGE, resource_id=DEFINITION)
    assert ops.read(kind=Kind.IMAGE, resource_id=DEFINITION) is None


def test_version_region_removal_allows_deleting_replicated_location(world: World) -> None:
    """Dropping a region PATCHes safetyProfile.allowDeletionOfReplicatedLocations and succeeds."""
    recorder = Recorder()
    ops = AzureOperations(world.clients(client_kwargs={"per_call_policies": [recorder]}))
    _gallery_tree(ops)
    two = version_props(
        **{
            "targetRegions[northeurope].replicas": 1,
            "targetRegions[northeurope].storageAccountType": "Standard_LRS",
        }
    )
    ops.update(
        kind=Kind.VERSION,
        resource_id=VERSION,
        location="westeurope",
        props=two,
        changed_paths=("targetRegions[northeurope].replicas",),
    )
    ops.update(
        kind=Kind.VERSION,
        resource_id=VERSION,
        location="westeurope",
        props=version_props(),
        changed_paths=("targetRegions[northeurope].replicas",),
    )
    patches = [
        body
        for method, url, _, body in recorder.requests
        if method == "PATCH" and "/versions/" in url
    ]
    assert "safetyProfile" not in patches[0]["properties"]
    assert patches[1]["properties"]["safetyProfile"]["allowDeletionOfReplicatedLocations"] is True
    regions = patches[1]["properties"]["publishingProfile"]["targetRegions"]
    assert [r["name"] for r in regions] == ["westeurope"]
    assert friendly(ops.read(kind=Kind.VERSION, resource_id=VERSION)) == version_props()


def test_managed_image_create_tags_patch_delete(world: World) -> None:
    """A managed image is created from snapshots, its tags changed by PATCH, then deleted."""
    recorder = Recorder()
    ops = AzureOperations(world.clients(client_kwargs={"per_call_policies": [recorder]}))
    image_id = f"{IMAGES_RG}/providers/Microsoft.Compute/images/img-new"
    props = {
        "location": "westeurope",
        "osType": "Linux",
        "hyperVGeneration": "V2",
        "source.osDiskSnapshot": SNAPSHOT.lower(),
        "source.dataDiskSnapshots[0]": SNAPSHOT_DATA.lower(),
        **OWNED,
    }
    created = ops.create(
        kind=Kind.MANAGED_IMAGE, resource_id=image_id, location="westeurope", props=props
    )
    assert friendly(created) == props
    tagged = {**props, "tags.team": "render"}
    ops.update(
        kind=Kind.MANAGED_IMAGE,
        resource_id=image_id,
        location="westeurope",
        props=tagged,
        changed_paths=("tags.team",),
    )
    patches = [body for method, _, _, body in recorder.requests if method == "PATCH"]
    assert patches == [{"tags": {"managed-by": "reconcile", "team": "render"}}]
    assert friendly(ops.read(kind=Kind.MANAGED_IMAGE, resource_id=image_id)) == tagged
    ops.delete(kind=Kind.MANAGED_IMAGE, resource_id=image_id)
    assert ops.read(kind=Kind.MANAGED_IMAGE, resource_id=image_id) is None


def test_pool_create_patch_delete(world: World) -> None:
    """A pool is created with If-None-Match, patched with only the touched groups and If-Match, then deleted."""
    recorder = Recorder()
    ops = AzureOperations(world.clients(client_kwargs={"per_call_policies": [recorder]}))
    _gallery_tree(ops)
    created = ops.create(
        kind=Kind.POOL, resource_id=POOL, location="westeurope", props=pool_props(dedicated=2)
    )
    assert friendly(created) == pool_props(dedicated=2)
    assert re.fullmatch(r'W/"0x[0-9A-F]{16}"', created.etag or ""), created.etag
    assert created.location == "westeurope"
    put = next(r for r in recorder.requests if r[0] == "PUT" and "/pools/" in r[1])
    assert put[2].get("If-None-Match") == "*"

    desired = pool_props(dedicated=5, **{"metadata.team": "render"})
    updated = ops.update(
        kind=Kind.POOL,
        resource_id=POOL,
        location="westeurope",
        props=desired,
        changed_paths=("scale.fixed.dedicated", "metadata.team"),
        etag=created.etag,
    )
    patch = next(r for r in recorder.requests if r[0] == "PATCH")
    assert patch[2].get("If-Match") == created.etag
    assert set(patch[3]["properties"]) == {"scaleSettings", "metadata"}
    assert "tags" not in patch[3]
    assert friendly(updated) == desired
    assert updated.etag != created.etag

    read = ops.read(kind=Kind.POOL, resource_id=POOL)
    assert read is not None and read.location == "westeurope"
    assert read.allocation_state in ("Resizing", "Steady")
    ops.delete(kind=Kind.POOL, resource_id=POOL, etag=read.etag)
    assert ops.read(kind=Kind.POOL, resource_id=POOL) is None


def test_pool_patch_removes_start_task_with_empty_object(world: World) -> None:
    """When no startTask paths remain desired, the PATCH sends `startTask: {}` and the task goes."""
    recorder = Recorder()
    ops = AzureOperations(world.clients(client_kwargs={"per_call_policies": [recorder]}))
    _gallery_tree(ops)
    with_task = pool_props(**{"startTask.commandLine": "echo hi", "startTask.waitForSuccess": True})
    created = ops.create(kind=Kind.POOL, resource_id=POOL, location="westeurope", props=with_task)
    assert created.properties["startTask.commandLine"] == "echo hi"
    ops.update(
        kind=Kind.POOL,
        resource_id=POOL,
        location="westeurope",
        props=pool_props(),
        changed_paths=("startTask.commandLine", "startTask.waitForSuccess"),
        etag=created.etag,
    )
    patch = next(r for r in recorder.requests if r[0] == "PATCH")
    assert patch[3] == {"properties": {"startTask": {}}}
    assert friendly(ops.read(kind=Kind.POOL, resource_id=POOL)) == pool_props()


def test_pool_update_with_stale_etag_is_conflict(world: World) -> None:
    """A pool PATCH with an ETag that no longer matches raises ConflictError and changes nothing."""
    ops = world.operations()
    _gallery_tree(ops)
    created = ops.create(
        kind=Kind.POOL, resource_id=POOL, location="westeurope", props=pool_props()
    )
    ops.update(
        kind=Kind.POOL,
        resource_id=POOL,
        location="westeurope",
        props=pool_props(**{"metadata.x": "1"}),
        changed_paths=("metadata.x",),
    )
    with pytest.raises(ConflictError) as caught:
        ops.update(
            kind=Kind.POOL,
            resource_id=POOL,
            location="westeurope",
            props=pool_props(dedicated=3),
            changed_paths=("scale.fixed.dedicated",),
            etag=created.etag,
        )
    assert (caught.value.status, caught.value.code) == (412, "ConditionNotMet")
    assert caught.value.address == "pool:batchprodweu/render"
    assert ops.read(kind=Kind.POOL, resource_id=POOL).properties["scale.fixed.dedicated"] == 0


def test_pool_create_over_existing_pool_is_conflict(world: World) -> None:
    """Creating a pool that exists (If-None-Match: *) raises ConflictError, never overwrites."""
    ops = world.operations()
    _gallery_tree(ops)
    ops.create(kind=Kind.POOL, resource_id=POOL, location="westeurope", props=pool_props())
    with pytest.raises(ConflictError) as caught:
        ops.create(
            kind=Kind.POOL, resource_id=POOL, location="westeurope", props=pool_props(dedicated=9)
        )
    assert (caught.value.status, caught.value.code) == (412, "ConditionNotMet")
    assert "the pool already exists" in str(caught.value)
    assert ops.read(kind=Kind.POOL, resource_id=POOL).properties["scale.fixed.dedicated"] == 0


def test_pool_delete_with_moved_etag_is_conflict(world: World) -> None:
    """Deleting a pool whose ETag moved sends If-Match, Azure refuses it (412); the pool stays."""
    ops = world.operations()
    _gallery_tree(ops)
    created = ops.create(
        kind=Kind.POOL, resource_id=POOL, location="westeurope", props=pool_props()
    )
    moved = ops.update(
        kind=Kind.POOL,
        resource_id=POOL,
        location="westeurope",
        props=pool_props(**{"metadata.x": "1"}),
        changed_paths=("metadata.x",),
    )
    with pytest.raises(ConflictError) as caught:
        ops.delete(kind=Kind.POOL, resource_id=POOL, etag=created.etag)
    # The refusal is the service's own answer to the If-Match header, not a client-side check.
    assert (caught.value.status, caught.value.code) == (412, "ConditionNotMet")
    still = ops.read(kind=Kind.POOL, resource_id=POOL)
    assert still is not None and still.etag == moved.etag
    assert still.properties["metadata.x"] == "1"


@pytest.mark.parametrize(
    ("kind", "resource_id"),
    [
        (Kind.GALLERY, f"{IMAGES_RG}/providers/Microsoft.Compute/galleries/nope"),
        (Kind.IMAGE, f"{GALLERY}/images/nope"),
        (Kind.VERSION, f"{DEFINITION}/versions/9.9.9"),
        (Kind.MANAGED_IMAGE, f"{IMAGES_RG}/providers/Microsoft.Compute/images/nope"),
        (Kind.POOL, f"{ACCOUNT}/pools/nope"),
        (Kind.BATCH_ACCOUNT, f"{ACCOUNT[: ACCOUNT.rindex('/')]}/nope"),
    ],
)
def test_absent_resources_read_none_and_delete_quietly(
    world: World, kind: Kind, resource_id: str
) -> None:
    """Reading an absent resource gives None and deleting it is not an error."""
    ops = world.operations()
    assert ops.read(kind=kind, resource_id=resource_id) is None
    if kind is not Kind.BATCH_ACCOUNT:
        ops.delete(kind=kind, resource_id=resource_id)


def test_invalid_create_is_permanent_error(world: World) -> None:
    """A version whose source does not exist is refused with a PermanentAzureError naming it."""
    ops = world.operations()
    _gallery_tree(ops)
    bad = version_props(
        **{"source.managedImage": f"{IMAGES_RG}/providers/microsoft.compute/images/missing".lower()}
    )
    with pytest.raises(PermanentAzureError) as caught:
        ops.create(
            kind=Kind.VERSION,
            resource_id=f"{DEFINITION}/versions/2.0.0",
            location="westeurope",
            props=bad,
        )
    assert caught.value.address == "version:gal/render/2.0.0"
    assert (caught.value.status, caught.value.code) == (400, "InvalidParameter")
    assert (
        "/providers/microsoft.compute/images/missing' of the gallery image version was not found"
        in str(caught.value)
    )


def test_reads_send_the_typed_gets_request_and_map_its_json_alike(world: World) -> None:
    """`read` sends exactly the typed GET's URL and api-version and gives the same resource."""
    from reconciler.azure.mapping import to_live
    from reconciler.state.scope import parse_id

    recorder = Recorder()
    ops = AzureOperations(world.clients(client_kwargs={"per_call_policies": [recorder]}))
    _gallery_tree(ops)
    ops.create(
        kind=Kind.POOL, resource_id=POOL, location="westeurope", props=pool_props(dedicated=2)
    )
    image_id = f"{IMAGES_RG}/providers/Microsoft.Compute/images/img-new"
    ops.create(
        kind=Kind.MANAGED_IMAGE,
        resource_id=image_id,
        location="westeurope",
        props={
            "location": "westeurope",
            "osType": "Linux",
            "source.osDiskSnapshot": SNAPSHOT.lower(),
            **OWNED,
        },
    )
    ops.read(kind=Kind.POOL, resource_id=POOL)  # its account's region, read once, is kept
    for kind, resource_id in (
        (Kind.GALLERY, GALLERY),
        (Kind.IMAGE, DEFINITION),
        (Kind.VERSION, VERSION),
        (Kind.MANAGED_IMAGE, image_id),
        (Kind.BATCH_ACCOUNT, ACCOUNT),
        (Kind.POOL, POOL),
    ):
        recorder.requests.clear()
        typed = ops._get(kind, parse_id(resource_id))
        typed_url = [url for method, url, _, _ in recorder.requests if method == "GET"]
        recorder.requests.clear()
        live = ops.read(kind=kind, resource_id=resource_id)
        read_url = [url for method, url, _, _ in recorder.requests if method == "GET"]
        assert read_url == typed_url, kind
        location = "westeurope" if kind is Kind.POOL else None
        assert live == to_live(
            kind, typed, location=location, azure_groups=None, include_owned=True
        ), kind


def test_pool_create_sends_the_typed_create_request(world: World) -> None:
    """A pool create sends what the typed `pool.create` sends: URL, If-None-Match and body."""
    from azure.core import MatchConditions

    from reconciler.azure.mapping import create_body, to_live

    recorder = Recorder()
    clients = world.clients(client_kwargs={"per_call_policies": [recorder]})
    ops = AzureOperations(clients)
    _gallery_tree(ops)
    props = pool_props(dedicated=2, **{"metadata.team": "render"})
    answer = clients.batch(SUB).pool.create(
        "rg-batch",
        "batchprodweu",
        "typed",
        create_body(Kind.POOL, props),
        match_condition=MatchConditions.IfMissing,
    )
    typed = recorder.requests[-1]
    created = ops.create(kind=Kind.POOL, resource_id=POOL, location="westeurope", props=props)
    ours = recorder.requests[-1]
    assert (ours[0], ours[1]) == (typed[0], typed[1].replace("/pools/typed?", "/pools/render?"))
    for header in ("If-None-Match", "Content-Type", "Accept"):
        assert ours[2].get(header) == typed[2].get(header), header
    assert ours[3] == typed[3]
    expected = to_live(
        Kind.POOL, answer, location="westeurope", azure_groups=None, include_owned=True
    )
    assert created.properties == expected.properties
    assert (created.allocation_state, created.location) == ("Resizing", "westeurope")
    with pytest.raises(ConflictError):
        ops.create(kind=Kind.POOL, resource_id=POOL, location="westeurope", props=props)
