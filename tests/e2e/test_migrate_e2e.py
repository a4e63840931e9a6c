"""Migration end to end: three managed-image pools move to a gallery version in the sandbox.

The estate is made the way it was before 31 March 2026 (R7), by planning the legacy spec
as of a day when managed-image pools could still be created: one fixed pool at 0 nodes,
one fixed pool with nodes, one autoscale pool idle at 0, one autoscale pool with nodes. `reconcile migrate --write`
rewrites the spec, the plan orders gallery → definition → version → pools, and apply
with --allow-disruptive moves every pool; the managed image stays.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.plan import Action
from reconciler.state.model import Kind, LiveResource, canonical_id
from tests.e2e.test_apply_e2e import SUB, World

BEFORE_CUTOFF = date(2026, 1, 15)
IMAGE_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/images/img-farm"
)
VERSION_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/galleries/"
    "farmgallery/images/img-farm/versions/1.0.0"
)
LEGACY = f"""\
# The render farm as it ran on a managed image.
apiVersion: reconcile/v1

defaults:
  subscription: {SUB}
  location: westeurope

managedImages:
  - name: img-farm   # built from the sim snapshot
    resourceGroup: rg-images
    osType: Linux
    hyperVGeneration: V2
    source:
      osDiskSnapshot: /subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/snapshots/snap-sim-os-2026-10

batchAccounts:
  - name: batchprodweu
    resourceGroup: rg-batch
    pools:
      # Idle: no nodes, moved in place.
      - name: farm-idle
        vmSize: Standard_D4s_v5
        image: {{managedImage: img-farm}}
        nodeAgentSkuId: batch.node.ubuntu 22.04
        scale:
          fixed: {{dedicated: 0}}
        metadata: {{team: farm}}
      # Busy: scaled to zero for the move and back.
      - name: farm-busy
        displayName: Farm (busy)
        vmSize: Standard_D8s_v5
        image: {{managedImage: img-farm}}
        nodeAgentSkuId: batch.node.ubuntu 22.04
        scale:
          fixed: {{dedicated: 40, lowPriority: 10}}
        startTask:
          commandLine: /bin/bash -c 'start-agent.sh'
          waitForSuccess: true
        taskSlotsPerNode: 2
        metadata: {{team: farm}}
      - name: farm-elastic
        vmSize: Standard_D4s_v5
        image: {{managedImage: img-farm}}
        nodeAgentSkuId: batch.node.ubuntu 22.04
        scale:
          autoScale:
            formula: $TargetDedicatedNodes = 0;
            evaluationInterval: PT5M
            maxNodes: 100
        metadata: {{team: farm}}
      # Autoscale with nodes: autoscale off at 0 nodes for the move, then back on.
      - name: farm-elastic-busy
        vmSize: Standard_D4s_v5
        image: {{managedImage: img-farm}}
        nodeAgentSkuId: batch.node.ubuntu 22.04
        scale:
          autoScale:
            formula: $TargetDedicatedNodes = 6;
            evaluationInterval: PT5M
            maxNodes: 20
        metadata: {{team: farm}}
"""
POOLS = ("farm-idle", "farm-busy", "farm-elastic", "farm-elastic-busy")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path / "world.sqlite")
    yield w
    w.close()


@pytest.fixture
def legacy(world: World, tmp_path: Path) -> Path:
    """The legacy estate, applied as of a day managed-image pools could still be created."""
    spec_dir = tmp_path / "farm"
    spec_dir.mkdir()
    (spec_dir / "spec.yaml").write_text(LEGACY, encoding="utf-8")
    result = world.apply(world.plan(spec_dir, now=BEFORE_CUTOFF))
    assert result.ok, result
    return spec_dir


def comparable(props: Mapping[str, Any]) -> dict[str, Any]:
    """A pool's properties but its image, its ownership marks and its computed resizeTimeout."""
    skip = ("image.id", "scale.fixed.resizeTimeout")
    return {
        k: v
        for k, v in props.items()
        if k not in skip and not k.startswith(("tags.", "metadata.reconcile."))
    }


