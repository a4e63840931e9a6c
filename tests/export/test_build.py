"""The export builder on small live states: idiom, computed values, secrets, marks, diagnostics."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from reconciler.export import (
    ExportOptions,
    build_export,
    env_name,
    max_nodes_from_formula,
    pretty_id,
)
from reconciler.export.build import vm_size_spelling
from reconciler.export.yamltext import Commented, dump, scalar
from reconciler.state.model import Kind, LiveResource, LiveState

SUB = "00000000-0000-0000-0000-000000000001"
OTHER = "00000000-0000-0000-0000-000000000002"
RG = f"/subscriptions/{SUB}/resourcegroups/rg"
GALLERY = f"{RG}/providers/microsoft.compute/galleries/g"
VERSION = f"{GALLERY}/images/d/versions/1.0.0"
ACCOUNT = f"{RG}/providers/microsoft.batch/batchaccounts/acct"
OPTIONS = ExportOptions(where="sandbox w", when="2026-11-24T10:00:00Z", scope="s", folder="My Team")


def res(kind: Kind, rid: str, location: str = "westeurope", **props: Any) -> LiveResource:
    address = {
        Kind.GALLERY: "gallery:g",
        Kind.IMAGE: "image:g/d",
        Kind.VERSION: "version:g/d/1.0.0",
        Kind.BATCH_ACCOUNT: "batchAccount:acct",
    }.get(kind) or f"pool:acct/{rid.rsplit('/', 1)[-1]}"
    name = rid.rsplit("/", 1)[-1]
    return LiveResource(address, kind, rid, name, location, props)


def world(
    *pools: LiveResource, replicas: int = 1, version_props: dict[str, Any] | None = None
) -> LiveState:
    resources = [
        res(Kind.GALLERY, GALLERY, **{"tags.managed-by": "reconcile", "tags.team": "vfx"}),
        res(
            Kind.IMAGE,
            f"{GALLERY}/images/d",
            osType="Linux",
            osState="Generalized",
            hyperVGeneration="V1",
            **{"identifier.publisher": "p", "identifier.offer": "o", "identifier.sku": "s"},
        ),
        res(
            Kind.VERSION,
            VERSION,
            **{
                "source.snapshots.osDisk": f"{RG}/providers/microsoft.compute/snapshots/snap",
                "targetRegions[westeurope].replicas": replicas,
                "targetRegions[westeurope].storageAccountType": "Standard_LRS",
                **(version_props or {}),
            },
        ),
        res(Kind.BATCH_ACCOUNT, ACCOUNT),
        *pools,
    ]
    return LiveState({r.address: r for r in resources})


def pool(name: str, image: str = VERSION, **props: Any) -> LiveResource:
    base = {
        "vmSize": "standard_d4s_v5",
        "image.id": image,
        "nodeAgentSkuId": "batch.node.ubuntu 22.04",
        "scale.fixed.dedicated": 10,
        "taskSlotsPerNode": 1,
        "interNodeCommunication": "Disabled",
    }
    return res(Kind.POOL, f"{ACCOUNT}/pools/{name}", **{**base, **props})


def files(live: LiveState, **kw: Any) -> tuple[dict[str, Any], Any]:
    result = build_export(live, OPTIONS, **kw)
    return {f.name: yaml.safe_load(f.text) for f in result.files}, result


def codes(result: Any) -> list[str]:
    return [d.code for d in result.diagnostics]


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "1.0.0",
        "2027-06-30",
        "yes",
        "Yes",
        "OFF",
        "Null",
        "batch.node.ubuntu 22.04",
        "x(1)=a,b",
        "a: b",
        "#x",
        "${env:X}",
        "line\nbreak",
        "",
        "007",
        3,
        True,
        None,
    ],
)
def test_scalars_read_back_as_the_same_value(value: Any) -> None:
    """Every scalar written reads back with the same value and type."""
    assert yaml.safe_load(f"k: {scalar(value)}")["k"] == value


def test_comments_sit_above_what_they_explain_and_anchors_give_lines() -> None:
    """A Commented item gets its comment lines above it and its line in the anchors."""
    text, anchors = dump(
        {"items": [Commented({"name": "a", "n": 1}, ("why",), anchor="x")]}, header=["top"]
    )
    assert text == "# top\nitems:\n  # why\n  - name: a\n    n: 1\n"
    assert anchors == {"x": (4, 3)}


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("$TargetDedicatedNodes = min(600, $PendingTasks.GetSample(1));", 600),
        ("$T = min($PendingTasks.GetSample(1) / 4, 250);", 250),
        ("$A = min(10, x); $B = min(40, y);", 40),
        ("$TargetDedicatedNodes = $PendingTasks.GetSample(1);", None),
    ],
)
def test_max_nodes_is_read_from_the_formula_cap(formula: str, expected: int | None) -> None:
    """maxNodes is the largest min(N, …) cap of the formula, or unknown."""
    assert max_nodes_from_formula(formula) == expected


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("render", "LICENSE_KEY"), "RENDER_LICENSE_KEY"),
        (("sim-eus", "db.password"), "SIM_EUS_DB_PASSWORD"),
        (("9x", "K"), "V_9X_K"),
    ],
)
def test_secret_variable_names(parts: tuple[str, ...], expected: str) -> None:
    """Generated names: pool and variable, upper case, other characters as _."""
    assert env_name(*parts) == expected


def test_ids_get_azure_spelling_back() -> None:
    """Fixed segments are re-cased; names stay as they are."""
    assert pretty_id(VERSION) == (
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g"
        "/images/d/versions/1.0.0"
    )


def test_idiom_defaults_and_marks() -> None:
    """Logical image reference, Azure defaults and reconcile's marks left out, defaults factored."""
    out, result = files(
        world(pool("p", **{"metadata.reconcile.applied": "1.abc", "metadata.team": "a"}))
    )
    images, pools = out["images.yaml"], out["pools.yaml"]
    assert images["defaults"] == {
        "subscription": SUB,
        "resourceGroup": "rg",
        "location": "westeurope",
    }
    assert images["galleries"][0]["tags"] == {"team": "vfx"}
    definition = images["galleries"][0]["images"][0]
    assert "hyperVGeneration" not in definition  # V1 is Azure's default
    assert "targetRegions" not in definition["versions"][0]  # gallery region, computed, LRS
    p = pools["batchAccounts"][0]["pools"][0]
    assert p["image"] == {"gallery": "g", "definition": "d", "version": "1.0.0"}
    assert p["metadata"] == {"team": "a"}
    assert "taskSlotsPerNode" not in p and "interNodeCommunication" not in p
    assert images["settings"] == {"owner": "my-team", "adopt": True}  # folder name; unowned
    assert result.adopt


