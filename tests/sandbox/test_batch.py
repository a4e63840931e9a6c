"""Batch accounts and pools, and the allocation model, through the real azure-mgmt-batch client."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.mgmt.batch import BatchManagementClient

from reconciler.sandbox import Sandbox
from tests.sandbox.conftest import (
    ACCOUNT,
    MANAGED_IMAGE,
    RG_BATCH,
    RG_IMAGES,
    SUB,
    batch_client,
    begin_frozen_version,
    compute_client,
    definition_body,
    make_version,
    pool_body,
    rest,
    target_regions,
    update_version,
    version_body,
)


def frozen_version(sandbox: Sandbox, regions: dict[str, int], version: str = "1.0.0") -> str:
    """Create gallery → definition → version in a frozen-clock world; returns the version id."""
    if version == "1.0.0":
        poller = begin_frozen_version(sandbox, regions)
    else:
        poller = compute_client(sandbox).gallery_image_versions.begin_create_or_update(
            RG_IMAGES, "gal", "render", version, version_body(regions)
        )
    sandbox.advance(4 * 3600)
    return poller.result().id


def pool_with_nodes(frozen: Sandbox) -> BatchManagementClient:
    """Pool "p" created with 10 dedicated nodes and Steady there (900 s on); its client."""
    image = frozen_version(frozen, {"westeurope": 1})
    batch = batch_client(frozen)
    batch.pool.create(RG_BATCH, ACCOUNT, "p", pool_body(image, 10))
    frozen.advance(900)
    return batch


def nodes(pool: Any) -> tuple[str, int, list[str]]:
    errors = (pool.resize_operation_status.errors or []) if pool.resize_operation_status else []
    return pool.allocation_state, pool.current_dedicated_nodes, [e.code for e in errors]


def test_batch_accounts_are_seeded(batch):
    """Seeded Batch accounts can be read and listed with their region and allocation mode."""
    account = batch.batch_account.get(RG_BATCH, ACCOUNT)
    assert account.location == "westeurope"
    assert account.pool_allocation_mode == "BatchService"
    assert {a.name for a in batch.batch_account.list_by_resource_group(RG_BATCH)} == {
        "batchprodweu",
        "batchprodeus",
    }
    assert len(list(batch.batch_account.list())) == 3
    with pytest.raises(ResourceNotFoundError):
        batch.batch_account.get(RG_BATCH, "nope")


def test_pool_life_cycle(sandbox, compute, batch):
    """A pool is created, read with its ETag, listed in pages, patched, replaced and deleted."""
    image = make_version(compute, {"westeurope": 1}).id
    for name in ("p1", "p2", "p3"):
        created = batch.pool.create(RG_BATCH, ACCOUNT, name, pool_body(image, 2))
        assert created.etag and created.provisioning_state == "Succeeded"
    got = batch.pool.get(RG_BATCH, ACCOUNT, "p1")
    assert got.vm_size == "STANDARD_D4S_V5"  # as Azure answers: upper-cased
    assert got.deployment_configuration.virtual_machine_configuration.image_reference.id == image
    pages = list(batch.pool.list_by_batch_account(RG_BATCH, ACCOUNT).by_page())
    assert [[p.name for p in page] for page in pages] == [["p1", "p2"], ["p3"]]
    patched = batch.pool.update(
        RG_BATCH, ACCOUNT, "p1", {"properties": {"metadata": [{"name": "k", "value": "v"}]}}
    )
    assert patched.metadata[0].name == "k"
    assert patched.vm_size == "STANDARD_D4S_V5"  # PATCH keeps what it was not given
    assert patched.etag != got.etag
    replaced = batch.pool.create(RG_BATCH, ACCOUNT, "p1", pool_body(image, 2))
    assert replaced.metadata is None  # PUT replaces the whole pool
    batch.pool.begin_delete(RG_BATCH, ACCOUNT, "p1").result()
    with pytest.raises(ResourceNotFoundError) as caught:
        batch.pool.get(RG_BATCH, ACCOUNT, "p1")
    assert caught.value.error.code == "PoolNotFound"
    assert [p.name for p in batch.pool.list_by_batch_account(RG_BATCH, ACCOUNT)] == ["p2", "p3"]


def test_pool_etags_and_conditions(compute, batch):
    """If-Match with a stale ETag and If-None-Match on an existing pool are refused with 412."""
    image = make_version(compute).id
    first = batch.pool.create(
        RG_BATCH, ACCOUNT, "p", pool_body(image), match_condition=MatchConditions.IfMissing
    )
    with pytest.raises(ResourceExistsError):
        batch.pool.create(
            RG_BATCH, ACCOUNT, "p", pool_body(image), match_condition=MatchConditions.IfMissing
        )
    second = batch.pool.update(
        RG_BATCH,
        ACCOUNT,
        "p",
        {"properties": {"metadata": [{"name": "a", "value": "1"}]}},
        etag=first.etag,
        match_condition=MatchConditions.IfNotModified,
    )
    with pytest.raises(ResourceModifiedError) as caught:
        batch.pool.update(
            RG_BATCH,
            ACCOUNT,
            "p",
            {"properties": {"metadata": []}},
            etag=first.etag,
            match_condition=MatchConditions.IfNotModified,
        )
    assert caught.value.status_code == 412
    assert batch.pool.get(RG_BATCH, ACCOUNT, "p").etag == second.etag


def test_resize_progresses_over_simulated_time(frozen: Sandbox):
    """A resize to 1000 nodes takes 15 simulated minutes, nodes arriving linearly."""
    image = frozen_version(frozen, {"westeurope": 2})
    batch = batch_client(frozen)
    pool = batch.pool.create(RG_BATCH, ACCOUNT, "p", pool_body(image, 1000))
    assert nodes(pool) == ("Resizing", 0, [])
    frozen.advance(450)
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "p")) == ("Resizing", 500, [])
    frozen.advance(450)
    pool = batch.pool.get(RG_BATCH, ACCOUNT, "p")
    assert nodes(pool) == ("Steady", 1000, [])
    assert pool.resize_operation_status.target_dedicated_nodes == 1000


def test_short_resize_timeout_stops_with_allocation_timed_out(frozen: Sandbox):
    """2000 nodes under PT15M stop at 1000 with AllocationTimedOut; a PT30M resize finishes."""
    image = frozen_version(frozen, {"westeurope": 4})
    batch = batch_client(frozen)
    batch.pool.create(RG_BATCH, ACCOUNT, "p", pool_body(image, 2000, "PT15M"))
    frozen.advance(900)
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "p")) == ("Steady", 1000, ["AllocationTimedOut"])
    batch.pool.update(
        RG_BATCH,
        ACCOUNT,
        "p",
        {
            "properties": {
                "scaleSettings": {
                    "fixedScale": {"targetDedicatedNodes": 2000, "resizeTimeout": "PT30M"}
                }
            }
        },
    )
    frozen.advance(899)
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "p"))[0] == "Resizing"
    frozen.advance(1)
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "p")) == ("Steady", 2000, [])


@pytest.mark.parametrize(
    ("replicas", "expected"),
    [(1, ("Steady", 1000, ["AllocationTimedOut"])), (2, ("Steady", 1200, []))],
)
def test_too_few_replicas_slow_allocation(frozen: Sandbox, replicas, expected):
    """1200 nodes need 2 replicas (1 per 600 VMs); with 1 they stop short at the PT30M timeout."""
    image = frozen_version(frozen, {"westeurope": replicas})
    batch = batch_client(frozen)
    batch.pool.create(RG_BATCH, ACCOUNT, "p", pool_body(image, 1200, "PT30M"))
    frozen.advance(1800)
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "p")) == expected


def test_replicas_are_shared_by_pools_in_a_region(frozen: Sandbox):
    """Pools on one version in one region share its replicas: the second pool is slowed."""
    image = frozen_version(frozen, {"westeurope": 1})
    batch = batch_client(frozen)
    batch.pool.create(RG_BATCH, ACCOUNT, "a", pool_body(image, 600))
    batch.pool.create(RG_BATCH, ACCOUNT, "b", pool_body(image, 600))
    frozen.advance(900)
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "a")) == ("Steady", 600, [])
    # b: Nv = 1200 on 1 replica → twice as slow: 600 × 900 / 1080 = 500 nodes at PT15M
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "b")) == ("Steady", 500, ["AllocationTimedOut"])


def test_deleted_image_version_fails_next_resize(frozen: Sandbox):
    """Deleting a version a pool uses succeeds; the pool's next resize fails with AllocationFailed."""
    image = frozen_version(frozen, {"westeurope": 1})
    batch = batch_client(frozen)
    compute = compute_client(frozen)
    batch.pool.create(RG_BATCH, ACCOUNT, "p", pool_body(image, 100))
    frozen.advance(900)
    poller = compute.gallery_image_versions.begin_delete(RG_IMAGES, "gal", "render", "1.0.0")
    frozen.advance(3600)
    poller.result()
    batch.pool.update(
        RG_BATCH,
        ACCOUNT,
        "p",
        {"properties": {"scaleSettings": {"fixedScale": {"targetDedicatedNodes": 200}}}},
    )
    frozen.advance(900)
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "p")) == ("Steady", 100, ["AllocationFailed"])


