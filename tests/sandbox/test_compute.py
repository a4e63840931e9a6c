"""Galleries, image definitions, image versions, managed images, snapshots and VMs through the
real azure-mgmt-compute client."""

from __future__ import annotations

import re

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from reconciler.sandbox import Sandbox
from tests.sandbox.conftest import (
    COMPUTE,
    MANAGED_IMAGE,
    RG_IMAGES,
    SNAPSHOT,
    begin_frozen_version,
    compute_client,
    definition_body,
    image_body,
    make_version,
    rest,
    target_regions,
    update_version,
    version_body,
)


def test_gallery_life_cycle_with_paging(compute):
    """A gallery is created, read, listed across pages, updated and deleted through LROs."""
    for name in ("g1", "g2", "g3"):
        created = compute.galleries.begin_create_or_update(
            RG_IMAGES, name, {"location": "westeurope", "tags": {"owner": "t"}}
        ).result()
        assert created.provisioning_state == "Succeeded"
    got = compute.galleries.get(RG_IMAGES, "g2")
    assert got.id == f"{COMPUTE}/galleries/g2"
    assert got.type == "Microsoft.Compute/galleries"
    assert got.identifier.unique_name.endswith("-G2")
    pages = list(compute.galleries.list_by_resource_group(RG_IMAGES).by_page())
    assert len(pages) == 2  # page size 2 in tests
    assert sorted(g.name for page in pages for g in page) == ["g1", "g2", "g3"]
    assert {g.name for g in compute.galleries.list()} == {"g1", "g2", "g3"}
    updated = compute.galleries.begin_update(
        RG_IMAGES, "g1", {"properties": {"description": "render images"}, "tags": {"owner": "u"}}
    ).result()
    assert updated.description == "render images"
    assert updated.tags == {"owner": "u"}
    compute.galleries.begin_delete(RG_IMAGES, "g1").result()
    with pytest.raises(ResourceNotFoundError):
        compute.galleries.get(RG_IMAGES, "g1")
    assert {g.name for g in compute.galleries.list_by_resource_group(RG_IMAGES)} == {"g2", "g3"}


def test_put_under_missing_resource_group_fails(compute):
    """A PUT under a resource group that does not exist fails with ResourceGroupNotFound."""
    with pytest.raises(ResourceNotFoundError) as caught:
        compute.galleries.begin_create_or_update("rg-nope", "g", {"location": "westeurope"})
    assert caught.value.error.code == "ResourceGroupNotFound"


def test_get_missing_gallery_raises_not_found(compute):
    """Reading a gallery that does not exist raises ResourceNotFoundError with ARM's code."""
    with pytest.raises(ResourceNotFoundError) as caught:
        compute.galleries.get(RG_IMAGES, "missing")
    assert caught.value.error.code == "ResourceNotFound"


def test_definition_life_cycle(compute):
    """Image definitions are created, listed in pages, updated in place and deleted."""
    compute.galleries.begin_create_or_update(RG_IMAGES, "gal", {"location": "westeurope"}).result()
    for sku in ("a", "b", "c"):
        compute.gallery_images.begin_create_or_update(
            RG_IMAGES, "gal", sku, definition_body(sku)
        ).result()
    listed = list(compute.gallery_images.list_by_gallery(RG_IMAGES, "gal"))
    assert [d.name for d in listed] == ["a", "b", "c"]
    got = compute.gallery_images.get(RG_IMAGES, "gal", "b")
    assert got.hyper_v_generation == "V2" and got.architecture == "x64"
    body = definition_body("b")
    body["properties"]["description"] = "new"
    del body["location"]  # GalleryImageUpdate carries no location
    updated = compute.gallery_images.begin_update(RG_IMAGES, "gal", "b", body).result()
    assert updated.description == "new"
    compute.gallery_images.begin_delete(RG_IMAGES, "gal", "b").result()
    assert [d.name for d in compute.gallery_images.list_by_gallery(RG_IMAGES, "gal")] == ["a", "c"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("osType", "Windows"),
        ("osState", "Specialized"),
        ("hyperVGeneration", "V1"),
        ("architecture", "Arm64"),
    ],
)
def test_definition_immutable_fields_are_refused(compute, field, value):
    """Changing osType, osState, hyperVGeneration or architecture fails with PropertyChangeNotAllowed."""
    compute.galleries.begin_create_or_update(RG_IMAGES, "gal", {"location": "westeurope"}).result()
    compute.gallery_images.begin_create_or_update(
        RG_IMAGES, "gal", "img", definition_body("img")
    ).result()
    body = definition_body("img")
    body["properties"][field] = value
    with pytest.raises(HttpResponseError) as caught:
        compute.gallery_images.begin_create_or_update(RG_IMAGES, "gal", "img", body)
    assert caught.value.status_code == 409
    assert caught.value.error.code == "PropertyChangeNotAllowed"