def test_computed_values_kept_as_floors_or_flagged_when_lower() -> None:
    """Higher than computed: kept with a comment; lower: left out with RC602/RC603 and arithmetic."""
    out, result = files(
        world(pool("p", **{"scale.fixed.dedicated": 1300, "scale.fixed.resizeTimeout": "PT20M"}))
    )
    assert "RC602" in codes(result) and "RC603" in codes(result)
    text = {f.name: f.text for f in result.files}
    assert "max(1, ceil(1300 / 600)) = 3" in text["images.yaml"]
    assert (
        "resizeTimeout" not in out["pools.yaml"]["batchAccounts"][0]["pools"][0]["scale"]["fixed"]
    )
    out, result = files(world(pool("p", **{"scale.fixed.resizeTimeout": "PT45M"}), replicas=4))
    version = out["images.yaml"]["galleries"][0]["images"][0]["versions"][0]
    assert version["targetRegions"] == [{"name": "westeurope", "replicas": 4}]
    assert (
        out["pools.yaml"]["batchAccounts"][0]["pools"][0]["scale"]["fixed"]["resizeTimeout"]
        == "PT45M"
    )
    assert not {"RC602", "RC603"} & set(codes(result))


def test_secrets_become_references_and_are_listed() -> None:
    """A secret-named start-task variable is a ${env:…} reference; its value is never written."""
    out, result = files(
        world(
            pool(
                "render",
                **{
                    "startTask.commandLine": "run",
                    "startTask.environment.API_TOKEN": "s3cr3t",
                    "startTask.environment.MODE": "fast",
                },
            )
        )
    )
    env = out["pools.yaml"]["batchAccounts"][0]["pools"][0]["startTask"]["environment"]
    assert env == {"API_TOKEN": "${env:RENDER_API_TOKEN}", "MODE": "fast"}
    assert [s.name for s in result.secrets] == ["RENDER_API_TOKEN"]
    assert all("s3cr3t" not in f.text for f in result.files)