def test_version_without_replica_in_account_region_is_refused(compute, batch):
    """A pool cannot use a version that has no replica in the Batch account's region (R9)."""
    image = make_version(compute, {"eastus": 1}).id
    with pytest.raises(HttpResponseError) as caught:
        batch.pool.create(RG_BATCH, ACCOUNT, "p", pool_body(image, 1))
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidPropertyValue"


def test_managed_image_pool_needs_at_least_twenty_minutes(frozen: Sandbox):
    """A managed-image pool of 100 nodes misses a PT15M timeout but makes PT20M (R3)."""
    batch = batch_client(frozen)
    batch.pool.create(RG_BATCH, ACCOUNT, "short", pool_body(MANAGED_IMAGE, 100, "PT15M"))
    batch.pool.create(RG_BATCH, ACCOUNT, "long", pool_body(MANAGED_IMAGE, 100, "PT20M"))
    frozen.advance(1200)
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "short")) == (
        "Steady",
        75,
        ["AllocationTimedOut"],
    )
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "long")) == ("Steady", 100, [])


def test_vm_size_changes_only_at_zero_nodes(frozen: Sandbox):
    """vmSize can change only when the pool is Steady at zero nodes."""
    batch = pool_with_nodes(frozen)
    change = {"properties": {"vmSize": "Standard_D8s_v5"}}
    with pytest.raises(ResourceExistsError) as caught:
        batch.pool.update(RG_BATCH, ACCOUNT, "p", change)
    assert caught.value.error.code == "PropertyCannotBeUpdated"
    batch.pool.update(
        RG_BATCH,
        ACCOUNT,
        "p",
        {"properties": {"scaleSettings": {"fixedScale": {"targetDedicatedNodes": 0}}}},
    )
    frozen.advance(frozen.config.durations.node_removal)
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "p")) == ("Steady", 0, [])
    assert batch.pool.update(RG_BATCH, ACCOUNT, "p", change).vm_size == "STANDARD_D8S_V5"


