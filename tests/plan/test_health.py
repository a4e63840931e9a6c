"""Health as state: in-flight, failed and short resources are planned for and reported.

The planner compares with live status, not only with fields: a pool at 0 of 600 nodes is
a re-issued resize and an unhealthy drift item, never "No drift"; a version still
replicating is a wait step the pools booting it depend on; a pool still resizing is
waited on (and re-issued by the wait step itself when nothing else follows).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.plan import make_plan
from reconciler.plan.health import Condition, pool_health, version_health
from reconciler.plan.model import Action
from reconciler.state.model import Kind, LiveResource, LiveState, RegionReplication
from tests.golden.test_golden import HERE

POOL = "pool:batchprodweu/render"
VERSION = "version:gal/render/1.0.0"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_drift_reports_a_pool_short_of_target_as_unhealthy_with_exit_2(world):
    """0 of 600 nodes after AllocationFailed is its own section and exit 2, never "No drift"."""
    world("pool_short_after_allocation_failed")
    result = run("drift", "spec.yaml", "--sandbox", "w.sqlite")
    assert result.exit_code == 2, result.output
    assert "No drift" not in result.output
    assert "1 resource(s) are unhealthy" in result.output
    assert (
        "  ! pool:batchprodweu/render\n      pool render: 0 of 600 nodes: AllocationFailed\n"
        in result.output
    )
    assert result.output.rstrip().endswith(
        "Drift: 0 changed, 0 missing, 0 unexpected, 1 unhealthy."
    )
    markdown = run("drift", "spec.yaml", "--sandbox", "w.sqlite", "--format", "markdown").output
    assert "### Unhealthy" in markdown and "0 of 600 nodes: AllocationFailed" in markdown
    data = json.loads(run("drift", "spec.yaml", "--sandbox", "w.sqlite", "--format", "json").output)
    assert [(d["address"], d["kind"]) for d in data["drift"]] == [(POOL, "unhealthy")]


def test_plan_detailed_exitcode_is_2_while_a_version_replicates(world):
    """A wait step is work left to do: the plan is not empty until Azure has finished."""
    world("version_still_replicating")
    result = run("plan", "spec.yaml", "--sandbox", "w.sqlite", "--detailed-exitcode")
    assert result.exit_code == 2
    assert "1 to wait on" in result.output


def _pool(live: LiveState, **status) -> LiveState:  # type: ignore[no-untyped-def]
    resources = dict(live.resources)
    resources[POOL] = replace(resources[POOL], **status)
    return LiveState(resources=resources, scopes=live.scopes)


def _plan(case: str, live: LiveState):  # type: ignore[no-untyped-def]
    from reconciler.spec import load_spec

    loaded = load_spec([str(HERE / case / "spec.yaml")])
    assert loaded.spec is not None
    return make_plan(loaded.spec, live, target="golden")


def test_a_pool_still_resizing_is_waited_on_and_re_issued_by_the_wait_itself(world):
    """Resizing toward the spec's own targets: one wait step that carries the targets (R3 on resume)."""
    live = _pool(world("no_changes"), allocation_state="resizing", current_dedicated=120)
    plan = _plan("no_changes", live)
    (wait,) = plan.actionable
    assert (wait.id, wait.action) == (POOL + "#wait", Action.WAIT)
    assert wait.after is not None and wait.after["scale.fixed.dedicated"] == 600
    assert wait.reason == (
        "pool render is still resizing: 120 of 600 nodes: wait until it is steady, and "
        "re-issue the resize if it stops short (R3)"
    )


def test_a_resizing_pool_whose_spec_changed_is_waited_on_before_its_change(world):
    """The wait step only waits (no targets) when the pool's own change writes new targets."""
    live = _pool(
        world("grow_replicas_before_pools"), allocation_state="resizing", current_dedicated=5
    )
    plan = _plan("grow_replicas_before_pools", live)
    by_id = {c.id: c for c in plan.actionable}
    wait = by_id[POOL + "#wait"]
    assert wait.after is None
    assert by_id[POOL].depends_on == (VERSION, POOL + "#wait")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (dict(allocation_state="steady", current_dedicated=600), None),
        (dict(allocation_state="resizing", current_dedicated=10), Condition.IN_FLIGHT),
        (
            dict(
                allocation_state="steady", current_dedicated=0, resize_errors=("AllocationFailed",)
            ),
            Condition.SHORT,
        ),
        (dict(allocation_state="steady", current_dedicated=590), Condition.SHORT),
    ],
)
def test_pool_health_table(world, status, expected):  # type: ignore[no-untyped-def]
    """Steady at target is healthy; resizing is in flight; steady short of target is short."""
    pool = replace(world("no_changes").resources[POOL], **status)
    health = pool_health(pool)
    assert (health.condition if health else None) is expected


@pytest.mark.parametrize(
    ("state", "replication", "expected"),
    [
        ("Succeeded", (), None),
        ("Creating", (), Condition.IN_FLIGHT),
        ("Updating", (RegionReplication("westeurope", "Replicating", 50),), Condition.IN_FLIGHT),
        ("Succeeded", (RegionReplication("westeurope", "Replicating", 50),), Condition.IN_FLIGHT),
        ("Succeeded", (RegionReplication("eastus", "Replicating", 50),), None),  # not needed
        ("Failed", (), Condition.FAILED),
    ],
)
def test_version_health_table(state, replication, expected):  # type: ignore[no-untyped-def]
    """Not Succeeded, or not Completed in a region a pool needs (westeurope here), is unhealthy."""
    version = LiveResource(
        address=VERSION,
        kind=Kind.VERSION,
        id="/subscriptions/s/resourcegroups/g/providers/microsoft.compute/galleries/gal/images/render/versions/1.0.0",
        name="1.0.0",
        location="westeurope",
        properties={},
        provisioning_state=state,
        replication=replication,
    )
    health = version_health(version, ["westeurope"])
    assert (health.condition if health else None) is expected


def test_a_short_pool_whose_update_keeps_its_targets_gets_the_resize_in_that_update(world):
    """An update that does not touch the targets carries the re-issue with it (one write)."""
    live = _pool(world("update_in_place"), current_dedicated=0, resize_errors=("AllocationFailed",))
    plan = _plan("update_in_place", live)
    pool = next(c for c in plan.actionable if c.address == POOL)
    assert pool.action is Action.UPDATE
    assert pool.changed_paths == (
        "metadata.team",
        "startTask.environment.LOG_LEVEL",
        "startTask.environment.OLD_TOKEN",
        "scale.fixed.dedicated",  # the re-issue, added to the update's own paths
    )
    assert pool.reason.endswith(
        "; also pool render stopped at 0 of 600 nodes (AllocationFailed): re-issue the "
        "resize (600 − 0 = 600 node(s) missing)"
    )
