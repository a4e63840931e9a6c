"""Export end to end: what exists is written down, validates, adopts and then plans empty.

An estate built outside the tool through the Azure SDK (a gallery with versions in two
regions, a managed image, pools on both and one on a Marketplace image, a start-task secret, a member the spec cannot
express) is exported with `reconcile export` against the sandbox; the files validate,
`plan --adopt` holds only adopt actions and the flagged sizing fixes, `apply --adopt`
carries them out and the next `plan --detailed-exitcode` exits 0. `specs/production`,
applied by the tool, exports to a spec whose plan is empty. Bad scopes and an existing
--out are one-line errors that write nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.plan import Action
from reconciler.sandbox.config import FaultRule, SandboxConfig
from reconciler.spec import load_spec
from reconciler.state.model import Kind
from tests.e2e.test_apply_e2e import BEFORE_R7, SPECS, SPEED, SUB, World
from tests.e2e.test_apply_e2e import _clean_env as _clean_env  # autouse: secrets, no env sandbox

RG = f"/subscriptions/{SUB}/resourceGroups/rg-images"
SNAP = f"{RG}/providers/Microsoft.Compute/snapshots"
GALLERY_ID = f"{RG}/providers/Microsoft.Compute/galleries/teamgallery"
DEFINITION_ID = f"{GALLERY_ID}/images/app-linux"
IMAGE_ID = f"{RG}/providers/Microsoft.Compute/images/img-hand"
SCOPE = (
    "--subscription",
    SUB,
    "--resource-group",
    "rg-images",
    "--resource-group",
    "rg-batch",
    "--account",
    "batchprodweu",
    "--account",
    "rg-batch/batchprodeus",
)


LEGACY_POOL = f"/subscriptions/{SUB}/resourceGroups/rg-legacy/providers/Microsoft.Batch/batchAccounts/batchlegacy/pools/legacy-render"
LEGACY_IMAGE = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/images/img-legacy-render"


@pytest.fixture(name="world")
def world_without_legacy(tmp_path: Path) -> Iterator[World]:
    """The default world without its legacy estate (it shares rg-images with the exports)."""
    w = World(tmp_path / "world.sqlite")
    w.ops.delete(kind=Kind.POOL, resource_id=LEGACY_POOL)
    w.ops.delete(kind=Kind.MANAGED_IMAGE, resource_id=LEGACY_IMAGE)
    yield w
    w.close()


def reconcile(*args: str, sandbox: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*args, "--sandbox", str(sandbox)])
    return result.exit_code, result.output


def build_by_hand(world: World) -> None:
    """Galleries, versions, a managed image and pools as a team makes them, no reconcile mark."""
    from azure.mgmt.batch import models as bm

    from reconciler.state.model import Kind

    create = world.ops.create
    create(
        kind=Kind.GALLERY,
        resource_id=GALLERY_ID,
        location="westeurope",
        props={"tags.cost": "vfx"},
    )
    create(
        kind=Kind.IMAGE,
        resource_id=DEFINITION_ID,
        location="westeurope",
        props={
            "osType": "Linux",
            "osState": "Generalized",
            "hyperVGeneration": "V2",
            "identifier.publisher": "team",
            "identifier.offer": "app",
            "identifier.sku": "ubuntu",
        },
    )
    # 1.0.0: 3 replicas in westeurope where no pool boots it (a floor to keep), 1 in
    # eastus for an autoscale pool of up to 1200 nodes (R1 needs 2: flagged, then fixed).
    create(
        kind=Kind.VERSION,
        resource_id=f"{DEFINITION_ID}/versions/1.0.0",
        location="westeurope",
        props={
            "source.snapshots.osDisk": f"{SNAP}/snap-sim-os-2026-10",
            "targetRegions[westeurope].replicas": 3,
            "targetRegions[eastus].replicas": 1,
        },
    )
    # 1.1.0: 2 replicas for 900 nodes, as computed: nothing to write.
    create(
        kind=Kind.VERSION,
        resource_id=f"{DEFINITION_ID}/versions/1.1.0",
        location="westeurope",
        props={
            "source.snapshots.osDisk": f"{SNAP}/snap-sim-os-2026-11",
            "targetRegions[westeurope].replicas": 2,
        },
    )
    create(
        kind=Kind.MANAGED_IMAGE,
        resource_id=IMAGE_ID,
        location="westeurope",
        props={
            "osType": "Linux",
            "source.osDiskSnapshot": f"{SNAP}/snap-legacy-os-2025-12",
            # A data disk from a VHD blob beside the OS disk's snapshot (Azure takes any
            # source per disk): exported as `dataDiskBlobUris`.
            "source.dataDiskBlobUris[0]": (
                "https://stimagesweu.blob.core.windows.net/vhds/render-data0-2026-10.vhd"
            ),
        },
    )

    def pool(
        account: str,
        name: str,
        image: str | bm.ImageReference,
        scale: bm.ScaleSettings,
        **extra: object,
    ) -> None:
        reference = image if isinstance(image, bm.ImageReference) else bm.ImageReference(id=image)
        world.clients.batch(SUB).pool.create(
            "rg-batch",
            account,
            name,
            bm.Pool(
                vm_size="Standard_D4s_v5",
                deployment_configuration=bm.DeploymentConfiguration(
                    virtual_machine_configuration=bm.VirtualMachineConfiguration(
                        image_reference=reference,
                        node_agent_sku_id="batch.node.ubuntu 22.04",
                    )
                ),
                scale_settings=scale,
                **extra,
            ),
        )

    pool(
        "batchprodweu",
        "app",
        f"{DEFINITION_ID}/versions/1.1.0",
        bm.ScaleSettings(
            fixed_scale=bm.FixedScaleSettings(target_dedicated_nodes=900, resize_timeout="PT20M")
        ),
        start_task=bm.StartTask(
            command_line="/bin/sh -c 'connect --password \"$DB_PASSWORD\"'",
            environment_settings=[
                bm.EnvironmentSetting(name="DB_PASSWORD", value="hunter2"),
                bm.EnvironmentSetting(name="QUEUE", value="prod"),
            ],
            max_task_retry_count=2,
        ),
        task_scheduling_policy=bm.TaskSchedulingPolicy(node_fill_type="Pack"),
        metadata=[bm.MetadataItem(name="team", value="app")],
        tags={"cost-centre": "app"},
    )
    pool(
        "batchprodweu",
        "legacy",
        IMAGE_ID,
        bm.ScaleSettings(
            fixed_scale=bm.FixedScaleSettings(target_dedicated_nodes=10, resize_timeout="PT30M")
        ),
    )
    # A build pool on a Marketplace image, beside the custom-image ones.
    pool(
        "batchprodweu",
        "build",
        bm.ImageReference(publisher="Canonical", offer="ubuntu-24_04-lts", sku="server"),
        bm.ScaleSettings(fixed_scale=bm.FixedScaleSettings(target_dedicated_nodes=2)),
    )
    pool(
        "batchprodeus",
        "app-eus",
        f"{DEFINITION_ID}/versions/1.0.0",
        bm.ScaleSettings(
            auto_scale=bm.AutoScaleSettings(
                formula="$TargetDedicatedNodes = min(1200, $PendingTasks.GetSample(1));",
                evaluation_interval="PT10M",
            )
        ),
    )


def test_a_hand_made_estate_exports_validates_adopts_and_then_plans_empty(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """export → validate (no errors) → plan --adopt (adopts + flagged sizing fixes) → apply → empty."""
    build_by_hand(world)
    out = tmp_path / "team"
    code, text = reconcile("export", *SCOPE, "--out", str(out), sandbox=world.path)
    assert code == 0, text
    assert "APP_DB_PASSWORD" in text  # the variable to set is printed
    images, pools = (out / "images.yaml").read_text(), (out / "pools.yaml").read_text()
    assert images.startswith("# yaml-language-server: $schema=spec.schema.json\n")
    assert (out / "spec.schema.json").exists()
    assert "hunter2" not in pools and "${env:APP_DB_PASSWORD}" in pools
    assert "{gallery" not in pools and "definition: app-linux" in pools
    assert "managedImage: img-hand" in pools
    marketplace = "image:\n          publisher: Canonical\n          offer: ubuntu-24_04-lts\n"
    assert marketplace + "          sku: server\n" in pools  # version: latest, the default
    for flagged in ("RC601", "RC602", "RC605"):
        assert flagged in text, flagged
    assert "taskSchedulingPolicy:\n" in pools  # under Azure's names, in `properties:`
    assert "RC606" not in images and "dataDiskBlobUris:" in images  # every source is expressed
    assert "cost-centre: app" in pools  # pool tags are exported like any other tags
    assert "replicas: 3" in images  # westeurope floor kept, with its arithmetic
    assert "maxNodes: 1200" in pools  # read from the formula's min(1200, …) cap
    assert "resizeTimeout: PT20M" in pools  # above the computed 15 minutes: kept
    assert "settings.adopt" in images and "adopt: true" in images

    loaded = load_spec([str(out)])
    assert loaded.spec is not None and not loaded.errors, [d.format() for d in loaded.errors]

    monkeypatch.setenv("APP_DB_PASSWORD", "hunter2")
    plan = world.plan(out, now=BEFORE_R7)
    assert not plan.errors, [d.message for d in plan.errors]
    actions = {(c.address, c.action) for c in plan.actionable}
    adopted = {a for a, act in actions if act is Action.ADOPT}
    assert adopted == {
        "gallery:teamgallery",
        "image:teamgallery/app-linux",
        "version:teamgallery/app-linux/1.0.0",
        "version:teamgallery/app-linux/1.1.0",
        "managedImage:img-hand",
        "pool:batchprodweu/app",
        "pool:batchprodweu/legacy",
        "pool:batchprodweu/build",
        "pool:batchprodeus/app-eus",
    }
    # Only the flagged sizing fixes change anything besides the marks.
    others = {a for a, act in actions if act is not Action.ADOPT}
    assert others == {"version:teamgallery/app-linux/1.0.0"}, actions

    code, text = reconcile("apply", str(out), "--auto-approve", sandbox=world.path)
    assert code == 0, text
    code, text = reconcile("plan", str(out), "--detailed-exitcode", sandbox=world.path)
    assert code == 0, text
    after = world.live(world.load(out))
    version = after.resources["version:teamgallery/app-linux/1.0.0"]
    assert version.properties["targetRegions[eastus].replicas"] == 2
    assert version.properties["targetRegions[westeurope].replicas"] == 3
    pool = after.resources["pool:batchprodweu/app"]
    assert pool.properties["scale.fixed.resizeTimeout"] == "PT20M"
    assert pool.properties["startTask.environment.DB_PASSWORD"] == "hunter2"


def test_production_applied_by_the_tool_exports_to_a_spec_that_plans_empty(
    world: World, tmp_path: Path
) -> None:
    """specs/production, applied, then exported: the exported spec's plan has nothing to do."""
    plan = world.plan(SPECS / "production", now=BEFORE_R7)
    world.apply(plan)
    out = tmp_path / "exported"
    code, text = reconcile("export", *SCOPE, "--out", str(out), sandbox=world.path)
    assert code == 0, text
    assert "Owner: production." in text
    exported = world.plan(out, now=BEFORE_R7)
    assert not exported.errors, [d.message for d in exported.errors]
    assert exported.actionable == (), [(c.address, c.action) for c in exported.actionable]
    code, text = reconcile("plan", str(out), "--detailed-exitcode", sandbox=world.path)
    assert code == 0, text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (
                "--subscription",
                "00000000-0000-0000-0000-00000000dead",
                "--resource-group",
                "rg-images",
            ),
            "subscription 00000000-0000-0000-0000-00000000dead was not found",
        ),
        (
            ("--subscription", SUB, "--resource-group", "rg-nowhere"),
            "resource group rg-nowhere was not found",
        ),
        (
            ("--subscription", SUB, "--resource-group", "rg-batch", "--account", "nosuchaccount"),
            "Batch account nosuchaccount was not found in resource group(s) rg-batch",
        ),
        (
            ("--subscription", SUB, "--resource-group", "rg-images", "--gallery", "nosuch"),
            "gallery nosuch was not found",
        ),
    ],
)
def test_an_unknown_scope_is_one_line_and_writes_nothing(
    world: World, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    """A missing subscription, group, account or gallery: exit 1, one sentence, no folder."""
    out = tmp_path / "out"
    code, text = reconcile("export", *args, "--out", str(out), sandbox=world.path)
    assert code == 1
    assert message in text
    assert "Traceback" not in text
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith("world.sqlite")]