def test_resize_timeout_under_five_minutes_is_rejected(compute, batch):
    """resizeTimeout below PT5M is a 400."""
    image = make_version(compute).id
    with pytest.raises(HttpResponseError) as caught:
        batch.pool.create(RG_BATCH, ACCOUNT, "p", pool_body(image, 1, "PT4M"))
    assert caught.value.status_code == 400


def test_changing_targets_while_resizing_is_refused(frozen: Sandbox):
    """A new target while the pool is still resizing is refused with PoolBeingResized."""
    image = frozen_version(frozen, {"westeurope": 1})
    batch = batch_client(frozen)
    batch.pool.create(RG_BATCH, ACCOUNT, "p", pool_body(image, 100))
    with pytest.raises(ResourceExistsError) as caught:
        batch.pool.update(
            RG_BATCH,
            ACCOUNT,
            "p",
            {"properties": {"scaleSettings": {"fixedScale": {"targetDedicatedNodes": 50}}}},
        )
    assert caught.value.error.code == "PoolBeingResized"
    stopped = batch.pool.stop_resize(RG_BATCH, ACCOUNT, "p")
    assert nodes(stopped) == ("Steady", 0, ["ResizeStopped"])


def test_autoscale_pool_allocates_its_literal_target(frozen: Sandbox):
    """An autoscale pool allocates the literal $TargetDedicatedNodes of its formula."""
    image = frozen_version(frozen, {"westeurope": 1})
    batch = batch_client(frozen)
    body = pool_body(image)
    body["properties"]["scaleSettings"] = {
        "autoScale": {"formula": "$TargetDedicatedNodes = 40;", "evaluationInterval": "PT5M"}
    }
    pool = batch.pool.create(RG_BATCH, ACCOUNT, "auto", body)
    assert pool.auto_scale_run.results == (
        "$TargetDedicatedNodes=40;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    )
    frozen.advance(900)
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "auto")) == ("Steady", 40, [])
    fixed = batch.pool.disable_auto_scale(RG_BATCH, ACCOUNT, "auto")
    assert fixed.scale_settings.fixed_scale.target_dedicated_nodes == 40