def test_definition_identifier_change_and_duplicate_are_refused(compute):
    """An identifier cannot change, and two definitions in a gallery cannot share one."""
    compute.galleries.begin_create_or_update(RG_IMAGES, "gal", {"location": "westeurope"}).result()
    compute.gallery_images.begin_create_or_update(
        RG_IMAGES, "gal", "one", definition_body("one")
    ).result()
    with pytest.raises(HttpResponseError) as caught:
        compute.gallery_images.begin_create_or_update(RG_IMAGES, "gal", "one", definition_body("x"))
    assert caught.value.error.code == "PropertyChangeNotAllowed"
    with pytest.raises(ResourceExistsError):
        compute.gallery_images.begin_create_or_update(
            RG_IMAGES, "gal", "two", definition_body("one")
        )


def test_deleting_parents_with_children_is_refused(compute):
    """Deleting a gallery with definitions, or a definition with versions, fails with 409."""
    make_version(compute)
    with pytest.raises(ResourceExistsError) as caught:
        compute.galleries.begin_delete(RG_IMAGES, "gal")
    assert caught.value.error.code == "CannotDeleteResource"
    with pytest.raises(ResourceExistsError):
        compute.gallery_images.begin_delete(RG_IMAGES, "gal", "render")
    compute.gallery_image_versions.begin_delete(RG_IMAGES, "gal", "render", "1.0.0").result()
    compute.gallery_images.begin_delete(RG_IMAGES, "gal", "render").result()
    compute.galleries.begin_delete(RG_IMAGES, "gal").result()
    assert list(compute.galleries.list_by_resource_group(RG_IMAGES)) == []


def test_version_life_cycle(compute):
    """A version is created from a managed image, listed in pages, updated and deleted."""
    version = make_version(compute, {"westeurope": 2, "eastus": 1})
    assert version.provisioning_state == "Succeeded"
    assert version.publishing_profile.replica_count == 1
    for name in ("1.0.1", "1.0.2"):
        compute.gallery_image_versions.begin_create_or_update(
            RG_IMAGES, "gal", "render", name, version_body({"westeurope": 1})
        ).result()
    pages = list(
        compute.gallery_image_versions.list_by_gallery_image(RG_IMAGES, "gal", "render").by_page()
    )
    assert [[v.name for v in page] for page in pages] == [["1.0.0", "1.0.1"], ["1.0.2"]]
    updated = update_version(
        compute, {"endOfLifeDate": "2030-01-01T00:00:00Z", "excludeFromLatest": True}
    ).result()
    assert updated.publishing_profile.exclude_from_latest is True
    assert updated.publishing_profile.end_of_life_date.year == 2030
    assert {
        r.name: r.regional_replica_count for r in updated.publishing_profile.target_regions
    } == {"West Europe": 2, "East US": 1}  # display names, as Azure answers
    compute.gallery_image_versions.begin_delete(RG_IMAGES, "gal", "render", "1.0.0").result()
    with pytest.raises(ResourceNotFoundError):
        compute.gallery_image_versions.get(RG_IMAGES, "gal", "render", "1.0.0")


def test_replication_progresses_over_simulated_time(frozen: Sandbox):
    """Replication reports Replicating with growing progress, then Completed, per region."""
    compute = compute_client(frozen)
    poller = begin_frozen_version(frozen, {"westeurope": 1, "eastus": 3}, settle=60)
    d = frozen.config.durations

    def status() -> dict[str, tuple[str, int]]:
        got = compute.gallery_image_versions.get(
            RG_IMAGES, "gal", "render", "1.0.0", expand="ReplicationStatus"
        )
        assert got.provisioning_state == ("Succeeded" if poller.done() else "Creating")
        return {s.region: (s.state, s.progress) for s in got.replication_status.summary}

    plain = compute.gallery_image_versions.get(RG_IMAGES, "gal", "render", "1.0.0")
    assert plain.replication_status is None  # only with $expand=ReplicationStatus
    weu, eus = "West Europe", "East US"  # the summary names regions by display name
    assert status() == {weu: ("Replicating", 0), eus: ("Replicating", 0)}
    frozen.advance(d.image_version_create + d.replication_per_region / 2)
    half = status()
    assert half[weu][0] == "Replicating" and 45 <= half[weu][1] <= 55
    assert half[eus][1] < half[weu][1]  # more replicas take a little longer
    frozen.advance(d.replication_per_region / 2 + 1)
    assert status()[weu] == ("Completed", 100)
    assert status()[eus][0] == "Replicating"
    frozen.advance(2 * d.replication_per_extra_replica)
    assert poller.result().provisioning_state == "Succeeded"
    assert status() == {weu: ("Completed", 100), eus: ("Completed", 100)}
    got = compute.gallery_image_versions.get(
        RG_IMAGES, "gal", "render", "1.0.0", expand="ReplicationStatus"
    )
    assert got.replication_status.aggregated_state == "Completed"