@pytest.mark.parametrize(
    ("image", "spelled"),
    [
        (
            "/sharedgalleries/contoso-1a2b/images/render/versions/1.0.0",
            "/SharedGalleries/contoso-1a2b/Images/render/Versions/1.0.0",
        ),
        (
            "/communitygalleries/contoso-5678/images/render/versions/1.0.0",
            "/CommunityGalleries/contoso-5678/Images/render/Versions/1.0.0",
        ),
    ],
)
def test_a_shared_or_community_gallery_image_is_exported_by_id(image: str, spelled: str) -> None:
    """Such a pool's image is written by id in Azure's spelling, with no subscription check."""
    out, result = files(world(pool("p", image=image)))
    (exported,) = out["pools.yaml"]["batchAccounts"][0]["pools"]
    assert exported["image"] == {"id": spelled}
    assert "RC604" not in codes(result)


def marketplace_pool(name: str, version: str | None) -> LiveResource:
    """A live pool booting a Marketplace image (no image id)."""
    found = pool(name)
    props = {k: v for k, v in found.properties.items() if k != "image.id"}
    props.update({"image.publisher": "Canonical", "image.offer": "ubuntu-24_04-lts"})
    props["image.sku"] = "server"
    if version is not None:
        props["image.version"] = version
    return LiveResource(found.address, found.kind, found.id, found.name, found.location, props)


