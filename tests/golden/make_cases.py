"""Writes the *inputs* of the golden cases (spec.yaml, live.json, case.json). Run by hand.

    python -m tests.golden.make_cases [CASE...]

Each case starts from one small world — a gallery, a definition, versions, pools in two
Batch accounts — "as applied" (the live snapshot is what the Azure mapping reads back
after apply: desired properties plus the values Azure fills in), then bends spec or
live state to exercise one behaviour. The expected outputs (plan.txt/json/md) are
written by the runner, only with ``UPDATE_GOLDEN=1`` or ``pytest tests/golden
--update-golden``; review their diff like code.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
SUB = "00000000-0000-0000-0000-000000000001"
OTHER_SUB = "00000000-0000-0000-0000-000000000002"
RG = f"/subscriptions/{SUB}/resourceGroups"
SNAP = f"{RG}/rg-images/providers/Microsoft.Compute/snapshots"
GAL = f"{RG}/rg-images/providers/Microsoft.Compute/galleries"
ACCOUNTS = {
    "batchprodweu": (
        "westeurope",
        f"{RG}/rg-batch/providers/Microsoft.Batch/batchAccounts/batchprodweu",
    ),
    "batchprodeus": (
        "eastus",
        f"{RG}/rg-batch/providers/Microsoft.Batch/batchAccounts/batchprodeus",
    ),
}
SECRET_VALUE = "live-secret-value-9f2c"  # what Azure holds for ${env:LICENSE_KEY}


def base_spec() -> dict[str, Any]:
    return {
        "apiVersion": "reconcile/v1",
        "settings": {"owner": "golden"},
        "defaults": {"subscription": SUB, "resourceGroup": "rg-images", "location": "westeurope"},
        "galleries": [
            {
                "name": "gal",
                "description": "Render images",
                "tags": {"team": "vfx"},
                "images": [
                    {
                        "name": "render",
                        "osType": "Linux",
                        "osState": "Generalized",
                        "hyperVGeneration": "V2",
                        "identifier": {
                            "publisher": "contoso",
                            "offer": "render",
                            "sku": "ubuntu-22-04",
                        },
                        "versions": [
                            {
                                "name": "1.0.0",
                                "source": {
                                    "snapshots": {"osDisk": f"{SNAP}/snap-render-os-2026-10"}
                                },
                                "targetRegions": [{"name": "westeurope"}],
                            }
                        ],
                    }
                ],
            }
        ],
        "batchAccounts": [
            {
                "name": "batchprodweu",
                "resourceGroup": "rg-batch",
                "pools": [
                    {
                        "name": "render",
                        "vmSize": "Standard_D4s_v5",
                        "image": {"gallery": "gal", "definition": "render"},
                        "nodeAgentSkuId": "batch.node.ubuntu 22.04",
                        "scale": {"fixed": {"dedicated": 600}},
                        "startTask": {
                            "commandLine": "/bin/bash -c start-render.sh",
                            "environment": {
                                "LICENSE_KEY": "${env:LICENSE_KEY}",
                                "LOG_LEVEL": "info",
                            },
                        },
                        "metadata": {"team": "vfx"},
                    }
                ],
            }
        ],
    }


def version_id(definition: str, version: str, gallery: str = "gal") -> str:
    return f"{GAL}/{gallery}/images/{definition}/versions/{version}"


def account_of(spec: dict[str, Any], name: str) -> dict[str, Any]:
    for account in spec["batchAccounts"]:
        if account["name"] == name:
            return account
    account = {"name": name, "resourceGroup": "rg-batch", "pools": []}
    if name == "batchprodeus":
        account["location"] = "eastus"
    spec["batchAccounts"].append(account)
    return account


def pool_of(spec: dict[str, Any], account: str, name: str) -> dict[str, Any]:
    return next(p for p in account_of(spec, account)["pools"] if p["name"] == name)


def resize(spec: dict[str, Any], account: str, pool: str, dedicated: int) -> None:
    pool_of(spec, account, pool)["scale"]["fixed"]["dedicated"] = dedicated


def version_of(spec: dict[str, Any], name: str, definition: str = "render") -> dict[str, Any]:
    image = next(i for i in spec["galleries"][0]["images"] if i["name"] == definition)
    return next(v for v in image["versions"] if v["name"] == name)


def add_sim_pool(spec: dict[str, Any], *, dedicated: int) -> None:
    """Pool sim in batchprodeus (eastus) on version 1.0.0, which gets an eastus replica."""
    version_of(spec, "1.0.0")["targetRegions"].append({"name": "eastus"})
    account_of(spec, "batchprodeus")["pools"].append(
        {
            "name": "sim",
            "vmSize": "Standard_E16s_v5",
            "image": {"gallery": "gal", "definition": "render", "version": "1.0.0"},
            "nodeAgentSkuId": "batch.node.ubuntu 22.04",
            "scale": {"fixed": {"dedicated": dedicated}},
        }
    )


# -- live state "as applied" ------------------------------------------------------------


@contextmanager
def spec_file(spec: dict[str, Any]) -> Iterator[Path]:
    """`spec` written as a YAML file beside this script for as long as the block runs."""
    path = HERE / "_tmp_spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    try:
        yield path
    finally:
        path.unlink()


def applied(spec: dict[str, Any]) -> dict[str, Any]:
    """The live snapshot Azure would report after applying `spec` (plus the accounts).

    Each resource carries the applied record apply writes (`reconciler.plan.applied`).
    """
    from reconciler.plan.applied import encode
    from reconciler.plan.desired import desired_state
    from reconciler.plan.snapshot import live_state_to_dict
    from reconciler.spec import load_spec
    from reconciler.state.model import Kind, LiveResource, LiveState

    with spec_file(spec) as path:
        result = load_spec([str(path)])
    assert result.spec is not None, [d.format() for d in result.diagnostics]
    desired = desired_state(result.spec)
    resources = {}
    for d in desired.resources.values():
        props = dict(d.properties)
        props.update(encode(d.kind, d.properties))
        extra: dict[str, Any] = {}
        if d.kind is Kind.VERSION:
            for path_ in list(props):
                if path_.endswith("].replicas"):
                    props.setdefault(
                        path_.replace(".replicas", ".storageAccountType"), "Standard_LRS"
                    )
        if d.kind is Kind.POOL:
            props.setdefault("interNodeCommunication", "Disabled")
            props.setdefault("taskSlotsPerNode", 1)
            for key, value in list(props.items()):
                if isinstance(value, str) and value.startswith("${env:"):
                    props[key] = SECRET_VALUE
            extra = {
                "etag": '"0x8DE0000000000001"',
                "allocation_state": "steady",
                "current_dedicated": int(props.get("scale.fixed.dedicated", 0)),
                "current_low_priority": int(props.get("scale.fixed.lowPriority", 0)),
            }
        resources[d.address] = LiveResource(
            address=d.address,
            kind=d.kind,
            id=d.id,
            name=d.name,
            location=d.location,
            properties=props,
            **extra,
        )
    for name, (location, rid) in ACCOUNTS.items():
        address = f"batchAccount:{name}"
        resources[address] = LiveResource(
            address=address,
            kind=Kind.BATCH_ACCOUNT,
            id=rid.lower(),
            name=name,
            location=location,
            properties={"location": location},
        )
    return live_state_to_dict(LiveState(resources=resources))


def unmark(props: dict[str, Any]) -> None:
    """Remove every mark apply writes: the resource looks made by hand."""
    for key in list(props):
        if key.startswith(("tags.managed-by", "tags.reconcile-", "metadata.reconcile.")):
            props.pop(key)


def res(live: dict[str, Any], address: str) -> dict[str, Any]:
    return next(r for r in live["resources"] if r["address"] == address)


def drop(live: dict[str, Any], *addresses: str) -> None:
    live["resources"] = [r for r in live["resources"] if r["address"] not in addresses]


def empty_world() -> dict[str, Any]:
    live = applied(base_spec())
    live["resources"] = [r for r in live["resources"] if r["kind"] == "batchAccount"]
    return live


# -- the cases ----------------------------------------------------------------------------

Case = Callable[[], tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]
CASES: dict[str, Case] = {}


def case(fn: Case) -> Case:
    CASES[fn.__name__] = fn
    return fn


@case
def create_from_empty_world():
    """Nothing exists: gallery → definition → version → pool, each waiting for its parent."""
    return base_spec(), empty_world(), {}


@case
def no_changes():
    """Live state equals the spec (Azure's defaults and casing included): every change is a no-op."""
    spec = base_spec()
    live = applied(spec)
    res(live, "gallery:gal")["location"] = "westeurope"
    res(live, "gallery:gal")["properties"]["location"] = "westeurope"
    res(live, "gallery:gal")["properties"]["tags.createdBy"] = "portal"  # undeclared tag: ignored
    return spec, live, {}


@case
def update_in_place():
    """Tags, description, metadata and start-task environment update in place; secrets stay masked."""
    spec = base_spec()
    live = applied(spec)
    gallery = res(live, "gallery:gal")["properties"]
    gallery["description"] = "Old description"
    gallery["tags.team"] = "platform"
    pool = res(live, "pool:batchprodweu/render")["properties"]
    pool["metadata.team"] = "render-ops"
    pool["startTask.environment.LOG_LEVEL"] = "debug"
    pool["startTask.environment.OLD_TOKEN"] = "another-live-secret-77"
    return spec, live, {}


@case
def replace_forced_by_immutable_fields():
    """osType of an empty definition and a version's source force replacement."""
    spec = base_spec()
    spec["galleries"][0]["images"].append(
        {
            "name": "tools",
            "osType": "Linux",
            "osState": "Generalized",
            "identifier": {"publisher": "contoso", "offer": "tools", "sku": "ubuntu"},
        }
    )
    spec["galleries"][0]["images"][0]["versions"].append(
        {
            "name": "0.9.0",
            "source": {"snapshots": {"osDisk": f"{SNAP}/snap-render-os-2026-11"}},
            "targetRegions": [{"name": "westeurope"}],
            "excludeFromLatest": True,
        }
    )
    live = applied(spec)
    res(live, "image:gal/tools")["properties"]["osType"] = "Windows"
    res(live, "version:gal/render/0.9.0")["properties"]["source.snapshots.osDisk"] = (
        f"{SNAP}/snap-render-os-2026-10".lower()
    )
    # Version 1.0.0's source changed too, but pool render boots it: R6 refuses that replace.
    res(live, "version:gal/render/1.0.0")["properties"]["source.snapshots.osDisk"] = (
        f"{SNAP}/snap-render-os-2026-10".lower()
    )
    version_of(spec, "1.0.0")["source"]["snapshots"]["osDisk"] = f"{SNAP}/snap-render-os-2026-11"
    return spec, live, {}


@case
def grow_replicas_before_pools():
    """Pool render grows 600→1,500: replicas grow 1→3 first; pool sim only resizes (10→20)."""
    spec = base_spec()
    add_sim_pool(spec, dedicated=10)
    live = applied(spec)
    resize(spec, "batchprodweu", "render", 1500)
    resize(spec, "batchprodeus", "sim", 20)
    return spec, live, {}


@case
def shrink_replicas_after_pools():
    """Pool render shrinks 1,500→600: the pool shrinks first, replicas 3→1 only after."""
    spec = base_spec()
    resize(spec, "batchprodweu", "render", 1500)
    live = applied(spec)
    resize(spec, "batchprodweu", "render", 600)
    return spec, live, {}


@case
def split_grow_and_shrink():
    """One version grows in westeurope and shrinks in eastus: split into #grow, pools, #shrink."""
    spec = base_spec()
    add_sim_pool(spec, dedicated=1500)
    live = applied(spec)
    resize(spec, "batchprodweu", "render", 1500)
    resize(spec, "batchprodeus", "sim", 600)
    return spec, live, {}


@case
def move_to_new_version_then_delete_old():
    """Version 1.1.0 is created, pool render moves to it (at zero nodes), then 1.0.0 is pruned."""
    spec = base_spec()
    live = applied(spec)
    versions = spec["galleries"][0]["images"][0]["versions"]
    versions[0]["name"] = "1.1.0"
    versions[0]["source"]["snapshots"]["osDisk"] = f"{SNAP}/snap-render-os-2026-11"
    return spec, live, {"prune": True}


@case
def scale_to_zero_for_vm_size():
    """vmSize changes only at zero nodes: a pool with nodes scales to zero; an empty pool updates."""
    spec = base_spec()
    account = account_of(spec, "batchprodweu")
    account["pools"].append(
        {
            "name": "idle",
            "vmSize": "Standard_D4s_v5",
            "image": {"gallery": "gal", "definition": "render"},
            "nodeAgentSkuId": "batch.node.ubuntu 22.04",
            "scale": {"fixed": {"dedicated": 0}},
        }
    )
    live = applied(spec)
    pool_of(spec, "batchprodweu", "render")["vmSize"] = "Standard_D8s_v5"
    pool_of(spec, "batchprodweu", "idle")["vmSize"] = "Standard_D8s_v5"
    return spec, live, {}


@case
def at_zero_nodes_updates():
    """Network, task slots, inter-node communication, display name change at 0 nodes (U12), never by replacement."""
    spec = base_spec()
    subnet = f"{RG}/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/batch-"
    account = account_of(spec, "batchprodweu")
    account["pools"].append(
        {
            "name": "idle",
            "vmSize": "Standard_D4s_v5",
            "image": {"gallery": "gal", "definition": "render"},
            "nodeAgentSkuId": "batch.node.ubuntu 22.04",
            "scale": {"fixed": {"dedicated": 0}},
        }
    )
    for name in ("render", "idle"):
        pool = pool_of(spec, "batchprodweu", name)
        pool["network"] = {"subnetId": subnet + "a"}
        pool["displayName"] = f"{name} pool"
        # Declared from the start, so the applied record holds them (a spec change, not drift).
        pool["taskSlotsPerNode"] = 1
        pool["interNodeCommunication"] = "Disabled"
    live = applied(spec)
    render = pool_of(spec, "batchprodweu", "render")
    render["network"] = {"subnetId": subnet + "b"}
    render["taskSlotsPerNode"] = 4
    render["interNodeCommunication"] = "Enabled"
    render["displayName"] = "Render farm"
    idle = pool_of(spec, "batchprodweu", "idle")
    idle["taskSlotsPerNode"] = 2
    idle["displayName"] = "Idle pool"
    return spec, live, {}


@case
def azure_members_changes():
    """Azure-named members: mounts/containers at 0 nodes (U12), files/identity live (U10/U11), null removes."""
    spec = base_spec()
    uami = f"{RG}/rg-batch/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
    vmc = "deploymentConfiguration"
    render = pool_of(spec, "batchprodweu", "render")
    render["identity"] = {
        "type": "UserAssigned",
        "userAssignedIdentities": {uami + "render": {}},
    }
    render["properties"] = {
        "mountConfiguration": [
            {"nfsMountConfiguration": {"source": "10.0.0.4:/cache", "relativeMountPath": "cache"}}
        ],
        "taskSchedulingPolicy": {"nodeFillType": "Pack"},
    }
    definition = spec["galleries"][0]["images"][0]
    definition["hyperVGeneration"] = "V2"
    definition["properties"] = {
        "features": [{"name": "SecurityType", "value": "TrustedLaunchSupported"}]
    }
    live = applied(spec)
    render["identity"]["userAssignedIdentities"] = {uami + "render-v2": {}}
    render["properties"] = {
        "mountConfiguration": None,
        "taskSchedulingPolicy": {"nodeFillType": "Spread"},
        "startTask": {
            "resourceFiles": [
                {
                    "storageContainerUrl": "https://st.blob.core.windows.net/tools",
                    "identityReference": {"resourceId": uami + "render-v2"},
                }
            ]
        },
        vmc: {
            "virtualMachineConfiguration": {
                "containerConfiguration": {
                    "type": "DockerCompatible",
                    "containerImageNames": ["contoso.azurecr.io/render:2026.12"],
                },
                "securityProfile": {"securityType": "trustedLaunch"},
            }
        },
    }
    definition["properties"]["features"].append(
        {"name": "DiskControllerTypes", "value": "SCSI, NVMe"}
    )
    return spec, live, {}


def _old_gallery(live: dict[str, Any], *, owned: bool = True) -> None:
    extra = copy.deepcopy(
        [
            r
            for r in applied(base_spec())["resources"]
            if r["kind"] in ("gallery", "image", "version")
        ]
    )
    for r in extra:
        r["id"] = r["id"].replace("/galleries/gal", "/galleries/oldgal")
        r["address"] = r["address"].replace(":gal", ":oldgal")
        if r["kind"] == "gallery":
            r["name"] = "oldgal"
        if not owned:
            unmark(r["properties"])
    live["resources"].extend(extra)


@case
def prune_deletes_children_first():
    """Prune on: an owned gallery no longer in the spec goes version → definition → gallery."""
    spec = base_spec()
    live = applied(spec)
    _old_gallery(live)
    return spec, live, {"prune": True}


@case
def would_delete_without_prune():
    """Prune off: owned resources no longer in the spec are only listed (warnings), not deleted."""
    spec = base_spec()
    live = applied(spec)
    _old_gallery(live)
    return spec, live, {}


@case
def in_use_protection_even_with_prune():
    """R6: a version a pool outside the spec still boots is never deleted, even with prune."""
    spec = base_spec()
    live = applied(spec)
    _old_gallery(live)
    pool = copy.deepcopy(res(live, "pool:batchprodweu/render"))
    pool["id"] = pool["id"].replace("/pools/render", "/pools/legacy-team")
    pool["address"] = "pool:batchprodweu/legacy-team"
    pool["name"] = "legacy-team"
    pool["properties"]["image.id"] = version_id("render", "1.0.0", gallery="oldgal").lower()
    unmark(pool["properties"])
    live["resources"].append(pool)
    return spec, live, {"prune": True}


@case
def not_owned_is_reported():
    """A gallery and a pool with the spec's names but no ownership mark: errors, never touched."""
    spec = base_spec()
    live = applied(spec)
    unmark(res(live, "gallery:gal")["properties"])
    res(live, "gallery:gal")["properties"]["description"] = "Made by hand"
    unmark(res(live, "pool:batchprodweu/render")["properties"])
    return spec, live, {}


@case
def adopt_what_exists():
    """--adopt marks what exists unowned; other differences follow; another spec's is never adopted."""
    spec = base_spec()
    live = applied(spec)
    unmark(res(live, "gallery:gal")["properties"])
    unmark(res(live, "pool:batchprodweu/render")["properties"])
    res(live, "pool:batchprodweu/render")["properties"]["startTask.environment.LOG_LEVEL"] = "debug"
    image = res(live, "image:gal/render")["properties"]
    unmark(image)
    image["tags.reconcile-owner"] = "another-spec"
    return spec, live, {"adopt": True}


@case
def managed_image_rules():
    """R7 refuses a new managed-image pool, keeps the existing one; R4 totals count live pools."""
    spec = base_spec()
    spec["managedImages"] = [
        {
            "name": "img-legacy",
            "osType": "Linux",
            "source": {"osDiskSnapshot": f"{SNAP}/snap-legacy-os-2025-12"},
        }
    ]
    account = account_of(spec, "batchprodweu")
    account["pools"].append(
        {
            "name": "legacy",
            "vmSize": "Standard_D4s_v5",
            "image": {"managedImage": "img-legacy"},
            "nodeAgentSkuId": "batch.node.ubuntu 22.04",
            "scale": {"fixed": {"dedicated": 2000, "resizeTimeout": "PT30M"}},
        }
    )
    live = applied(spec)
    account["pools"].append(
        {
            "name": "legacy-new",
            "vmSize": "Standard_D4s_v5",
            "image": {"managedImage": "img-legacy"},
            "nodeAgentSkuId": "batch.node.ubuntu 22.04",
            "scale": {"fixed": {"dedicated": 100}},
        }
    )
    outsider = copy.deepcopy(res(live, "pool:batchprodweu/legacy"))
    outsider["id"] = outsider["id"].replace("/pools/legacy", "/pools/legacy-batch")
    outsider["address"] = "pool:batchprodweu/legacy-batch"
    outsider["name"] = "legacy-batch"
    outsider["properties"]["scale.fixed.dedicated"] = 800
    unmark(outsider["properties"])
    live["resources"].append(outsider)
    return spec, live, {"now": "2026-11-24"}


def _legacy_image(spec: dict[str, Any]) -> None:
    """The managed image `img-legacy` (Gen2, from the legacy snapshot), the spec's only one."""
    spec["managedImages"] = [
        {
            "name": "img-legacy",
            "osType": "Linux",
            "hyperVGeneration": "V2",
            "source": {"osDiskSnapshot": f"{SNAP}/snap-legacy-os-2025-12"},
        }
    ]


def _legacy_pool(name: str, scale: dict[str, Any]) -> dict[str, Any]:
    """A pool of batchprodweu on `img-legacy`."""
    return {
        "name": name,
        "vmSize": "Standard_D4s_v5",
        "image": {"managedImage": "img-legacy"},
        "nodeAgentSkuId": "batch.node.ubuntu 22.04",
        "scale": scale,
        "metadata": {"team": "vfx"},
    }


def migrated(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` as `reconcile migrate --gallery gal --write` rewrites it (nothing reported)."""
    from reconciler.migrate import MigrateOptions, plan_migration
    from reconciler.migrate.rewrite import rewrite
    from reconciler.spec import load_spec

    with spec_file(spec) as path:
        loaded = load_spec([str(path)]).spec
        assert loaded is not None
        migration = plan_migration(loaded, MigrateOptions(gallery="gal"))
        assert not migration.diagnostics, migration.diagnostics
        text = rewrite(migration, {str(path): path.read_text()})[str(path)]
    return yaml.safe_load(text)


@case
def migrate_managed_image_pools():
    """`reconcile migrate` output: definition → version → pools moved (in place at 0 nodes, else via 0)."""
    spec = base_spec()
    _legacy_image(spec)
    account = account_of(spec, "batchprodweu")
    for name, dedicated in (("legacy-busy", 300), ("legacy-idle", 0)):
        account["pools"].append(_legacy_pool(name, {"fixed": {"dedicated": dedicated}}))
    live = applied(spec)
    return migrated(spec), live, {"now": "2026-11-24"}


@case
def migrate_autoscale_pool_with_nodes():
    """An autoscale pool with nodes moves to the gallery version: fixed 0 (drain), update, autoscale back."""
    spec = base_spec()
    _legacy_image(spec)
    autoscale = {
        "formula": "$TargetDedicatedNodes = min(40, $PendingTasks.GetSample(1));",
        "evaluationInterval": "PT5M",
        "maxNodes": 40,
    }
    account_of(spec, "batchprodweu")["pools"].append(
        _legacy_pool("legacy-elastic", {"autoScale": autoscale})
    )
    live = applied(spec)
    res(live, "pool:batchprodweu/legacy-elastic")["current_dedicated"] = 12
    return migrated(spec), live, {"now": "2026-11-24"}


@case
def account_region_from_live_state():
    """R9/R10 use the Batch account's real region: live says northeurope, the spec assumed westeurope."""
    spec = base_spec()
    live = applied(spec)
    for r in live["resources"]:
        if r["address"] == "batchAccount:batchprodweu":
            r["location"] = "northeurope"
            r["properties"]["location"] = "northeurope"
    return spec, live, {}


@case
def account_not_where_the_spec_says():
    """RC512: an account in another region than the spec assumed, and one not found: no pool changes."""
    spec = base_spec()
    add_sim_pool(spec, dedicated=10)
    live = applied(spec)
    spec["galleries"][0]["description"] = "Render and simulation images"
    account = res(live, "batchAccount:batchprodweu")
    account["location"] = account["properties"]["location"] = "northeurope"
    pool_of(spec, "batchprodweu", "render")["metadata"]["team"] = "render-ops"
    drop(live, "batchAccount:batchprodeus", "pool:batchprodeus/sim")
    return spec, live, {}


@case
def drift_and_pending():
    """Azure changed behind the tool's back (drift) and the spec changed (pending), told apart."""
    spec = base_spec()
    add_sim_pool(spec, dedicated=10)
    live = applied(spec)
    # Through the SDK, after the last apply: a tag edited, the pool's metadata and size.
    res(live, "gallery:gal")["properties"]["tags.team"] = "someone-else"
    sim = res(live, "pool:batchprodeus/sim")["properties"]
    sim["metadata.hotfix"] = "1"  # undeclared: not managed, not drift
    sim["scale.fixed.dedicated"] = 40
    res(live, "pool:batchprodeus/sim")["current_dedicated"] = 40  # and Azure got there
    # In the spec, not yet applied: a new description, render grows, a new pool.
    spec["galleries"][0]["description"] = "Render images, 2027"
    resize(spec, "batchprodweu", "render", 700)
    account_of(spec, "batchprodweu")["pools"].append(
        {
            "name": "preview",
            "vmSize": "Standard_D4s_v5",
            "image": {"gallery": "gal", "definition": "render", "version": "1.0.0"},
            "nodeAgentSkuId": "batch.node.ubuntu 22.04",
            "scale": {"fixed": {"dedicated": 2}},
        }
    )
    # Both at once on one path: the spec and Azure each moved render's LOG_LEVEL.
    pool_of(spec, "batchprodweu", "render")["startTask"]["environment"]["LOG_LEVEL"] = "warn"
    res(live, "pool:batchprodweu/render")["properties"]["startTask.environment.LOG_LEVEL"] = "debug"
    return spec, live, {}


@case
def pool_short_after_allocation_failed():
    """Pool render is Steady at 0 of 600 nodes after AllocationFailed: the resize is re-issued."""
    spec = base_spec()
    live = applied(spec)
    pool = res(live, "pool:batchprodweu/render")
    pool["current_dedicated"] = 0
    pool["resize_errors"] = ["AllocationFailed"]
    return spec, live, {}


@case
def owner_from_before_owner_names():
    """Resources marked only managed-by=reconcile: declared ones are adopted, others never pruned."""
    spec = base_spec()
    live = applied(spec)
    _old_gallery(live)
    for r in live["resources"]:
        props = r["properties"]
        for key in list(props):
            if key.startswith(
                ("tags.reconcile-", "metadata.reconcile.owner", "metadata.reconcile.applied")
            ):
                props.pop(key)
    return spec, live, {"prune": True}


@case
def version_still_replicating():
    """Version 1.0.0 is still Creating (an interrupted apply's): pool render's create waits for it."""
    spec = base_spec()
    live = applied(spec)
    drop(live, "pool:batchprodweu/render")
    version = res(live, "version:gal/render/1.0.0")
    version["provisioning_state"] = "Creating"
    version["replication"] = [
        {"region": "westeurope", "state": "Replicating", "progress": 40, "details": ""}
    ]
    return spec, live, {}


@case
def failed_version_is_repaired():
    """Version 1.0.0 ended Failed: it is created again (repair), and pool render's create waits for that."""
    spec = base_spec()
    live = applied(spec)
    drop(live, "pool:batchprodweu/render")
    version = res(live, "version:gal/render/1.0.0")
    version["provisioning_state"] = "Failed"
    version["replication"] = [
        {
            "region": "westeurope",
            "state": "Failed",
            "progress": 0,
            "details": "InternalExecutionError: replication did not complete",
        }
    ]
    return spec, live, {}


def _marketplace_pool(name: str, dedicated: int, **image: str) -> dict[str, Any]:
    return {
        "name": name,
        "vmSize": "Standard_D2s_v5",
        "image": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server", **image},
        "nodeAgentSkuId": "batch.node.ubuntu 24.04",
        "scale": {"fixed": {"dedicated": dedicated}},
    }


@case
def marketplace_pools():
    """Pools on Marketplace images: a new one, Azure's casing is no change, a pinned version and a move to a custom image at 0 nodes (U12)."""
    spec = base_spec()
    account = account_of(spec, "batchprodweu")
    account["pools"] += [_marketplace_pool("tools", 2), _marketplace_pool("ci", 0)]
    account_of(spec, "batchprodeus")["pools"].append(_marketplace_pool("lint", 4))
    live = applied(spec)
    # Azure answers the names in the publisher's own casing: the same image.
    lint = res(live, "pool:batchprodeus/lint")["properties"]
    lint["image.publisher"], lint["image.sku"] = "Canonical", "Server"
    account["pools"].append(_marketplace_pool("build", 3, version="1.0.20261101"))
    pool_of(spec, "batchprodweu", "tools")["image"]["version"] = "1.0.20261101"
    pool_of(spec, "batchprodweu", "ci")["image"] = {"gallery": "gal", "definition": "render"}
    return spec, live, {}


def write(name: str, fn: Case) -> None:
    spec, live, options = fn()
    folder = HERE / name
    folder.mkdir(exist_ok=True)
    header = f"# Golden case: {fn.__doc__}\n"
    (folder / "spec.yaml").write_text(header + yaml.safe_dump(spec, sort_keys=False, width=200))
    (folder / "live.json").write_text(json.dumps(live, indent=2) + "\n")
    (folder / "case.json").write_text(json.dumps({"about": fn.__doc__, **options}, indent=2) + "\n")


def main(names: list[str]) -> None:
    for name, fn in CASES.items():
        if names and name not in names:
            continue
        write(name, fn)
        print("wrote", name)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
