"""The declared-only diff: normalisation, defaults, complete collections, secrets, classification."""

from __future__ import annotations

from reconciler.plan.diff import diff_resource
from reconciler.plan.model import Action
from reconciler.secrets import MASK
from reconciler.state.model import Kind

POOL_COMPLETE = ("scale.", "startTask.", "startTask.environment.", "network.inboundNatPools[")
VERSION_COMPLETE = ("targetRegions[", "source.", "source.snapshots.dataDisks[")


def test_equal_durations_in_different_spellings_are_no_change():
    """``PT15M``, ``PT900S`` and ``00:15:00`` are one duration: no perpetual diff."""
    for live_value in ("PT15M", "PT900S", "00:15:00", "pt15m"):
        d = diff_resource(
            Kind.POOL,
            {"scale.fixed.resizeTimeout": "PT15M"},
            {"scale.fixed.resizeTimeout": live_value},
        )
        assert d.paths == (), live_value


def test_location_and_id_casing_is_no_change():
    """Azure echoes locations and ids in its own casing; they compare normalised."""
    d = diff_resource(
        Kind.POOL,
        {"image.id": "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/images/Img"},
        {"image.id": "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/images/img/"},
    )
    assert d.paths == ()
    d = diff_resource(Kind.GALLERY, {"location": "West Europe"}, {"location": "westeurope"})
    assert d.paths == ()
    d = diff_resource(
        Kind.VERSION,
        {"targetRegions[West Europe].replicas": 2},
        {"targetRegions[westeurope].replicas": 2},
        complete=VERSION_COMPLETE,
    )
    assert d.paths == ()


def test_enum_casing_is_no_change():
    """Enumerations Azure returns as ``nonAdmin`` equal the spec's ``NonAdmin``."""
    d = diff_resource(
        Kind.POOL,
        {"startTask.userIdentity.elevationLevel": "NonAdmin", "vmSize": "standard_d4s_v5"},
        {"startTask.userIdentity.elevationLevel": "nonAdmin", "vmSize": "Standard_D4s_v5"},
    )
    assert d.paths == ()


def test_undeclared_fields_and_tags_are_not_compared():
    """Tags, metadata and fields the spec does not declare are not managed."""
    d = diff_resource(
        Kind.POOL,
        {"tags.team": "vfx", "metadata.team": "vfx"},
        {
            "tags.team": "vfx",
            "tags.createdBy": "portal",
            "metadata.team": "vfx",
            "metadata.other": "x",
            "displayName": "y",
        },
        complete=POOL_COMPLETE,
    )
    assert d.paths == ()


def test_azure_defaults_equal_an_omitted_value():
    """A live value equal to Azure's default of an undeclared path is not a change."""
    d = diff_resource(
        Kind.POOL,
        {"startTask.commandLine": "run", "scale.fixed.dedicated": 2},
        {
            "startTask.commandLine": "run",
            "startTask.maxTaskRetryCount": 0,
            "startTask.waitForSuccess": True,
            "scale.fixed.dedicated": 2,
            "scale.fixed.lowPriority": 0,
            "interNodeCommunication": "Disabled",
        },
        complete=POOL_COMPLETE,
    )
    assert d.paths == ()


def test_members_of_complete_collections_missing_from_the_spec_are_changes():
    """A start-task setting or environment variable Azure has and the spec dropped is removed."""
    d = diff_resource(
        Kind.POOL,
        {"startTask.commandLine": "run"},
        {
            "startTask.commandLine": "run",
            "startTask.maxTaskRetryCount": 3,
            "startTask.environment.OLD": "x",
        },
        complete=POOL_COMPLETE,
    )
    assert d.changed_paths == ("startTask.environment.OLD", "startTask.maxTaskRetryCount")
    assert d.action() is Action.UPDATE
    removed = {p.path: p for p in d.paths}
    assert removed["startTask.environment.OLD"].before == MASK  # live env values may be secrets
    assert removed["startTask.maxTaskRetryCount"].after is None


def test_removing_a_target_region_is_in_place():
    """Dropping a whole region updates in place although storageAccountType alone cannot change."""
    d = diff_resource(
        Kind.VERSION,
        {"targetRegions[westeurope].replicas": 1},
        {
            "targetRegions[westeurope].replicas": 1,
            "targetRegions[westeurope].storageAccountType": "Standard_LRS",
            "targetRegions[eastus].replicas": 2,
            "targetRegions[eastus].storageAccountType": "Standard_LRS",
        },
        complete=VERSION_COMPLETE,
    )
    assert d.changed_paths == (
        "targetRegions[eastus].replicas",
        "targetRegions[eastus].storageAccountType",
    )
    assert d.action() is Action.UPDATE


def test_changing_a_regions_storage_type_forces_replace():
    """storageAccountType of an existing region is not updatable: replace, with the path named."""
    d = diff_resource(
        Kind.VERSION,
        {"targetRegions[westeurope].storageAccountType": "Premium_LRS"},
        {"targetRegions[westeurope].storageAccountType": "Standard_LRS"},
    )
    assert d.action() is Action.REPLACE
    assert d.replace_paths == ("targetRegions[westeurope].storageAccountType",)


def test_secret_references_compare_by_presence_only():
    """A ``${env:X}`` value equals any live value; only its absence is a change, shown masked."""
    ref = {"startTask.environment.KEY": "${env:KEY}"}
    assert diff_resource(Kind.POOL, ref, {"startTask.environment.KEY": "s3cret"}).paths == ()
    d = diff_resource(Kind.POOL, ref, {})
    (path,) = d.paths
    assert (path.before, path.after, path.secret) == (None, MASK, True)