def test_pool_in_missing_account_is_not_found(batch):
    """Creating a pool in an account that does not exist is a 404."""
    with pytest.raises(ResourceNotFoundError):
        batch.pool.create(RG_BATCH, "nosuchaccount", "p", pool_body(MANAGED_IMAGE))


def test_subscription_two_is_separate(sandbox):
    """Each seeded subscription sees only its own accounts."""
    other = batch_client(sandbox, "00000000-0000-0000-0000-000000000002")
    assert [a.name for a in other.batch_account.list()] == ["batchresearch"]
    assert SUB not in other.batch_account.list().next().id


def test_resending_the_same_targets_reissues_a_stopped_resize(frozen: Sandbox):
    """A pool that stopped short resizes again when the same fixedScale is sent again."""
    image = frozen_version(frozen, {"westeurope": 4})
    batch = batch_client(frozen)
    body = pool_body(image, 2000, "PT15M")
    batch.pool.create(RG_BATCH, ACCOUNT, "p", body)
    frozen.advance(900)
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "p")) == ("Steady", 1000, ["AllocationTimedOut"])
    same = {"properties": {"scaleSettings": body["properties"]["scaleSettings"]}}
    assert nodes(batch.pool.update(RG_BATCH, ACCOUNT, "p", same)) == ("Resizing", 1000, [])
    frozen.advance(900)  # the remaining 1000 nodes need 30 min × 1000/2000
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "p")) == ("Steady", 2000, [])


def test_specialized_gallery_image_is_refused_for_pools(frozen: Sandbox):
    """Only generalized gallery images can back a pool (R8)."""
    compute = compute_client(frozen)
    compute.galleries.begin_create_or_update(RG_IMAGES, "gal", {"location": "westeurope"})
    frozen.advance(3600)
    compute.gallery_images.begin_create_or_update(
        RG_IMAGES, "gal", "spec", definition_body("spec", os_state="Specialized")
    )
    frozen.advance(3600)
    poller = compute.gallery_image_versions.begin_create_or_update(
        RG_IMAGES, "gal", "spec", "1.0.0", version_body({"westeurope": 1})
    )
    frozen.advance(4 * 3600)
    image = poller.result().id
    with pytest.raises(HttpResponseError) as caught:
        batch_client(frozen).pool.create(RG_BATCH, ACCOUNT, "p", pool_body(image, 1))
    assert caught.value.error.code == "InvalidPropertyValue"
    assert caught.value.error.message == (
        "Only generalized gallery images can be used for Batch pools."
    )


def test_managed_image_in_another_region_is_refused(batch):
    """A managed image must be in the Batch account's region (R10)."""
    with pytest.raises(HttpResponseError) as caught:
        batch.pool.create(RG_BATCH, "batchprodeus", "p", pool_body(MANAGED_IMAGE, 1))
    assert caught.value.error.code == "InvalidPropertyValue"