@pytest.mark.parametrize(
    ("version", "written"),
    [("latest", None), ("Latest", None), (None, None), ("1.0.20261101", "1.0.20261101")],
)
def test_a_marketplace_pool_is_exported_with_its_publisher_offer_and_sku(
    version: str | None, written: str | None
) -> None:
    """Such a pool's image is its publisher/offer/sku as Azure holds them, the version only
    when pinned; it boots no exported image and draws no image diagnostic."""
    out, result = files(world(marketplace_pool("build", version)))
    (exported,) = out["pools.yaml"]["batchAccounts"][0]["pools"]
    expected = {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server"}
    assert exported["image"] == expected | ({"version": written} if written else {})
    assert not {"RC601", "RC604", "RC606"} & set(codes(result))


def test_problems_are_diagnostics_and_comments_next_to_the_resource() -> None:
    """Cross-subscription image (RC604) and unexpressed members (RC606), at file:line; pool
    tags are exported like any tags."""
    foreign = f"/subscriptions/{OTHER}/resourcegroups/rg/providers/microsoft.compute/galleries/x/images/y/versions/1.0.0"
    _, result = files(
        world(pool("p", image=foreign, **{"tags.cost": "1"})),
        unexpressed={f"{ACCOUNT}/pools/p": ("properties.mountConfiguration",)},
    )
    found = {d.code: d for d in result.diagnostics}
    assert {"RC604", "RC606"} <= set(found)
    assert "mountConfiguration" in found["RC606"].message
    assert "tags.cost" not in found["RC606"].message
    pools_text = {f.name: f.text for f in result.files}["pools.yaml"]
    assert "tags:\n" in pools_text and "cost: '1'" in pools_text
    line = pools_text.splitlines()[found["RC604"].line - 2]
    assert (
        found["RC604"].file == "pools.yaml" and line.strip().startswith("# RC606")
    ) or "RC604" in line


# -- the Azure-named half ------------------------------------------------------------------

VMC = "properties.deploymentConfiguration.virtualMachineConfiguration"
UAI = f"{RG}/providers/microsoft.managedidentity/userassignedidentities/render"


def exported_pool(**props: Any) -> tuple[dict[str, Any], Any]:
    out, result = files(world(pool("render", **props)))
    return out["pools.yaml"]["batchAccounts"][0]["pools"][0], result


def test_azure_members_are_written_in_azures_nesting_and_order() -> None:
    """Flat Azure-named paths come back as nested properties/identity blocks, ids re-cased."""
    p, _ = exported_pool(
        **{
            f'identity.userAssignedIdentities["{UAI}"]': "{}",
            "identity.type": "UserAssigned",
            "properties.mountConfiguration[0].nfsMountConfiguration.source": "10.0.0.4:/x",
            "properties.mountConfiguration[0].nfsMountConfiguration.relativeMountPath": "x",
            f"{VMC}.containerConfiguration.containerImageNames": ("a:1", "b:2"),
            f"{VMC}.containerConfiguration.type": "DockerCompatible",
        }
    )
    assert list(p)[-2:] == ["identity", "properties"]
    assert p["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {pretty_id(UAI): {}}}
    vmc = p["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"]
    assert vmc["containerConfiguration"] == {
        "type": "DockerCompatible",
        "containerImageNames": ["a:1", "b:2"],
    }
    assert p["properties"]["mountConfiguration"] == [
        {"nfsMountConfiguration": {"source": "10.0.0.4:/x", "relativeMountPath": "x"}}
    ]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("properties.taskSchedulingPolicy.nodeFillType", "Spread"),  # Azure's fill
        ("properties.taskSchedulingPolicy.nodeFillType", "spread"),  # in Azure's casing
        ("properties.networkConfiguration.dynamicVnetAssignmentScope", "none"),  # table default
    ],
)
def test_values_azure_fills_in_are_left_out(path: str, value: Any) -> None:
    """A member equal to Azure's default is not written (so it is not managed)."""
    p, _ = exported_pool(**{path: value})
    assert "properties" not in p


def test_a_list_item_is_never_emptied_by_leaving_defaults_out() -> None:
    """An item whose every member is a default keeps them: a written list is the whole list."""
    p, _ = exported_pool(
        **{
            f"{VMC}.extensions[0].name": "x",
            f"{VMC}.extensions[0].publisher": "p",
            f"{VMC}.extensions[0].type": "t",
            f"{VMC}.extensions[1].name": "y",
            f"{VMC}.extensions[1].publisher": "p",
            f"{VMC}.extensions[1].type": "t",
            f"{VMC}.extensions[1].settings": '{"a":1}',
        }
    )
    extensions = p["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"][
        "extensions"
    ]
    assert [e["name"] for e in extensions] == ["x", "y"]
    assert extensions[1]["settings"] == {"a": 1}  # an open object, as a mapping again


