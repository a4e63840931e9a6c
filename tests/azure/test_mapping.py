"""Mapping round trips: flat → SDK body → JSON → (sandbox) → SDK → flat is the identity for every kind."""

from __future__ import annotations

import itertools
import json
from datetime import date
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from reconciler.azure import mapping
from reconciler.azure.operations import AzureOperations
from reconciler.state import surface
from reconciler.state.model import Kind
from tests.azure.conftest import (
    ACCOUNT,
    COMPUTE,
    DEFINITION,
    GALLERY,
    MANAGED_IMAGE,
    OWNED,
    SNAPSHOT,
    SNAPSHOT_DATA,
    VERSION,
    definition_props,
    make_world,
    version_props,
)

LOWER = "abcdefghijklmnopqrstuvwxyz"
names = st.text(LOWER + "0123456789", min_size=1, max_size=8).filter(lambda s: s[0].isalpha())
values = st.text(LOWER + LOWER.upper() + "0123456789 -_.:/", max_size=20)
tags = st.dictionaries(names.map(lambda s: f"tags.{s}"), values, max_size=3).map(
    lambda d: {**d, **OWNED}
)
regions = st.sampled_from(["westeurope", "northeurope", "eastus", "uksouth"])
SUBNET = "/subscriptions/s/resourcegroups/net/providers/microsoft.network/virtualnetworks/v/subnets/batch"
PIP = "/subscriptions/s/resourcegroups/net/providers/microsoft.network/publicipaddresses/"


def _opt(path: str, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), strategy.map(lambda v: {path: v}))