def test_low_priority_nodes_allocate_with_dedicated(frozen: Sandbox):
    """Dedicated and low-priority targets are allocated together over the same resize."""
    image = frozen_version(frozen, {"westeurope": 1})
    batch = batch_client(frozen)
    body = pool_body(image)
    body["properties"]["scaleSettings"]["fixedScale"].update(
        {"targetDedicatedNodes": 200, "targetLowPriorityNodes": 200}
    )
    batch.pool.create(RG_BATCH, ACCOUNT, "p", body)
    frozen.advance(180)
    pool = batch.pool.get(RG_BATCH, ACCOUNT, "p")
    assert (pool.current_dedicated_nodes, pool.current_low_priority_nodes) == (100, 100)
    frozen.advance(180)
    pool = batch.pool.get(RG_BATCH, ACCOUNT, "p")
    assert (pool.allocation_state, pool.current_low_priority_nodes) == ("Steady", 200)


def test_pool_list_honours_maxresults(compute, batch):
    """`maxresults` sets the page size of the pool list."""
    image = make_version(compute).id
    for name in ("a", "b", "c"):
        batch.pool.create(RG_BATCH, ACCOUNT, name, pool_body(image))
    pages = list(batch.pool.list_by_batch_account(RG_BATCH, ACCOUNT, maxresults=1).by_page())
    assert [[p.name for p in page] for page in pages] == [["a"], ["b"], ["c"]]


def test_replicas_still_replicating_do_not_serve_yet(frozen: Sandbox):
    """Growing a pool before new replicas finish replicating is slowed as if they were absent."""
    image = frozen_version(frozen, {"westeurope": 1})
    compute = compute_client(frozen)
    update = update_version(compute, {"targetRegions": target_regions({"westeurope": 2})})
    batch = batch_client(frozen)
    batch.pool.create(RG_BATCH, ACCOUNT, "early", pool_body(image, 1200, "PT30M"))
    frozen.advance(1800)
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "early")) == (
        "Steady",
        1000,
        ["AllocationTimedOut"],
    )
    frozen.advance(4 * 3600)
    update.result()
    batch.pool.create(RG_BATCH, ACCOUNT, "late", pool_body(image, 1200, "PT30M"))
    frozen.advance(1800)
    # Nv is now 2400 on 2 replicas: still 2× slower; the early pool's demand counts too
    late = batch.pool.get(RG_BATCH, ACCOUNT, "late")
    assert nodes(late) == ("Steady", 1000, ["AllocationTimedOut"])


def test_pool_on_a_version_still_replicating_to_its_region_fails_allocation(frozen: Sandbox):
    """A pool whose version has no replica ready in its region yet fails with AllocationFailed."""
    compute = compute_client(frozen)
    poller = begin_frozen_version(frozen, {"westeurope": 1})
    image = compute.gallery_image_versions.get(RG_IMAGES, "gal", "render", "1.0.0").id
    batch = batch_client(frozen)
    batch.pool.create(RG_BATCH, ACCOUNT, "p", pool_body(image, 10))
    frozen.advance(4 * 3600)
    poller.result()
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "p")) == ("Steady", 0, ["AllocationFailed"])


def test_pool_reports_the_default_task_scheduling_policy(compute, batch):
    """A pool created without a task scheduling policy reports Batch's default, Spread."""
    pool = batch.pool.create(RG_BATCH, ACCOUNT, "spread", pool_body(make_version(compute).id))
    assert pool.task_scheduling_policy.node_fill_type == "Spread"


# Pool_Update with nodes present (API 2024-07-01+): these change; every other property is
# refused until the pool is Steady at zero nodes.
WITH_NODES = {
    "applicationPackages": [{"id": f"{ACCOUNT}/applications/render/versions/1"}],
    "metadata": [{"name": "team", "value": "vfx"}],
    "startTask": {"commandLine": "/bin/true"},
    "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 10, "resizeTimeout": "PT20M"}},
}
AT_ZERO_ONLY = {
    "vmSize": "Standard_D8s_v5",
    "displayName": "Render farm",
    "taskSlotsPerNode": 4,
    "interNodeCommunication": "Enabled",
    "networkConfiguration": {"subnetId": "/subscriptions/s/resourceGroups/n/x/subnets/b"},
    "taskSchedulingPolicy": {"nodeFillType": "Pack"},
    "userAccounts": [{"name": "render", "password": "p4ss-W0rd!"}],
    "mountConfiguration": [
        {
            "azureFileShareConfiguration": {
                "accountName": "acct",
                "azureFileUrl": "https://acct.file.core.windows.net/share",
                "accountKey": "key",
                "relativeMountPath": "share",
            }
        }
    ],
}


