"""read_live_state through the sandbox with the real SDK: exact results, absence, paging, call counts, concurrency."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.batch import BatchManagementClient
from azure.mgmt.compute import ComputeManagementClient

from reconciler.azure.clients import AzureClients, RequestCounter
from reconciler.azure.read import read_live_state
from reconciler.errors import PermanentAzureError
from reconciler.sandbox.config import FaultRule
from reconciler.state.model import Kind
from reconciler.state.scope import ReadScope, listed, rg_id, was_read
from reconciler.wiring import sandbox_client_kwargs
from tests.azure.conftest import (
    ACCOUNT,
    ACCOUNT_EUS,
    FAST,
    MANAGED_IMAGE,
    SUB,
    SUB2,
    World,
    make_world,
)

OWNER = {"managed-by": "reconcile"}
RESEARCH = f"/subscriptions/{SUB2}/resourceGroups/rg-research/providers/Microsoft.Batch/batchAccounts/batchresearch"


def _sdk(world: World) -> tuple[ComputeManagementClient, BatchManagementClient]:
    kwargs = sandbox_client_kwargs(world.path, config=world.config)
    return (
        ComputeManagementClient(subscription_id=SUB, **kwargs),
        BatchManagementClient(subscription_id=SUB, **kwargs),
    )


def _definition(sku: str) -> dict[str, Any]:
    return {
        "location": "westeurope",
        "tags": OWNER,
        "properties": {
            "osType": "Linux",
            "osState": "Generalized",
            "hyperVGeneration": "V2",
            "identifier": {"publisher": "contoso", "offer": "o", "sku": sku},
        },
    }


def _version(regions: dict[str, int]) -> dict[str, Any]:
    return {
        "location": "westeurope",
        "tags": OWNER,
        "properties": {
            "storageProfile": {"source": {"id": MANAGED_IMAGE}},
            "publishingProfile": {
                "targetRegions": [
                    {"name": name, "regionalReplicaCount": n} for name, n in regions.items()
                ]
            },
        },
    }


def _pool(image_id: str, dedicated: int = 0) -> dict[str, Any]:
    return {
        "tags": OWNER,
        "properties": {
            "vmSize": "Standard_D4s_v5",
            "deploymentConfiguration": {
                "virtualMachineConfiguration": {
                    "imageReference": {"id": image_id},
                    "nodeAgentSkuId": "batch.node.ubuntu 22.04",
                }
            },
            "scaleSettings": {
                "fixedScale": {"targetDedicatedNodes": dedicated, "resizeTimeout": "PT20M"}
            },
            "metadata": [{"name": "reconcile.managed-by", "value": "reconcile"}],
        },
    }


def populate(world: World, *, definitions: int = 2, versions: int = 2, pools: int = 3) -> list[str]:
    """An owned gallery `gal` (definitions × versions), an unowned gallery `other` with one
    definition, and `pools` pools in batchprodweu booting the first version. Returns version ids."""
    compute, batch = _sdk(world)
    compute.galleries.begin_create_or_update(
        "rg-images", "gal", {"location": "westeurope", "tags": OWNER}
    ).result()
    compute.galleries.begin_create_or_update(
        "rg-images", "other", {"location": "westeurope"}
    ).result()
    compute.gallery_images.begin_create_or_update(
        "rg-images", "other", "foreign", _definition("foreign")
    ).result()
    version_ids = []
    for d in range(definitions):
        compute.gallery_images.begin_create_or_update(
            "rg-images", "gal", f"def{d}", _definition(f"sku{d}")
        ).result()
        for v in range(versions):
            created = compute.gallery_image_versions.begin_create_or_update(
                "rg-images", "gal", f"def{d}", f"1.0.{v}", _version({"westeurope": 1})
            ).result()
            version_ids.append(created.id)
    for p in range(pools):
        batch.pool.create("rg-batch", "batchprodweu", f"pool{p}", _pool(version_ids[0], p))
    compute.close()
    batch.close()
    return version_ids


SCOPE = ReadScope(
    gallery_groups=((SUB, "rg-images"),),
    image_groups=((SUB, "rg-images"),),
    batch_accounts=(ACCOUNT, ACCOUNT_EUS, RESEARCH),
)


def read_scope_through(
    world: World, transport: Any, clients_type: type[AzureClients] = AzureClients
) -> None:
    """One read of `SCOPE` on `world`, every request through `transport` (clients closed after)."""
    clients = clients_type(world.target(), client_kwargs={"transport": transport})
    try:
        read_live_state(clients, SCOPE)
    finally:
        clients.close()


def test_reads_exactly_the_populated_world(world: World) -> None:
    """Every resource in scope is read once, with flat properties; unowned galleries are not walked."""
    version_ids = populate(world)
    state = read_live_state(world.clients(), SCOPE)
    assert sorted(state.resources) == sorted(
        [
            "gallery:gal",
            "gallery:other",
            "image:gal/def0",
            "image:gal/def1",
            "version:gal/def0/1.0.0",
            "version:gal/def0/1.0.1",
            "version:gal/def1/1.0.0",
            "version:gal/def1/1.0.1",
            "managedImage:img-build-render-2026-10",
            "managedImage:img-legacy-render",  # the default world's legacy estate
            "batchAccount:batchprodweu",
            "batchAccount:batchprodeus",
            "batchAccount:batchresearch",
            "pool:batchprodweu/pool0",
            "pool:batchprodweu/pool1",
            "pool:batchprodweu/pool2",
        ]
    )
    pool = state.get("pool:batchprodweu/pool2")
    assert pool is not None and pool.owned and pool.etag
    assert pool.location == "westeurope"
    assert pool.image_id == version_ids[0].lower()
    assert dict(pool.properties) == {
        "vmSize": "standard_d4s_v5",
        "interNodeCommunication": "Disabled",
        "taskSlotsPerNode": 1,
        "image.id": version_ids[0].lower(),
        "nodeAgentSkuId": "batch.node.ubuntu 22.04",
        "scale.fixed.dedicated": 2,
        "scale.fixed.lowPriority": 0,
        "scale.fixed.resizeTimeout": "PT20M",
        "metadata.reconcile.managed-by": "reconcile",
        "tags.managed-by": "reconcile",
    }
    version = state.get("version:gal/def1/1.0.1")
    assert version is not None and version.provisioning_state == "Succeeded"
    assert version.properties["targetRegions[westeurope].replicas"] == 1
    assert version.replication == ()  # lists carry no replicationStatus (needs $expand on GET)
    assert state.get("batchAccount:batchprodeus").location == "eastus"
    assert state.get("batchAccount:batchprodeus").pool_allocation_mode == "UserSubscription"
    assert len(state.pools_using(version_ids[0])) == 3
    gallery_rg = rg_id(SUB, "rg-images")
    gal = f"{gallery_rg}/providers/microsoft.compute/galleries/gal"
    assert listed("galleries", gallery_rg) in state.scopes
    assert listed("images", gal) in state.scopes
    assert (
        listed("images", f"{gallery_rg}/providers/microsoft.compute/galleries/other")
        not in state.scopes
    )
    assert was_read(state, Kind.VERSION, f"{gal}/images/def0/versions/9.9.9")
    assert not was_read(
        state, Kind.IMAGE, f"{gallery_rg}/providers/microsoft.compute/galleries/other/images/x"
    )


def test_named_unowned_gallery_is_walked(world: World) -> None:
    """A gallery the scope names is walked even when the tool does not own it."""
    populate(world, definitions=1, versions=1, pools=0)
    other = (
        f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/galleries/other"
    )
    state = read_live_state(world.clients(), ReadScope(galleries=(other,)))
    # The named gallery `other` is walked although it is not ours; the owned `gal` in the
    # same group is walked too (prune must see it).
    assert sorted(state.resources) == [
        "gallery:gal",
        "gallery:other",
        "image:gal/def0",
        "image:other/foreign",
        "version:gal/def0/1.0.0",
    ]


def test_absent_scopes_are_empty_not_errors(world: World) -> None:
    """Missing resource groups, galleries and accounts read as empty collections, recorded as read."""
    missing_account = ACCOUNT.replace("batchprodweu", "nosuchaccount")
    missing_gallery = (
        f"/subscriptions/{SUB}/resourceGroups/rg-nope/providers/Microsoft.Compute/galleries/g"
    )
    scope = ReadScope(
        galleries=(missing_gallery,),
        image_groups=((SUB, "rg-nope"),),
        batch_accounts=(missing_account,),
    )
    state = read_live_state(world.clients(), scope)
    assert dict(state.resources) == {}
    assert sorted(state.scopes) == sorted(
        [
            listed("galleries", rg_id(SUB, "rg-nope")),
            listed("managedImages", rg_id(SUB, "rg-nope")),
            listed("pools", missing_account),
            listed("batchAccount", missing_account),
        ]
    )


def test_empty_scope_reads_nothing(world: World) -> None:
    """An empty scope makes no HTTP call and returns an empty state."""
    counter = RequestCounter()
    state = read_live_state(world.clients(counter), ReadScope())
    assert dict(state.resources) == {} and state.scopes == ()
    assert counter.total == 0


def test_list_calls_only_and_paging(tmp_path: Path) -> None:
    """With pages of 2, every item is still read, using only list calls (plus one GET per account)."""
    world = make_world(tmp_path / "paged.sqlite", replace(FAST, page_size=2))
    try:
        populate(world, definitions=3, versions=5, pools=5)
        counter = RequestCounter()
        state = read_live_state(world.clients(counter), SCOPE)
        assert len(list(state.of_kind(Kind.VERSION))) == 15
        assert len(list(state.of_kind(Kind.POOL))) == 5
        assert set(counter.by_method) == {"GET"}
        paths = [url.split("?")[0].lower() for _, url in counter.paths]
        collections = ("/galleries", "/images", "/versions", "/pools")
        singles = [p for p in paths if not p.endswith(collections)]
        # The only single-resource GETs are the three Batch accounts.
        assert sorted(p.rsplit("/", 1)[1] for p in singles) == [
            "batchprodeus",
            "batchprodweu",
            "batchresearch",
        ]
        # galleries 2 items → 1 page; gal: 3 defs → 2 pages; each def: 5 versions → 3 pages;
        # managed images (1) → 1 page; pools: 5 → 3 pages in one account, 1 in the others.
        assert len(paths) == 1 + 2 + 3 * 3 + 1 + 3 + (3 + 1 + 1)
    finally:
        world.close()


class InFlight(SansIOHTTPPolicy):
    """Tracks the most requests on the wire at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def on_request(self, request: Any) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def on_response(self, request: Any, response: Any) -> None:
        with self._lock:
            self.now -= 1