def _merge(*parts: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(*parts).map(lambda ds: {k: v for d in ds for k, v in d.items()})


galleries = _merge(
    regions.map(lambda r: {"location": r}), _opt("description", values.filter(bool)), tags
)

images = _merge(
    st.fixed_dictionaries(
        {
            "location": st.just("westeurope"),
            "osType": st.sampled_from(["Linux", "Windows"]),
            "osState": st.sampled_from(["Generalized", "Specialized"]),
            "hyperVGeneration": st.sampled_from(["V1", "V2"]),
            "architecture": st.sampled_from(["x64", "Arm64"]),
            "identifier.publisher": names,
            "identifier.offer": names,
            "identifier.sku": names,
        }
    ),
    _opt("description", values.filter(bool)),
    tags,
)

target_regions = st.dictionaries(
    regions,
    st.tuples(st.integers(1, 10), st.sampled_from(["Standard_LRS", "Standard_ZRS", "Premium_LRS"])),
    min_size=1,
    max_size=3,
).map(
    lambda d: {
        **{f"targetRegions[{r}].replicas": n for r, (n, _) in d.items()},
        **{f"targetRegions[{r}].storageAccountType": t for r, (_, t) in d.items()},
        "targetRegions[westeurope].replicas": d.get("westeurope", (1, ""))[0],
        "targetRegions[westeurope].storageAccountType": d.get("westeurope", (0, "Standard_LRS"))[1],
    }
)
sources = st.one_of(
    st.just({"source.managedImage": MANAGED_IMAGE.lower()}),
    st.booleans().map(
        lambda data: {
            "source.snapshots.osDisk": SNAPSHOT.lower(),
            **({"source.snapshots.dataDisks[0]": SNAPSHOT_DATA.lower()} if data else {}),
        }
    ),
)
versions = _merge(
    st.just({"location": "westeurope"}),
    sources,
    target_regions,
    st.booleans().map(lambda b: {"excludeFromLatest": b}),
    # Drawn within 2030 (replacing the year of 29 February would raise).
    _opt(
        "endOfLifeDate",
        st.dates(date(2030, 1, 1), date(2030, 12, 31)).map(lambda d: d.isoformat()),
    ),
    tags,
)

managed_images = _merge(
    st.fixed_dictionaries(
        {
            "location": st.just("westeurope"),
            "osType": st.sampled_from(["Linux", "Windows"]),
            "hyperVGeneration": st.sampled_from(["V1", "V2"]),
            "source.osDiskSnapshot": st.just(SNAPSHOT.lower()),
        }
    ),
    _opt("source.dataDiskSnapshots[1]", st.just(SNAPSHOT_DATA.lower())),
    tags,
)

durations = st.sampled_from(["PT15M", "PT20M", "PT1H", "PT1H30M", "P1DT2H"])
fixed_scale = st.fixed_dictionaries(
    {
        "scale.fixed.dedicated": st.integers(0, 20),
        "scale.fixed.lowPriority": st.integers(0, 20),
        "scale.fixed.resizeTimeout": durations,
    }
)
auto_scale = st.fixed_dictionaries(
    {
        "scale.autoScale.formula": st.just("$TargetDedicatedNodes = 2;"),
        "scale.autoScale.evaluationInterval": st.sampled_from(["PT5M", "PT15M", "PT1H"]),
    }
)
start_task = _merge(
    st.fixed_dictionaries(
        {
            "startTask.commandLine": values.filter(str.strip),
            "startTask.waitForSuccess": st.booleans(),
            "startTask.maxTaskRetryCount": st.integers(0, 5),
            "startTask.userIdentity.elevationLevel": st.sampled_from(["Admin", "NonAdmin"]),
            "startTask.userIdentity.scope": st.sampled_from(["Pool", "Task"]),
        }
    ),
    st.dictionaries(names.map(lambda s: f"startTask.environment.{s.upper()}"), values, max_size=3),
)
network = _merge(
    st.just({"network.subnetId": SUBNET}),
    st.one_of(
        st.just({"network.publicIPAddressProvisioningType": "BatchManaged"}),
        st.lists(names, min_size=1, max_size=3, unique=True).map(
            lambda ns: {
                "network.publicIPAddressProvisioningType": "UserManaged",
                "network.publicIPs": tuple(sorted(PIP + n for n in ns)),
            }
        ),
    ),
    st.dictionaries(
        names,
        st.tuples(st.sampled_from(["TCP", "UDP"]), st.integers(1, 65535), st.integers(1, 50)),
        max_size=2,
    ).map(
        lambda d: {
            k: v
            for name, (proto, port, base) in d.items()
            for k, v in {
                f"network.inboundNatPools[{name}].protocol": proto,
                f"network.inboundNatPools[{name}].backendPort": port,
                f"network.inboundNatPools[{name}].frontendPortRangeStart": 1000 + base * 100,
                f"network.inboundNatPools[{name}].frontendPortRangeEnd": 1099 + base * 100,
            }.items()
        }
    ),
)
marketplace = st.fixed_dictionaries(
    {
        "image.publisher": st.sampled_from(["canonical", "MicrosoftWindowsServer"]),
        "image.offer": st.sampled_from(["ubuntu-24_04-lts", "WindowsServer"]),
        "image.sku": st.sampled_from(["server", "2022-datacenter"]),
        "image.version": st.sampled_from(["latest", "1.0.20261101"]),
    }
)
pools = _merge(
    st.fixed_dictionaries(
        {
            "vmSize": st.sampled_from(["standard_d4s_v5", "standard_e8s_v5"]),
            "interNodeCommunication": st.sampled_from(["Enabled", "Disabled"]),
            "taskSlotsPerNode": st.integers(1, 4),
            "nodeAgentSkuId": st.just("batch.node.ubuntu 22.04"),
            "metadata.reconcile.managed-by": st.just("reconcile"),
        }
    ),
    # A custom image by id, or a Marketplace image by publisher/offer/sku/version.
    st.one_of(st.just({"image.id": VERSION.lower()}), marketplace),
    _opt("displayName", values.filter(str.strip)),
    st.one_of(fixed_scale, auto_scale),
    st.one_of(st.just({}), start_task),
    st.one_of(st.just({}), network),
    st.dictionaries(names.map(lambda s: f"metadata.{s}"), values, max_size=2),
    tags,
)

STRATEGIES = {
    Kind.GALLERY: galleries,
    Kind.IMAGE: images,
    Kind.VERSION: versions,
    Kind.MANAGED_IMAGE: managed_images,
    Kind.POOL: pools,
}
IDS = {
    Kind.GALLERY: GALLERY,
    Kind.IMAGE: DEFINITION,
    Kind.VERSION: VERSION,
    Kind.MANAGED_IMAGE: MANAGED_IMAGE,
    Kind.POOL: f"{ACCOUNT}/pools/p",
}


def _readable(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k not in mapping.WRITE_ONLY}


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_pure_round_trip_every_kind(data: st.DataObject) -> None:
    """flat → SDK body → JSON text → SDK model → flat gives back the flat mapping, for every kind."""
    for kind, strategy in STRATEGIES.items():
        props = data.draw(strategy, label=kind.value)
        location = props.get("location", "westeurope")
        body = mapping.to_body(kind, props, location=location)
        doc = json.loads(json.dumps(body.as_dict()))
        doc["id"] = IDS[kind]
        back = mapping.flat_properties(kind, type(body)(doc))
        assert back == _readable(props)


def test_write_only_paths_are_sent_but_not_read() -> None:
    """nodeDeallocationOption is sent on write and is not part of what is read back."""
    props = {"scale.fixed.dedicated": 1, "scale.fixed.nodeDeallocationOption": "TaskCompletion"}
    doc = mapping.to_json(Kind.POOL, props)
    assert doc["properties"]["scaleSettings"]["fixedScale"]["nodeDeallocationOption"] == (
        "TaskCompletion"
    )
    assert mapping.flat_properties(Kind.POOL, doc) == {"scale.fixed.dedicated": 1}


def test_normalisation_of_azure_spellings() -> None:
    """Azure's spellings (case, spaces, hh:mm:ss durations, datetimes) normalise to the vocabulary."""
    doc = {
        "id": "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Batch/batchAccounts/A/pools/P",
        "properties": {
            "vmSize": "STANDARD_D4S_V5",
            "deploymentConfiguration": {
                "virtualMachineConfiguration": {
                    "imageReference": {"id": VERSION.upper()},
                    "nodeAgentSkuId": "batch.node.ubuntu 22.04",
                }
            },
            "scaleSettings": {
                "fixedScale": {"targetDedicatedNodes": 2, "resizeTimeout": "00:30:00"}
            },
            "resizeOperationStatus": {"errors": [{"code": "AllocationTimedout", "message": "m"}]},
            "allocationState": "Steady",
            "currentDedicatedNodes": 1,
        },
        "etag": 'W/"0x1"',
    }
    live = mapping.to_live(Kind.POOL, doc, location="West Europe")
    assert live.properties["vmSize"] == "standard_d4s_v5"
    assert live.properties["image.id"] == VERSION.lower()
    assert live.properties["scale.fixed.resizeTimeout"] == "PT30M"
    assert (live.location, live.etag, live.address) == ("westeurope", 'W/"0x1"', "pool:A/P")
    assert live.resize_errors == ("AllocationTimedout",)
    assert (live.allocation_state, live.current_dedicated) == ("Steady", 1)
    version = mapping.to_live(
        Kind.VERSION,
        {
            "id": VERSION,
            "location": "West Europe",
            "properties": {
                "publishingProfile": {
                    "targetRegions": [{"name": "North Europe", "regionalReplicaCount": 2}],
                    "endOfLifeDate": "2030-01-31T00:00:00+00:00",
                },
                "replicationStatus": {
                    "summary": [{"region": "North Europe", "state": "Replicating", "progress": 40}]
                },
            },
        },
    )
    assert version.properties["targetRegions[northeurope].replicas"] == 2
    assert version.properties["endOfLifeDate"] == "2030-01-31"
    assert version.location == "westeurope"
    assert version.replication[0].region == "northeurope"
    assert version.replication[0].progress == 40


def test_source_kind_follows_the_id_shape() -> None:
    """A version's source id is classified as managed image, gallery version or VM by its shape."""
    assert mapping.source_kind(MANAGED_IMAGE) == "managedImage"
    assert mapping.source_kind(VERSION) == "galleryImageVersion"
    assert mapping.source_kind(f"{COMPUTE}/virtualMachines/vm1") == "virtualMachine"


def test_pool_patch_groups_follow_changed_paths() -> None:
    """A pool PATCH carries exactly the groups the changed paths touch, each rebuilt whole."""
    props = {
        "scale.fixed.dedicated": 4,
        "metadata.a": "1",
        "metadata.reconcile.managed-by": "reconcile",
        "tags.x": "y",
        "vmSize": "standard_d4s_v5",
        "image.id": VERSION.lower(),
        "nodeAgentSkuId": "batch.node.ubuntu 22.04",
    }
    assert mapping.pool_patch_json(props, ["metadata.a"]) == {
        "properties": {
            "metadata": [
                {"name": "a", "value": "1"},
                {"name": "reconcile.managed-by", "value": "reconcile"},
            ]
        }
    }
    both = mapping.pool_patch_json(props, ["image.id", "vmSize"])
    assert set(both["properties"]) == {"deploymentConfiguration", "vmSize"}
    market = {k: v for k, v in props.items() if k != "image.id"}
    market.update({"image.publisher": "canonical", "image.offer": "o", "image.sku": "s"})
    market["image.version"] = "latest"
    moved = mapping.pool_patch_json(market, ["image.id", "image.publisher"])
    assert moved["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"] == {
        "imageReference": {"publisher": "canonical", "offer": "o", "sku": "s", "version": "latest"},
        "nodeAgentSkuId": "batch.node.ubuntu 22.04",
    }
    assert mapping.pool_patch_json(props, ["tags.x"]) == {"tags": {"x": "y"}}


def _setup(ops: AzureOperations) -> None:
    ops.create(kind=Kind.GALLERY, resource_id=GALLERY, location="westeurope", props={**OWNED})
    ops.create(
        kind=Kind.IMAGE, resource_id=DEFINITION, location="westeurope", props=definition_props()
    )
    ops.create(kind=Kind.VERSION, resource_id=VERSION, location="westeurope", props=version_props())


def test_sandbox_round_trip_every_kind(tmp_path: Path) -> None:
    """flat → SDK → sandbox (PUT) → SDK (GET) → flat is the identity for every kind and example."""
    world = make_world(tmp_path / "rt.sqlite")
    counter = itertools.count()
    try:
        ops = world.operations()
        _setup(ops)

        def resource_id(kind: Kind) -> str:
            n = next(counter)
            return {
                Kind.GALLERY: f"{COMPUTE}/galleries/g{n}",
                Kind.IMAGE: f"{GALLERY}/images/d{n}",
                Kind.VERSION: f"{DEFINITION}/versions/2.0.{n}",
                Kind.MANAGED_IMAGE: f"{COMPUTE}/images/m{n}",
                Kind.POOL: f"{ACCOUNT}/pools/p{n}",
            }[kind]

        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(data=st.data())
        def round_trip(data: st.DataObject) -> None:
            for kind, strategy in STRATEGIES.items():
                props = data.draw(strategy, label=kind.value)
                rid = resource_id(kind)
                if kind is Kind.IMAGE:
                    # Azure (and the sandbox) refuse a second definition with the same
                    # publisher/offer/sku in one gallery; examples may repeat.
                    props["identifier.sku"] += f"-{rid.rsplit('/', 1)[1]}"
                location = props.get("location", "westeurope")
                ops.create(kind=kind, resource_id=rid, location=location, props=props)
                live = ops.read(kind=kind, resource_id=rid)
                assert live is not None
                friendly = {
                    k: v for k, v in live.properties.items() if not surface.is_azure_path(kind, k)
                }
                assert friendly == _readable(props), kind

        round_trip()
    finally:
        world.close()