@pytest.mark.parametrize(("member", "value"), sorted(WITH_NODES.items()))
def test_pool_update_with_nodes_accepts_the_listed_properties(
    frozen: Sandbox, member: str, value: Any
):
    """applicationPackages, metadata, startTask and scaleSettings change on a pool with nodes."""
    batch = pool_with_nodes(frozen)
    updated = batch.pool.update(RG_BATCH, ACCOUNT, "p", {"properties": {member: value}})
    assert updated.current_dedicated_nodes == 10
    raw = rest(frozen, "GET", f"{POOL_PATH}/p")["properties"][member]
    assert _subset(value, raw), (value, raw)


@pytest.mark.parametrize(("member", "value"), sorted(AT_ZERO_ONLY.items()))
def test_every_other_pool_property_changes_only_at_zero_nodes(
    frozen: Sandbox, member: str, value: Any
):
    """With nodes the change is refused (409); Steady at 0 nodes it is stored and answered."""
    batch = pool_with_nodes(frozen)
    change = {"properties": {member: value}}
    with pytest.raises(ResourceExistsError) as caught:
        batch.pool.update(RG_BATCH, ACCOUNT, "p", change)
    assert caught.value.error.code == "PropertyCannotBeUpdated"
    assert member in caught.value.error.message
    zero = {"properties": {"scaleSettings": {"fixedScale": {"targetDedicatedNodes": 0}}}}
    batch.pool.update(RG_BATCH, ACCOUNT, "p", zero)
    frozen.advance(frozen.config.durations.node_removal)
    batch.pool.update(RG_BATCH, ACCOUNT, "p", change)
    raw = rest(frozen, "GET", f"{POOL_PATH}/p")["properties"][member]
    expected = value.upper() if member == "vmSize" else value
    if member == "userAccounts":  # a password is never answered
        expected = [{k: v for k, v in value[0].items() if k != "password"}]
    if member == "mountConfiguration":  # nor an account key
        share = {k: v for k, v in value[0]["azureFileShareConfiguration"].items()}
        share.pop("accountKey")
        expected = [{"azureFileShareConfiguration": share}]
    assert _subset(expected, raw), (expected, raw)


def test_pool_identity_changes_with_nodes_present(frozen: Sandbox):
    """A PATCH may change the pool's identity while it has nodes, and the pool answers it."""
    batch = pool_with_nodes(frozen)
    uami = (
        f"/subscriptions/{SUB}/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/"
        "userAssignedIdentities/batch"
    )
    identity = {"type": "UserAssigned", "userAssignedIdentities": {uami: {}}}
    batch.pool.update(RG_BATCH, ACCOUNT, "p", {"identity": identity})
    got = rest(frozen, "GET", f"{POOL_PATH}/p")
    assert got["identity"]["type"] == "UserAssigned"
    assert list(got["identity"]["userAssignedIdentities"]) == [uami]
    assert got["properties"]["currentDedicatedNodes"] == 10


def test_pool_answers_with_azure_spellings(frozen: Sandbox):
    """vmSize upper-cased, Resizing right after creation, no zero low-priority target, no tags."""
    image = frozen_version(frozen, {"westeurope": 1})
    batch = batch_client(frozen)
    created = batch.pool.create(RG_BATCH, ACCOUNT, "p", pool_body(image, 0))
    assert created.vm_size == "STANDARD_D4S_V5"
    assert created.allocation_state == "Resizing"  # even with no nodes to allocate
    raw = rest(frozen, "GET", f"{POOL_PATH}/p")
    assert "tags" not in raw
    assert "targetLowPriorityNodes" not in raw["properties"]["resizeOperationStatus"]
    frozen.advance(frozen.config.durations.pool_create)
    assert nodes(batch.pool.get(RG_BATCH, ACCOUNT, "p")) == ("Steady", 0, [])


