"""Adoption end to end: an estate reconcile did not create is taken over with --adopt.

The estate is what `specs/minimal` declares, written through the Azure SDK with none of
reconcile's marks, plus what a team adds by hand (a gallery tag, pool metadata). Without
--adopt the plan refuses to touch it (RC506, naming the flag); with --adopt it holds only
adopt actions, apply writes only the ownership marks, the hand-made extras survive, and
the next plan is empty.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.plan import Action
from tests.e2e.test_apply_e2e import SPECS, SUB, World

MINIMAL = SPECS / "minimal"
MARKS = ("tags.managed-by", "tags.reconcile-", "metadata.reconcile.")
ADOPTED = (
    "gallery:minimalgallery",
    "image:minimalgallery/minimal-ubuntu",
    "version:minimalgallery/minimal-ubuntu/1.0.0",
    "pool:batchprodweu/minimal",
)


def unmarked(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if not k.startswith(MARKS)}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path / "world.sqlite")
    yield w
    w.close()


def build_by_hand(world: World) -> None:
    """Create what the spec declares, in dependency order, without any reconcile mark."""
    from azure.mgmt.batch import models as batch_models
    from azure.mgmt.compute import models as compute_models

    for change in world.plan(MINIMAL).changes:
        assert change.action is Action.CREATE
        props = {k: v for k, v in (change.after or {}).items() if not k.startswith(MARKS)}
        world.ops.create(
            kind=change.kind,
            resource_id=change.resource_id,
            location=change.location,
            props=props,
        )
    # What a team adds by hand, which no spec declares.
    compute = world.clients.compute(SUB)
    compute.galleries.begin_update(
        "rg-images", "minimalgallery", compute_models.GalleryUpdate(tags={"cost": "vfx"})
    ).result()
    pool = world.clients.batch(SUB).pool
    live = pool.get("rg-batch", "batchprodweu", "minimal")
    metadata = [*live.metadata, batch_models.MetadataItem(name="runbook", value="wiki/render")]
    pool.update("rg-batch", "batchprodweu", "minimal", batch_models.Pool(metadata=metadata))


def reconcile(*args: str, sandbox: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*args, "--sandbox", str(sandbox)])
    return result.exit_code, result.output


def test_without_adopt_a_hand_made_estate_is_refused_with_the_flag_named(world: World) -> None:
    """RC506 for each declared resource that exists unowned; the hint names --adopt."""
    build_by_hand(world)
    code, out = reconcile("plan", str(MINIMAL), sandbox=world.path)
    assert code == 1
    assert out.count("RC506") == 4
    assert "plan and apply with --adopt" in out


def test_adopt_writes_only_the_marks_and_keeps_what_was_made_by_hand(world: World) -> None:
    """plan --adopt holds only adopt actions; after apply --adopt the plan is empty."""
    build_by_hand(world)
    plan = world.load(MINIMAL)
    planned = world.plan(MINIMAL)
    assert planned.actionable == ()  # without --adopt: nothing it may touch
    from reconciler.plan import make_plan

    adopting = make_plan(plan, world.live(plan), target=world.target.describe(), adopt=True)
    assert {(c.address, c.action) for c in adopting.actionable} == {
        (address, Action.ADOPT) for address in ADOPTED
    }
    assert not adopting.errors
    before = world.live(plan)

    code, out = reconcile("apply", str(MINIMAL), "--adopt", "--auto-approve", sandbox=world.path)
    assert code == 0, out

    after = world.live(plan)
    for address in ADOPTED:
        # Nothing but reconcile's own marks changed, and now it carries them.
        now, then = after.resources[address], before.resources[address]
        assert unmarked(now.properties) == unmarked(then.properties), address
        assert now.owned and now.owner_name == "minimal"
    gallery = after.resources["gallery:minimalgallery"]
    assert gallery.properties["tags.cost"] == "vfx"
    pool = after.resources["pool:batchprodweu/minimal"]
    assert pool.properties["metadata.runbook"] == "wiki/render"
    assert pool.current_dedicated == 2

    code, out = reconcile("plan", str(MINIMAL), "--detailed-exitcode", sandbox=world.path)
    assert code == 0, out


def test_adopting_a_pool_that_also_needs_a_change_applies_both(world: World) -> None:
    """An adopt step and a resize of one pool: the resize writes after the adopt's new ETag."""
    from azure.mgmt.batch import models as batch_models

    build_by_hand(world)
    world.clients.batch(SUB).pool.update(
        "rg-batch",
        "batchprodweu",
        "minimal",
        batch_models.Pool(
            scale_settings=batch_models.ScaleSettings(
                fixed_scale=batch_models.FixedScaleSettings(target_dedicated_nodes=1)
            )
        ),
    )
    # A resize in progress would plan a wait first; adopt a pool that has settled at one node.
    deadline = time.monotonic() + 60
    while (live := world.clients.batch(SUB).pool.get("rg-batch", "batchprodweu", "minimal")) and (
        live.allocation_state != "Steady" or live.current_dedicated_nodes != 1
    ):
        assert time.monotonic() < deadline, f"the pool did not settle: {live.allocation_state}"
        time.sleep(0.05)
    plan = world.load(MINIMAL)
    from reconciler.plan import make_plan

    adopting = make_plan(plan, world.live(plan), target=world.target.describe(), adopt=True)
    pool_steps = [c.action for c in adopting.actionable if c.address == "pool:batchprodweu/minimal"]
    assert pool_steps == [Action.ADOPT, Action.RESIZE]

    code, out = reconcile("apply", str(MINIMAL), "--adopt", "--auto-approve", sandbox=world.path)
    assert code == 0, out
    pool = world.live(plan).resources["pool:batchprodweu/minimal"]
    assert pool.owned and pool.current_dedicated == 2
    code, out = reconcile("plan", str(MINIMAL), "--detailed-exitcode", sandbox=world.path)
    assert code == 0, out
