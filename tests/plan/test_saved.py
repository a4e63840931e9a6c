"""Saved plan files: round trip, no secrets, and staleness naming what moved."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from reconciler.errors import ReconcileError, StalePlanError
from reconciler.plan import check_stale, load_plan, save_plan
from reconciler.plan.snapshot import load_live_state
from reconciler.state.model import LiveState
from tests.golden.make_cases import SECRET_VALUE
from tests.golden.test_golden import HERE, plan_for


def test_a_saved_plan_loads_back_equal(tmp_path, monkeypatch):
    """save_plan then load_plan gives the same plan value."""
    plan = plan_for("split_grow_and_shrink", monkeypatch)
    save_plan(plan, tmp_path / "plan.json")
    assert load_plan(tmp_path / "plan.json") == plan


def test_a_saved_plan_carries_no_secret(tmp_path, monkeypatch):
    """Live secret values never reach the file; only ``${env:NAME}`` references do."""
    plan = plan_for("update_in_place", monkeypatch)
    save_plan(plan, tmp_path / "plan.json")
    text = (tmp_path / "plan.json").read_text()
    assert SECRET_VALUE not in text
    assert "another-live-secret-77" not in text
    assert "${env:LICENSE_KEY}" in text
    data = json.loads(text)
    assert data["kind"] == "reconcile-plan" and data["observed"]


def _live(case: str) -> LiveState:
    return load_live_state(HERE / case / "live.json")


def test_fresh_state_is_not_stale(monkeypatch):
    """The live state the plan was made from passes the check."""
    plan = plan_for("grow_replicas_before_pools", monkeypatch)
    check_stale(plan, plan.spec_hash, _live("grow_replicas_before_pools"))


def test_a_changed_spec_makes_the_plan_stale(monkeypatch):
    """Another spec hash is reported as ``spec``."""
    plan = plan_for("grow_replicas_before_pools", monkeypatch)
    with pytest.raises(StalePlanError) as err:
        check_stale(plan, "sha256:" + "1" * 64, _live("grow_replicas_before_pools"))
    assert err.value.moved == ("spec",)


def test_a_moved_resource_is_named(monkeypatch):
    """A resource whose ETag changed, one that vanished and one that appeared are each named."""
    case = "grow_replicas_before_pools"
    plan = plan_for(case, monkeypatch)
    live = _live(case)
    resources = dict(live.resources)
    pool = resources["pool:batchprodweu/render"]
    resources[pool.address] = replace(pool, etag='"0x8DE0000000000002"')
    del resources["gallery:gal"]
    moved = LiveState(resources=resources)
    with pytest.raises(StalePlanError) as err:
        check_stale(plan, plan.spec_hash, moved)
    assert err.value.moved == ("pool:batchprodweu/render", "gallery:gal")
    assert str(err.value) == (
        "the saved plan is stale: pool:batchprodweu/render changed; gallery:gal is gone"
    )

    created = plan_for("create_from_empty_world", monkeypatch)
    with pytest.raises(StalePlanError) as err:
        check_stale(created, created.spec_hash, live)
    appeared = (
        "pool:batchprodweu/render",
        "gallery:gal",
        "image:gal/render",
        "version:gal/render/1.0.0",
    )
    assert err.value.moved == appeared
    assert str(err.value) == "the saved plan is stale: " + "; ".join(
        f"{address} appeared" for address in appeared
    )


def test_a_file_that_is_not_a_plan_is_a_clear_error(tmp_path):
    """Garbage, other JSON and a newer format are refused with a sentence, not a traceback."""
    bad = tmp_path / "x.json"
    bad.write_text("not json")
    with pytest.raises(ReconcileError, match="not a plan file"):
        load_plan(bad)
    bad.write_text("{}")
    with pytest.raises(ReconcileError, match="not a plan file"):
        load_plan(bad)
    bad.write_text(json.dumps({"kind": "reconcile-plan", "format_version": 99}))
    with pytest.raises(ReconcileError, match="format 99"):
        load_plan(bad)