class MeetAtVersionListings(SansIOHTTPPolicy):
    """Holds each version listing until `parties` of them are on the wire together.

    A walk that cannot have that many in flight at once breaks the barrier after its
    timeout, and the read fails: overlap is proven by counting, not by a stopwatch.
    """

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=10.0)
        self.met: list[str] = []  # list.append is atomic across threads

    def on_request(self, request: Any) -> None:
        if request.http_request.url.split("?")[0].endswith("/versions"):
            self.barrier.wait()
            self.met.append(request.http_request.url)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_concurrency_bound_is_respected(tmp_path: Path, concurrency: int) -> None:
    """No more than `concurrency` requests are ever in flight, and with room they do overlap."""
    world = make_world(tmp_path / "c.sqlite")
    try:
        populate(world, definitions=8, versions=1, pools=0)
        tracker = InFlight()
        meet = MeetAtVersionListings(concurrency)
        clients = world.clients(client_kwargs={"per_retry_policies": [tracker, meet]})
        state = read_live_state(clients, SCOPE, concurrency=concurrency)
        assert len(list(state.of_kind(Kind.VERSION))) == 8
        assert len(meet.met) == 8  # every listing passed the barrier: `concurrency` at a time
        assert tracker.peak == concurrency
    finally:
        world.close()