def test_pool_actions_follow_the_field_rules():
    """Node counts resize; vmSize and the subnet change only at zero nodes."""
    assert (
        diff_resource(
            Kind.POOL, {"scale.fixed.dedicated": 5}, {"scale.fixed.dedicated": 2}
        ).action()
        is Action.RESIZE
    )
    assert (
        diff_resource(
            Kind.POOL, {"vmSize": "standard_d8s_v5"}, {"vmSize": "standard_d4s_v5"}
        ).action()
        is Action.SCALE_TO_ZERO_UPDATE
    )
    assert (
        diff_resource(
            Kind.POOL,
            {
                "network.subnetId": "/subscriptions/s/resourcegroups/r/x/b",
                "scale.fixed.dedicated": 5,
            },
            {
                "network.subnetId": "/subscriptions/s/resourcegroups/r/x/a",
                "scale.fixed.dedicated": 2,
            },
        ).action()
        is Action.SCALE_TO_ZERO_UPDATE  # Pool_Update changes the network at 0 nodes (U12)
    )
    mixed = diff_resource(
        Kind.POOL,
        {"scale.fixed.dedicated": 5, "metadata.team": "a"},
        {"scale.fixed.dedicated": 2, "metadata.team": "b"},
    )
    assert mixed.action() is Action.UPDATE


def test_managed_image_changes_only_tags_in_place():
    """A managed image updates tags in place; any other change means a new image."""
    tags = diff_resource(Kind.MANAGED_IMAGE, {"tags.team": "a"}, {"tags.team": "b"})
    assert tags.action() is Action.UPDATE
    source = diff_resource(
        Kind.MANAGED_IMAGE,
        {"source.osDiskSnapshot": "/subscriptions/s/resourcegroups/r/snapshots/b"},
        {"source.osDiskSnapshot": "/subscriptions/s/resourcegroups/r/snapshots/a"},
    )
    assert source.action() is Action.REPLACE


def test_list_order_has_no_meaning():
    """Public IP lists compare as sets (sorted), not in Azure's order."""
    d = diff_resource(
        Kind.POOL,
        {
            "network.publicIPs": (
                "/subscriptions/s/resourcegroups/r/ip/b",
                "/subscriptions/s/resourcegroups/r/ip/a",
            )
        },
        {
            "network.publicIPs": (
                "/subscriptions/s/resourcegroups/r/ip/a",
                "/subscriptions/s/resourcegroups/r/ip/b",
            )
        },
    )
    assert d.paths == ()


def test_write_only_fields_are_never_diffed():
    """nodeDeallocationOption is sent on resize and never reported back."""
    d = diff_resource(Kind.POOL, {"scale.fixed.nodeDeallocationOption": "Requeue"}, {})
    assert d.paths == ()


def test_changed_values_keep_the_spelling_each_side_wrote():
    """A change shows `after` as the spec wrote it (vmSize, id case): normalised only to compare."""
    wrote = "/subscriptions/S/resourceGroups/rg-images/providers/Microsoft.Compute/galleries/g/images/i/versions/1.1.0"
    d = diff_resource(
        Kind.POOL,
        {"vmSize": "Standard_D8s_v5", "image.id": wrote},
        {
            "vmSize": "standard_d4s_v5",
            "image.id": wrote.lower().replace("1.1.0", "1.0.0"),
        },
    )
    got = {p.path: (p.before, p.after) for p in d.paths}
    assert got == {
        "image.id": (wrote.lower().replace("1.1.0", "1.0.0"), wrote),
        "vmSize": ("standard_d4s_v5", "Standard_D8s_v5"),
    }
    same_but_case = diff_resource(
        Kind.POOL,
        {"vmSize": "Standard_D8s_v5", "image.id": wrote},
        {"vmSize": "standard_d8s_v5", "image.id": wrote.lower() + "/"},
    )
    assert same_but_case.paths == ()


MARKET = {
    "image.publisher": "canonical",
    "image.offer": "ubuntu-24_04-lts",
    "image.sku": "server",
    "image.version": "latest",
}
CUSTOM = {"image.id": "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/images/i"}


def test_marketplace_names_compare_case_blind_and_version_latest_is_the_default():
    """Azure matches publisher/offer/sku case-blind, and an omitted version is `latest`."""
    live = {
        "image.publisher": "Canonical",
        "image.offer": "Ubuntu-24_04-LTS",
        "image.sku": "Server",
    }
    d = diff_resource(Kind.POOL, MARKET, live, complete=(*POOL_COMPLETE, "image."))
    assert d.paths == ()
    pinned = {**MARKET, "image.version": "1.0.20261101"}
    d = diff_resource(Kind.POOL, pinned, live, complete=(*POOL_COMPLETE, "image."))
    assert [(p.path, p.before, p.after) for p in d.paths] == [
        ("image.version", None, "1.0.20261101")
    ]
    assert d.action() is Action.SCALE_TO_ZERO_UPDATE


def test_a_move_between_a_custom_and_a_marketplace_image_is_an_at_zero_nodes_update():
    """Either way, the other kind's members go (the image is declared completely) and the
    pool is updated at zero nodes like any image change, never replaced."""
    complete = (*POOL_COMPLETE, "image.")
    to_market = diff_resource(Kind.POOL, MARKET, CUSTOM, complete=complete)
    # `version: latest` is Azure's default, so it is no difference of its own either way.
    marketplace = {"image.publisher", "image.offer", "image.sku"}
    assert set(to_market.changed_paths) == {"image.id", *marketplace}
    assert to_market.action() is Action.SCALE_TO_ZERO_UPDATE
    assert {p.code for p in to_market.paths} == {"U12"}
    to_custom = diff_resource(Kind.POOL, CUSTOM, MARKET, complete=complete)
    assert set(to_custom.changed_paths) == {"image.id", *marketplace}
    assert to_custom.action() is Action.SCALE_TO_ZERO_UPDATE