def pools_now(world: World, spec_dir: Path) -> dict[str, LiveResource]:
    spec = world.load(spec_dir)
    live = world.live(spec)
    return {p.name: p for p in live.of_kind(Kind.POOL) if p.name in POOLS}


def test_migrated_pools_boot_the_gallery_version_and_keep_everything_else(
    world: World, legacy: Path
) -> None:
    """After migrate --write, plan and apply, every pool boots the version at its target size."""
    before = pools_now(world, legacy)
    assert before["farm-busy"].current_dedicated == 40
    # An autoscale pool gets Batch's 15-minute resize timeout, short of a managed image's
    # 20 minutes (R3): it stopped at 4 of 6 nodes. On the gallery version it reaches 6.
    assert before["farm-elastic-busy"].current_dedicated == 4
    result = CliRunner().invoke(
        cli,
        [
            "migrate",
            str(legacy),
            "--gallery",
            "farmgallery",
            "--write",
            "--sandbox",
            str(world.path),
        ],
    )
    assert result.exit_code == 0, result.output
    text = (legacy / "spec.yaml").read_text(encoding="utf-8")
    assert "# Idle: no nodes, moved in place." in text and "# built from the sim snapshot" in text

    plan = world.plan(legacy)
    assert not plan.errors, plan.errors
    order = [c.id for c in plan.actionable]
    gallery = order.index("gallery:farmgallery")
    definition = order.index("image:farmgallery/img-farm")
    version = order.index("version:farmgallery/img-farm/1.0.0")
    assert gallery < definition < version
    moves = {c.id: c for c in plan.actionable if c.kind is Kind.POOL}
    assert sorted(moves) == sorted(
        [
            *(f"pool:batchprodweu/{name}" for name in ("farm-idle", "farm-elastic")),
            *(
                f"pool:batchprodweu/{name}#{step}"
                for name in ("farm-busy", "farm-elastic-busy")
                for step in ("scale-down", "update-at-zero", "scale-back")
            ),
        ]
    )
    assert len(order) == 3 + len(moves)  # nothing else: the managed image stays as it is
    assert all(order.index(pid) > version for pid in moves)
    assert moves["pool:batchprodweu/farm-idle"].action is Action.UPDATE
    assert moves["pool:batchprodweu/farm-elastic"].action is Action.UPDATE
    assert [c.step for c in plan.actionable if c.address == "pool:batchprodweu/farm-busy"] == [
        "scale-down",
        "update-at-zero",
        "scale-back",
    ]
    elastic = "pool:batchprodweu/farm-elastic-busy"
    assert [c.step for c in plan.actionable if c.address == elastic] == [
        "scale-down",
        "update-at-zero",
        "scale-back",
    ]
    # Autoscale off: fixed at zero, the nodes finishing their tasks.
    elastic_down = moves[elastic + "#scale-down"].after
    assert {p: v for p, v in elastic_down.items() if p.startswith("scale.")} == {
        "scale.fixed.dedicated": 0,
        "scale.fixed.lowPriority": 0,
        "scale.fixed.nodeDeallocationOption": "TaskCompletion",
    }
    busy_down = moves["pool:batchprodweu/farm-busy#scale-down"]
    assert busy_down.after["scale.fixed.nodeDeallocationOption"] == "TaskCompletion"
    assert not any(c.kind is Kind.MANAGED_IMAGE and c.action is Action.DELETE for c in plan.changes)

    applied = world.apply(plan, allow_disruptive=True)
    assert applied.ok, applied

    after = pools_now(world, legacy)
    for name in POOLS:
        pool = after[name]
        assert pool.image_id == canonical_id(VERSION_ID), name
        assert (pool.allocation_state or "").lower() == "steady", name
        assert comparable(pool.properties) == comparable(before[name].properties), name
    # The one computed value that moves: a managed-image pool's 20-minute floor (R3) no
    # longer applies, so the fixed pools' resizeTimeout is the R2 value again.
    assert before["farm-idle"].properties["scale.fixed.resizeTimeout"] == "PT20M"
    assert after["farm-idle"].properties["scale.fixed.resizeTimeout"] == "PT15M"
    busy, idle = after["farm-busy"], after["farm-idle"]
    assert (busy.current_dedicated, busy.current_low_priority) == (40, 10)
    assert idle.current_dedicated == 0
    elastic_after = after["farm-elastic-busy"]
    assert elastic_after.current_dedicated == 6
    assert "scale.fixed.dedicated" not in elastic_after.properties  # autoscale again
    image = world.clients.compute(SUB).images.get("rg-images", "img-farm")
    assert image.id.lower() == IMAGE_ID.lower()

    again = world.plan(legacy)
    assert not again.actionable
    # The seed's pre-owner-name resources (RC522), and the managed image no pool boots (RC708).
    assert [d.code for d in again.diagnostics] == ["RC522", "RC708"]