def test_children_start_as_soon_as_their_parent_returns(tmp_path: Path) -> None:
    """Wall time tracks tree depth, not resource count: 8 version listings share one round trip."""
    world = make_world(tmp_path / "d.sqlite")
    try:
        populate(world, definitions=8, versions=1, pools=0)
        # All eight listings must be on the wire at once for any of them to go on.
        meet = MeetAtVersionListings(8)
        clients = world.clients(client_kwargs={"per_retry_policies": [meet]})
        state = read_live_state(clients, ReadScope(gallery_groups=((SUB, "rg-images"),)))
        assert len(meet.met) == 8
        assert len(list(state.of_kind(Kind.VERSION))) == 8
    finally:
        world.close()


@pytest.mark.no_openapi_check
def test_non_404_errors_are_classified(tmp_path: Path) -> None:
    """A 403 on a listing stops the read with a PermanentAzureError carrying the ARM code."""
    fault = FaultRule(
        kind="status", status=403, code="AuthorizationFailed", path="/galleries$", method="GET"
    )
    world = make_world(tmp_path / "f.sqlite", replace(FAST, faults=(fault,)))
    try:
        with pytest.raises(PermanentAzureError) as caught:
            read_live_state(world.clients(), SCOPE)
        assert caught.value.code == "AuthorizationFailed"
        assert caught.value.status == 403
    finally:
        world.close()


def test_listing_urls_and_api_versions_match_the_sdk(world: World) -> None:
    """The JSON listings request exactly the URLs and api-versions of the SDK's typed list operations."""
    from reconciler.azure import urls

    seen: list[str] = []
    hook = {"raw_request_hook": lambda r: seen.append(r.http_request.url)}
    compute, batch = _sdk(world)
    list(compute.galleries.list_by_resource_group("rg-images", **hook))
    list(compute.images.list_by_resource_group("rg-images", **hook))
    list(batch.pool.list_by_batch_account("rg-batch", "batchprodweu", **hook))
    counter = RequestCounter()
    read_live_state(
        world.clients(counter),
        ReadScope(
            gallery_groups=((SUB, "rg-images"),),
            image_groups=((SUB, "rg-images"),),
            batch_accounts=(ACCOUNT,),
        ),
    )
    ours = {url for method, url in counter.paths if not url.split("?")[0].endswith("batchprodweu")}
    assert set(seen) == ours
    assert f"api-version={urls.GALLERY_API}" in seen[0]
    assert f"api-version={urls.IMAGES_API}" in seen[1]
    assert f"api-version={urls.BATCH_API}" in seen[2]