def test_an_existing_folder_is_refused_without_force(world: World, tmp_path: Path) -> None:
    """--out that holds files: exit 1 and nothing touched; --force writes into it."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, text = reconcile("export", *SCOPE, "--out", str(out), sandbox=world.path)
    assert code == 1 and "exists and is not empty; nothing was written" in text
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    code, text = reconcile("export", *SCOPE, "--out", str(out), "--force", sandbox=world.path)
    assert code == 0, text
    assert sorted(p.name for p in out.iterdir()) == [
        "notes.txt",
        "pools.yaml",
        "spec.schema.json",
    ]


@pytest.mark.no_openapi_check
def test_no_read_permission_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """A 403 on the listings: exit 1 with Azure's reason, no traceback, no folder."""
    config = SandboxConfig(
        speed=SPEED,
        faults=(
            FaultRule(
                kind="status",
                method="GET",
                path="rg-images",
                status=403,
                code="AuthorizationFailed",
                message="The client does not have authorization to perform action "
                "'Microsoft.Compute/galleries/read'.",
            ),
        ),
    )
    w = World(tmp_path / "world.sqlite", config=config)
    try:
        out = tmp_path / "out"
        code, text = reconcile(
            "export",
            "--subscription",
            SUB,
            "--resource-group",
            "rg-images",
            "--out",
            str(out),
            sandbox=w.path,
        )
    finally:
        w.close()
    assert code == 1
    assert "AuthorizationFailed" in text, text
    assert "Traceback" not in text
    assert not out.exists()