POOL_PATH = (
    f"/subscriptions/{SUB}/resourceGroups/{RG_BATCH}/providers/Microsoft.Batch/batchAccounts/"
    f"{ACCOUNT}/pools"
)


def _subset(expected: Any, got: Any) -> bool:
    """Every member of `expected` is in `got` with the same value (Azure may add defaults)."""
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(_subset(v, got.get(k)) for k, v in expected.items())
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(expected) == len(got)
            and all(_subset(e, g) for e, g in zip(expected, got, strict=True))
        )
    return expected == got


UBUNTU = {
    "publisher": "canonical",
    "offer": "ubuntu-24_04-lts",
    "sku": "server",
    "version": "latest",
}
_VMC_PATH = "properties.deploymentConfiguration.virtualMachineConfiguration"


def marketplace_body(reference: dict[str, Any], dedicated: int = 0) -> dict[str, Any]:
    """A pool body booting the Marketplace image `reference`."""
    body = pool_body("", dedicated)
    body["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"][
        "imageReference"
    ] = reference
    return body


def test_a_marketplace_pool_is_created_answered_as_sent_and_allocates(frozen: Sandbox):
    """A pool on publisher/offer/sku/version is accepted (no catalogue), answered with the
    members as sent, and allocates its nodes like any pool."""
    body = marketplace_body(dict(UBUNTU), 10)
    rest(frozen, "PUT", f"{POOL_PATH}/market", body)
    frozen.advance(900)
    got = rest(frozen, "GET", f"{POOL_PATH}/market")
    vmc = got["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"]
    assert vmc["imageReference"] == UBUNTU
    assert nodes(batch_client(frozen).pool.get(RG_BATCH, ACCOUNT, "market")) == ("Steady", 10, [])


@pytest.mark.parametrize(
    ("reference", "code", "target"),
    [
        pytest.param(
            {"publisher": "canonical", "offer": "ubuntu-24_04-lts"},
            "MissingRequiredProperty",
            f"{_VMC_PATH}.imageReference.sku",
            id="no-sku",
        ),
        pytest.param(
            {"version": "latest"},
            "MissingRequiredProperty",
            f"{_VMC_PATH}.imageReference.publisher",
            id="version-only",
        ),
        pytest.param(
            {**UBUNTU, "id": MANAGED_IMAGE},
            "InvalidPropertyValue",
            f"{_VMC_PATH}.imageReference",
            id="id-and-marketplace",
        ),
    ],
)
def test_an_incomplete_or_ambiguous_image_reference_is_refused(
    batch, reference: dict[str, Any], code: str, target: str
):
    """An image reference needs one id or a whole publisher/offer/sku, never both."""
    with pytest.raises(HttpResponseError) as caught:
        batch.pool.create(RG_BATCH, ACCOUNT, "p", marketplace_body(reference))
    assert caught.value.status_code == 400
    assert caught.value.error.code == code
    assert caught.value.error.target == target


def test_a_pool_moves_between_a_custom_and_a_marketplace_image_at_zero_nodes(frozen: Sandbox):
    """The image reference is replaced whole by a PATCH at zero nodes, either way."""
    image = frozen_version(frozen, {"westeurope": 1})
    batch = batch_client(frozen)
    batch.pool.create(RG_BATCH, ACCOUNT, "p", pool_body(image, 0))
    frozen.advance(900)  # a new pool reads Resizing for a while
    to_market = {
        "deploymentConfiguration": marketplace_body(UBUNTU)["properties"]["deploymentConfiguration"]
    }
    rest(frozen, "PATCH", f"{POOL_PATH}/p", {"properties": to_market})
    vmc = rest(frozen, "GET", f"{POOL_PATH}/p")["properties"]["deploymentConfiguration"]
    assert vmc["virtualMachineConfiguration"]["imageReference"] == UBUNTU
    back = {"deploymentConfiguration": pool_body(image)["properties"]["deploymentConfiguration"]}
    rest(frozen, "PATCH", f"{POOL_PATH}/p", {"properties": back})
    vmc = rest(frozen, "GET", f"{POOL_PATH}/p")["properties"]["deploymentConfiguration"]
    assert vmc["virtualMachineConfiguration"]["imageReference"] == {"id": image}