def test_new_regions_and_replicas_replicate_again(frozen: Sandbox):
    """Adding a region or replicas replicates only what changed, taking simulated time again."""
    compute = compute_client(frozen)
    poller = begin_frozen_version(frozen, {"westeurope": 1}, settle=60)
    frozen.advance(4 * 3600)
    poller.result()
    update = update_version(
        compute, {"targetRegions": target_regions({"westeurope": 1, "northeurope": 2})}
    )
    got = compute.gallery_image_versions.get(
        RG_IMAGES, "gal", "render", "1.0.0", expand="ReplicationStatus"
    )
    assert got.provisioning_state == "Updating"
    states = {s.region: s.state for s in got.replication_status.summary}
    assert states == {"West Europe": "Completed", "North Europe": "Replicating"}
    frozen.advance(4 * 3600)
    assert update.result().provisioning_state == "Succeeded"


def test_version_storage_account_type_change_is_refused(compute):
    """storageAccountType of a version cannot change in place."""
    make_version(compute)
    with pytest.raises(HttpResponseError) as caught:
        update_version(compute, {"storageAccountType": "Premium_LRS"})
    assert caught.value.error.code == "PropertyChangeNotAllowed"


def test_version_with_missing_source_fails(compute):
    """Creating a version whose source does not exist fails with InvalidParameter."""
    compute.galleries.begin_create_or_update(RG_IMAGES, "gal", {"location": "westeurope"}).result()
    compute.gallery_images.begin_create_or_update(
        RG_IMAGES, "gal", "render", definition_body()
    ).result()
    with pytest.raises(HttpResponseError) as caught:
        compute.gallery_image_versions.begin_create_or_update(
            RG_IMAGES,
            "gal",
            "render",
            "1.0.0",
            version_body({"westeurope": 1}, f"{COMPUTE}/images/nope"),
        )
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidParameter"


def test_version_from_snapshots_and_from_another_version(compute):
    """Versions can come from an OS-disk snapshot or from another gallery version."""
    first = make_version(compute)
    body = version_body({"westeurope": 1})
    body["properties"]["storageProfile"] = {"osDiskImage": {"source": {"id": SNAPSHOT}}}
    compute.gallery_image_versions.begin_create_or_update(
        RG_IMAGES, "gal", "render", "1.0.1", body
    ).result()
    copy = compute.gallery_image_versions.begin_create_or_update(
        RG_IMAGES, "gal", "render", "1.0.2", version_body({"westeurope": 1}, first.id)
    ).result()
    assert copy.storage_profile.source.id == first.id


def test_managed_image_life_cycle(compute):
    """A managed image is created from a snapshot, listed, re-tagged and deleted; other changes are refused."""
    body = image_body(hyperVGeneration="V2")
    image = compute.images.begin_create_or_update(RG_IMAGES, "img-new", body).result()
    assert image.provisioning_state == "Succeeded"
    assert image.storage_profile.os_disk.snapshot.id == SNAPSHOT
    names = {i.name for i in compute.images.list_by_resource_group(RG_IMAGES)}
    assert names == {"img-new", "img-build-render-2026-10", "img-legacy-render"}
    assert {i.name for i in compute.images.list()} == names
    tagged = compute.images.begin_update(RG_IMAGES, "img-new", {"tags": {"a": "b"}}).result()
    assert tagged.tags == {"a": "b"}
    with pytest.raises(HttpResponseError) as caught:
        compute.images.begin_update(
            RG_IMAGES, "img-new", {"properties": {"hyperVGeneration": "V1"}}
        )
    assert caught.value.error.code == "PropertyChangeNotAllowed"
    compute.images.begin_delete(RG_IMAGES, "img-new").result()
    with pytest.raises(ResourceNotFoundError):
        compute.images.get(RG_IMAGES, "img-new")


def test_managed_image_from_missing_snapshot_fails(compute):
    """A managed image whose snapshot does not exist is refused."""
    body = image_body(f"{COMPUTE}/snapshots/x")
    with pytest.raises(ResourceNotFoundError):
        compute.images.begin_create_or_update(RG_IMAGES, "img-x", body)