def test_blue_green_creates_gallery_pools_and_deletes_the_old_only_when_removed(
    world: World, legacy: Path
) -> None:
    """--blue-green: `<pool>-gallery` pools boot the version; old pools go once unspecified."""
    before = pools_now(world, legacy)
    result = CliRunner().invoke(
        cli,
        [
            *("migrate", str(legacy), "--gallery", "farmgallery", "--blue-green", "--write"),
            *("--sandbox", str(world.path)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "deleted only when you remove it from the spec" in result.stderr

    plan = world.plan(legacy)
    assert not plan.errors, plan.errors
    pools = {c.id: c.action for c in plan.actionable if c.kind is Kind.POOL}
    assert pools == {
        "pool:batchprodweu/farm-busy-gallery": Action.CREATE,
        "pool:batchprodweu/farm-elastic-busy-gallery": Action.CREATE,
        "pool:batchprodweu/farm-idle": Action.UPDATE,
        "pool:batchprodweu/farm-elastic": Action.UPDATE,
    }
    applied = world.apply(plan)  # nothing disruptive: no --allow-disruptive needed
    assert applied.ok, applied

    spec = world.load(legacy)
    live = {p.name: p for p in world.live(spec).of_kind(Kind.POOL)}
    for old in ("farm-busy", "farm-elastic-busy"):
        assert live[old].image_id == canonical_id(IMAGE_ID), old
        assert comparable(live[old].properties) == comparable(before[old].properties), old
        new = live[f"{old}-gallery"]
        assert new.image_id == canonical_id(VERSION_ID), old
        assert (new.allocation_state or "").lower() == "steady"
        assert comparable(new.properties) == comparable(before[old].properties), old
    busy = live["farm-busy-gallery"]
    assert (busy.current_dedicated, busy.current_low_priority) == (40, 10)
    assert live["farm-elastic-busy-gallery"].current_dedicated == 6
    assert not world.plan(legacy, prune=True).actionable

    # The user retires the old pools: only now does a pruning plan delete them, and the
    # managed image no pool boots any more is offered for pruning (R6).
    text = (legacy / "spec.yaml").read_text(encoding="utf-8")
    for old in ("farm-busy", "farm-elastic-busy"):
        text = _without_pool(text, old)
    (legacy / "spec.yaml").write_text(text, encoding="utf-8")
    retire = world.plan(legacy, prune=True)
    assert {c.id: c.action for c in retire.actionable} == {
        "pool:batchprodweu/farm-busy": Action.DELETE,
        "pool:batchprodweu/farm-elastic-busy": Action.DELETE,
    }
    assert [d.code for d in retire.diagnostics] == ["RC522", "RC708"]
    assert world.apply(retire).ok
    image = world.clients.compute(SUB).images.get("rg-images", "img-farm")  # kept
    assert image.id.lower() == IMAGE_ID.lower()


def _without_pool(text: str, name: str) -> str:
    """The spec text without the pool item `name` (from its `- name:` line to the next item)."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == f"- name: {name}")
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (
        not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
    ):
        end += 1
    # Comments right above the next item belong to it; those above this one go too.
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    return "".join(lines[:start] + lines[end:])