@pytest.mark.parametrize(
    ("props", "where", "variable"),
    [
        (
            {
                "properties.userAccounts[0].name": "batch",
                "properties.userAccounts[0].elevationLevel": "Admin",
            },
            ("userAccounts", 0, "password"),
            "RENDER_USER_BATCH_PASSWORD",
        ),
        (
            {
                "properties.mountConfiguration[0].azureFileShareConfiguration.accountName": "a",
                "properties.mountConfiguration[0].azureFileShareConfiguration.relativeMountPath": "scenes",
            },
            ("mountConfiguration", 0, "azureFileShareConfiguration", "accountKey"),
            "RENDER_MOUNT_SCENES_ACCOUNT_KEY",
        ),
        (
            {
                "properties.mountConfiguration[0].azureBlobFileSystemConfiguration.accountName": "a",
                "properties.mountConfiguration[0].azureBlobFileSystemConfiguration.relativeMountPath": "blob",
            },
            ("mountConfiguration", 0, "azureBlobFileSystemConfiguration", "accountKey"),
            "RENDER_MOUNT_BLOB_ACCOUNT_KEY",
        ),
        (
            {
                "properties.startTask.containerSettings.imageName": "i",
                "properties.startTask.containerSettings.registry.username": "u",
                "properties.startTask.containerSettings.registry.registryServer": "r.io",
            },
            ("startTask", "containerSettings", "registry", "password"),
            "RENDER_START_TASK_REGISTRY_PASSWORD",
        ),
    ],
)
def test_secrets_azure_does_not_return_become_named_references(
    props: dict[str, Any], where: tuple[Any, ...], variable: str
) -> None:
    """Each secret the pool needs is a ${env:…} reference with a generated name, listed, RC605."""
    p, result = exported_pool(**props)
    value: Any = p["properties"]
    for segment in where:
        value = value[segment]
    assert value == f"${{env:{variable}}}"
    assert [(s.name, s.pool) for s in result.secrets] == [(variable, "pool:acct/render")]
    assert "RC605" in codes(result)


def test_secrets_not_needed_are_not_asked_for() -> None:
    """A blobfuse mount by identity and a registry by identity need no secret."""
    ref = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/render"
    mount = "properties.mountConfiguration[0].azureBlobFileSystemConfiguration"
    registry = f"{VMC}.containerConfiguration.containerRegistries[0]"
    _, result = exported_pool(
        **{
            f"{mount}.accountName": "a",
            f"{mount}.relativeMountPath": "b",
            f"{mount}.identityReference.resourceId": ref,
            f"{VMC}.containerConfiguration.type": "DockerCompatible",
            f"{registry}.registryServer": "r.io",
            f"{registry}.identityReference.resourceId": ref,
        }
    )
    assert result.secrets == ()


@pytest.mark.parametrize(
    ("extra", "written"),
    [
        ({"properties.publishingProfile.replicaCount": 1}, None),  # Azure's default
        ({"properties.publishingProfile.replicaCount": 4}, None),  # a region's own count
        ({"properties.publishingProfile.storageAccountType": "Standard_LRS"}, None),
        ({"properties.safetyProfile.allowDeletionOfReplicatedLocations": False}, None),
        (
            {"properties.safetyProfile.allowDeletionOfReplicatedLocations": True},
            {"safetyProfile": {"allowDeletionOfReplicatedLocations": True}},
        ),
        (
            {"properties.publishingProfile.replicaCount": 2},
            {"publishingProfile": {"replicaCount": 2}},
        ),
    ],
)
def test_version_profiles_are_written_only_when_they_say_something(
    extra: dict[str, Any], written: dict[str, Any] | None
) -> None:
    """Default replica count / storage type folded into the regions; safety profile's default out."""
    out, _ = files(
        world(pool("p", **{"scale.fixed.dedicated": 2000}), replicas=4, version_props=extra)
    )
    version = out["images.yaml"]["galleries"][0]["images"][0]["versions"][0]
    assert version.get("properties") == written


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("STANDARD_D8S_V5", "Standard_D8s_v5"),
        ("standard_e64-16ds_v4", "Standard_E64-16ds_v4"),
        ("STANDARD_NC24ADS_A100_V4", "Standard_NC24ads_A100_v4"),
        ("STANDARD_DS3_V2", "Standard_DS3_v2"),
        ("Standard_d4s_v5", "Standard_d4s_v5"),  # mixed case: as written
    ],
)
def test_vm_sizes_get_their_documented_spelling(size: str, expected: str) -> None:
    """A VM size Azure echoes in one case is written as Microsoft documents it."""
    assert vm_size_spelling(size) == expected