def test_seeded_snapshots_and_vms_are_readable(compute):
    """Seeded snapshots and VMs can be read and listed."""
    snap = compute.snapshots.get(RG_IMAGES, "snap-render-os-2026-10")
    assert snap.id == SNAPSHOT and snap.os_type == "Linux" and snap.disk_size_gb == 64
    assert len(list(compute.snapshots.list_by_resource_group(RG_IMAGES))) == 8
    vm = compute.virtual_machines.get(RG_IMAGES, "vm-build-sim-01")
    assert vm.hardware_profile.vm_size == "Standard_D4s_v5"
    assert compute.images.get(RG_IMAGES, "img-build-render-2026-10").id == MANAGED_IMAGE


def test_service_filled_disk_fields_are_reported(compute):
    """Images, versions and snapshots carry the disk fields Azure fills in, sized from the source."""
    data = f"{COMPUTE}/snapshots/snap-render-data0-2026-10"
    image = compute.images.begin_create_or_update(
        RG_IMAGES,
        "img-new",
        image_body(data=(data,)),
    ).result()
    storage = image.storage_profile
    assert (storage.os_disk.caching, storage.os_disk.storage_account_type) == (
        "ReadWrite",
        "Standard_LRS",
    )
    assert (storage.os_disk.disk_size_gb, storage.data_disks[0].disk_size_gb) == (64, 256)
    assert storage.zone_resilient is None  # answered only when sent
    assert (
        compute.images.get(RG_IMAGES, "img-build-render-2026-10").storage_profile.data_disks == []
    )
    version = make_version(compute, source=f"{COMPUTE}/images/img-new")
    disks = version.storage_profile
    # As Azure answers for a managed-image source: ReadWrite, the image's size, empty source.
    assert (disks.os_disk_image.size_in_gb, disks.os_disk_image.host_caching) == (64, "ReadWrite")
    assert disks.os_disk_image.source is not None and disks.os_disk_image.source.id is None
    assert [(d.lun, d.size_in_gb, d.host_caching) for d in disks.data_disk_images] == [
        (0, 256, "None")
    ]
    assert version.safety_profile.reported_for_policy_violation is False
    snapshot = compute.snapshots.get(RG_IMAGES, SNAPSHOT.rsplit("/", 1)[-1])
    assert snapshot.encryption.type == "EncryptionAtRestWithPlatformKey"


GALLERY_API = "2026-03-03"


def test_versions_answer_with_azure_spellings(sandbox: Sandbox, compute):
    """Display-name regions, +00:00 dates (7 digits on publishedDate), safetyProfile default,
    no per-region excludeFromLatest and no tags unless sent, as recorded from Azure."""
    compute.galleries.begin_create_or_update(RG_IMAGES, "gal", {"location": "westeurope"}).result()
    compute.gallery_images.begin_create_or_update(
        RG_IMAGES, "gal", "render", definition_body()
    ).result()
    body = version_body({"eastus": 1, "westeurope": 2})
    body["properties"]["publishingProfile"]["endOfLifeDate"] = "2030-06-01T00:00:00Z"
    body["properties"]["publishingProfile"]["targetRegions"][1]["excludeFromLatest"] = True
    compute.gallery_image_versions.begin_create_or_update(
        RG_IMAGES, "gal", "render", "1.0.0", body
    ).result()
    raw = rest(
        sandbox, "GET", f"{COMPUTE}/galleries/gal/images/render/versions/1.0.0", None, GALLERY_API
    )
    profile = raw["properties"]["publishingProfile"]
    assert [r["name"] for r in profile["targetRegions"]] == ["East US", "West Europe"]
    assert "excludeFromLatest" not in profile["targetRegions"][0]
    assert profile["targetRegions"][1]["excludeFromLatest"] is True
    assert profile["endOfLifeDate"] == "2030-06-01T00:00:00+00:00"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00", profile["publishedDate"])
    assert raw["properties"]["safetyProfile"]["allowDeletionOfReplicatedLocations"] is False
    assert "tags" not in raw
    gallery = rest(sandbox, "GET", f"{COMPUTE}/galleries/gal", None, GALLERY_API)
    assert "tags" not in gallery


def test_a_replicated_region_is_removed_only_when_the_version_allows_it(compute):
    """allowDeletionOfReplicatedLocations is false by default: dropping a region needs it true."""
    make_version(compute, {"westeurope": 1, "eastus": 1})
    with pytest.raises(ResourceExistsError) as caught:
        update_version(compute, {"targetRegions": target_regions({"westeurope": 1})}).result()
    assert caught.value.error.code == "OperationNotAllowed"
    allowed = update_version(
        compute,
        {"targetRegions": target_regions({"westeurope": 1})},
        safetyProfile={"allowDeletionOfReplicatedLocations": True},
    ).result()
    assert [r.name for r in allowed.publishing_profile.target_regions] == ["West Europe"]
