"""The writable surface walked from the committed swaggers: every kind, every leaf."""

from __future__ import annotations

import pytest

from reconciler.openapi.surface import SurfaceKind, writable_fields


@pytest.mark.parametrize(
    ("kind", "count"),
    [
        (SurfaceKind.POOL, 155),
        (SurfaceKind.GALLERY, 13),
        (SurfaceKind.IMAGE, 26),
        (SurfaceKind.VERSION, 61),
        (SurfaceKind.MANAGED_IMAGE, 24),
    ],
)
def test_each_kind_has_the_writable_leaves_its_swagger_defines(kind: SurfaceKind, count: int):
    """The walk finds exactly the writable leaves of the create body (279 in all)."""
    fields = writable_fields(kind)
    assert len(fields) == count
    assert len({f.path for f in fields}) == count


@pytest.mark.parametrize("kind", list(SurfaceKind))
def test_read_only_and_arm_set_members_are_not_writable(kind: SurfaceKind):
    """Status members (provisioningState, systemData, id, name, etag) never appear."""
    for field in writable_fields(kind):
        assert field.path[0] not in ("id", "name", "type", "etag", "systemData")
        assert "provisioningState" not in field.path
        assert "replicationStatus" not in field.path


def test_secrets_are_the_members_azure_marks_secret():
    """Pool secrets are exactly the x-ms-secret members: passwords, keys, protected settings."""
    secrets = {f.dotted for f in writable_fields(SurfaceKind.POOL) if f.secret}
    vm = "properties.deploymentConfiguration.virtualMachineConfiguration"
    mounts = "properties.mountConfiguration.[]"
    assert secrets == {
        f"{vm}.containerConfiguration.containerRegistries.[].password",
        f"{vm}.extensions.[].protectedSettings",
        "properties.userAccounts.[].password",
        "properties.userAccounts.[].linuxUserConfiguration.sshPrivateKey",
        "properties.startTask.containerSettings.registry.password",
        f"{mounts}.azureBlobFileSystemConfiguration.accountKey",
        f"{mounts}.azureBlobFileSystemConfiguration.sasKey",
        f"{mounts}.cifsMountConfiguration.password",
        f"{mounts}.azureFileShareConfiguration.accountKey",
    }


def test_leaves_carry_enum_bounds_and_defaults_from_the_swagger():
    """A closed or open enum, a bound and a default come through as the swagger states them."""
    by_path = {f.dotted: f for f in writable_fields(SurfaceKind.POOL)}
    policy = by_path["properties.interNodeCommunication"]
    assert set(policy.enum) == {"Enabled", "Disabled"}
    assert by_path["properties.vmSize"].type == "string"
    assert by_path["properties.scaleSettings.fixedScale.targetDedicatedNodes"].type == "integer"
    version = {f.dotted: f for f in writable_fields(SurfaceKind.VERSION)}
    assert version["properties.publishingProfile.targetRegions.[].name"].type == "string"
