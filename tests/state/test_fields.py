"""The update-mode table: which rule of Microsoft's decides how each path changes."""

from __future__ import annotations

import pytest

from reconciler.state.fields import FIELDS, UpdateMode, rule_for
from reconciler.state.model import Kind

VMC = "properties.deploymentConfiguration.virtualMachineConfiguration"
IN, RS, ZERO, NEW, WO = (
    UpdateMode.IN_PLACE,
    UpdateMode.RESIZE,
    UpdateMode.AT_ZERO_NODES,
    UpdateMode.REPLACE,
    UpdateMode.WRITE_ONLY,
)


@pytest.mark.parametrize(
    ("path", "mode", "code"),
    [
        # Pool_Update with nodes present: applicationPackages, certificates, metadata,
        # scaleSettings, startTask (and tags).
        ("scale.fixed.dedicated", RS, "U9"),
        ("scale.fixed.lowPriority", RS, "U9"),
        ("scale.fixed.resizeTimeout", IN, "U10"),
        ("scale.autoScale.formula", IN, "U10"),
        ("startTask.commandLine", IN, "U10"),
        ("startTask.environment.LICENSE_KEY", IN, "U10"),
        ("metadata.reconcile.owner", IN, "U10"),
        ("properties.applicationPackages[0].id", IN, "U10"),
        ("properties.applicationPackages[0].version", IN, "U10"),
        ("properties.startTask.resourceFiles[0].httpUrl", IN, "U10"),
        ("tags.team", IN, "U10"),
        ("identity.type", IN, "U11"),
        ('identity.userAssignedIdentities["/subscriptions/s/x"]', IN, "U11"),
        # Every other updatable pool property: only while steady at 0 nodes.
        ("vmSize", ZERO, "U12"),
        ("image.id", ZERO, "U12"),
        ("nodeAgentSkuId", ZERO, "U12"),
        ("network.subnetId", ZERO, "U12"),
        ("network.publicIPs", ZERO, "U12"),
        ("network.inboundNatPools[ssh].backendPort", ZERO, "U12"),
        ("taskSlotsPerNode", ZERO, "U12"),
        ("interNodeCommunication", ZERO, "U12"),
        ("displayName", ZERO, "U12"),
        ("properties.mountConfiguration[0].azureFileShareConfiguration.accountName", ZERO, "U12"),
        (f"{VMC}.containerConfiguration.containerImageNames", ZERO, "U12"),
        (f"{VMC}.securityProfile.securityType", ZERO, "U12"),
        ("properties.userAccounts[0].elevationLevel", ZERO, "U12"),
        ("properties.taskSchedulingPolicy.nodeFillType", ZERO, "U12"),
        ("properties.upgradePolicy.mode", ZERO, "U12"),
        ("properties.networkConfiguration.enableAcceleratedNetworking", ZERO, "U12"),
        ("scale.fixed.nodeDeallocationOption", WO, "U13"),
    ],
)
def test_pool_paths_follow_pool_update_rules(path: str, mode: UpdateMode, code: str) -> None:
    """Each pool path gets the mode Microsoft's Pool_Update rules give it, and that rule's code."""
    rule = rule_for(Kind.POOL, path)
    assert (rule.mode, rule.code) == (mode, code)


def test_no_pool_path_forces_a_new_pool() -> None:
    """Pool_Update can change every pool property (some only at 0 nodes): none is a replacement."""
    assert all(rule.mode is not NEW for rule in FIELDS[Kind.POOL])


@pytest.mark.parametrize(
    ("kind", "path", "mode", "code"),
    [
        (Kind.GALLERY, "location", NEW, "U1"),
        (Kind.GALLERY, "description", IN, "U2"),
        (Kind.GALLERY, "tags.team", IN, "U2"),
        (Kind.IMAGE, "location", NEW, "U1"),
        (Kind.IMAGE, "osType", NEW, "U3"),
        (Kind.IMAGE, "hyperVGeneration", NEW, "U3"),
        (Kind.IMAGE, "identifier.sku", NEW, "U3"),
        (Kind.IMAGE, "description", IN, "U4"),
        (Kind.VERSION, "source.managedImage", NEW, "U5"),
        (Kind.VERSION, "source.snapshots.dataDisks[1]", NEW, "U5"),
        (Kind.VERSION, "targetRegions[eastus].storageAccountType", NEW, "U6"),
        (
            Kind.VERSION,
            "targetRegions[eastus].encryption.osDiskImage.diskEncryptionSetId",
            NEW,
            "U6",
        ),
        (Kind.VERSION, "targetRegions[eastus].excludeFromLatest", IN, "U7"),
        (Kind.VERSION, "properties.storageProfile.osDiskImage.hostCaching", NEW, "U5"),
        (Kind.VERSION, "properties.securityProfile.uefiSettings.signatureTemplateNames", NEW, "U5"),
        (Kind.VERSION, "properties.safetyProfile.blockDeletionBeforeEndOfLife", IN, "U7"),
        (Kind.IMAGE, "properties.purchasePlan.name", NEW, "U3"),
        (Kind.IMAGE, "properties.features[0].value", IN, "U4"),
        (Kind.VERSION, "targetRegions[eastus].replicas", IN, "U7"),
        (Kind.VERSION, "endOfLifeDate", IN, "U7"),
        (Kind.VERSION, "excludeFromLatest", IN, "U7"),
        (Kind.MANAGED_IMAGE, "tags.team", IN, "U8"),
        (Kind.MANAGED_IMAGE, "source.osDiskSnapshot", NEW, "U8"),
        (Kind.MANAGED_IMAGE, "source.dataDiskSnapshots[0]", NEW, "U8"),
    ],
)
def test_compute_paths_follow_their_update_operations(
    kind: Kind, path: str, mode: UpdateMode, code: str
) -> None:
    """Gallery resources change in place where their PATCH allows it; the rest means a new one."""
    rule = rule_for(kind, path)
    assert (rule.mode, rule.code) == (mode, code)


@pytest.mark.parametrize("kind", [Kind.GALLERY, Kind.IMAGE, Kind.VERSION, Kind.MANAGED_IMAGE])
def test_every_rule_has_a_code_and_a_reason(kind: Kind) -> None:
    """Every row names the rule that decides it, so a plan can say what forced an action."""
    for rule in (*FIELDS[kind], *FIELDS[Kind.POOL]):
        assert rule.code.startswith("U") and rule.why, rule
