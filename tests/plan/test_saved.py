"""Saved plan files: round trip, no secrets, staleness naming what moved, schema, tampering."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest

from reconciler.errors import PlanMismatchError, ReconcileError, StalePlanError
from reconciler.plan import (
    Plan,
    PlanOrigin,
    check_stale,
    dumps_plan,
    load_plan,
    plan_from_file,
    save_plan,
)
from reconciler.plan.model import Action
from reconciler.plan.saved import check_matches, with_fresh_unchanged
from reconciler.plan.serialize import plan_to_dict, shown_document
from reconciler.plan.snapshot import load_live_state
from reconciler.state.model import LiveState
from tests.golden.make_cases import SECRET_VALUE
from tests.golden.test_golden import CASES, HERE, plan_for


def test_a_saved_plan_loads_back_equal(tmp_path, monkeypatch):
    """save_plan then load_plan gives the same plan, no-ops without the before/after a file omits."""
    plan = plan_for("split_grow_and_shrink", monkeypatch)
    save_plan(plan, tmp_path / "plan.json")
    loaded = load_plan(tmp_path / "plan.json")
    assert loaded == replace(
        plan,
        changes=tuple(
            replace(c, before=None, after=None) if c.action is Action.NOOP else c
            for c in plan.changes
        ),
    )
    # Once checked against a fresh plan, apply works on the fresh no-ops: the very plan.
    check_matches(loaded, plan)
    assert with_fresh_unchanged(loaded, plan) == plan


def test_a_plan_file_of_the_previous_version_loads_and_writes_back_unchanged():
    """A plan file written before diagnostics were one type loads, positions split, byte for byte."""
    path = Path(__file__).parent / "data" / "plan-format-2.json"
    loaded = load_plan(path)
    positions = {(d.code, d.address): (d.file, d.line, d.col) for d in loaded.diagnostics}
    assert positions[("RC502", "pool:batchprodweu/legacy-new")] == ("spec.yaml", 59, 5)
    assert positions[("RC507", "gallery:old")] == (None, None, None)
    assert positions[("RC001", None)] == ("broken.yaml", None, None)
    assert positions[("RC003", "pool:a/b")] == ("teams/a:b/spec.yaml", 4, 7)
    assert dumps_plan(loaded) == path.read_text()


def test_a_plan_file_lists_unchanged_resources_by_address(monkeypatch):
    """No-ops are in `unchanged` by what names them (observations in `observed`), no before/after."""
    data = json.loads(dumps_plan(plan_for("no_changes", monkeypatch)))
    assert data["changes"] == []
    assert data["summary"]["no-op"] == len(data["unchanged"]) == 4
    gallery = data["unchanged"][0]
    assert gallery == {
        "address": "gallery:gal",
        "kind": "gallery",
        "resource_id": gallery["resource_id"],
        "location": "westeurope",
    }
    assert gallery["resource_id"] in data["observed"]


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


# -- the plan schema guards every plan file ---------------------------------------------------

ROOT = HERE.parents[1]
CASE = "grow_replicas_before_pools"
SUB = "00000000-0000-0000-0000-000000000001"


def _saved(monkeypatch) -> dict:
    origin = PlanOrigin(base="/checkout", spec_paths=("spec.yaml",), sandbox="/checkout/w.sqlite")
    plan = replace(plan_for(CASE, monkeypatch), origin=origin)
    return json.loads(dumps_plan(plan))


def test_the_packaged_schema_is_the_documented_one():
    """The schema apply validates with is byte for byte schemas/plan.schema.json."""
    packaged = resources.files("reconciler.plan").joinpath("plan.schema.json").read_text()
    assert packaged == (ROOT / "schemas" / "plan.schema.json").read_text()


def test_a_saved_plan_keeps_its_origin_and_targets(tmp_path, monkeypatch):
    """Origin and targets survive the round trip through a file."""
    data = _saved(monkeypatch)
    data.update(partial=True, targets=["pool:*"])
    plan = plan_from_file(data, "p.json")
    assert plan.origin == PlanOrigin(
        base="/checkout", spec_paths=("spec.yaml",), sandbox="/checkout/w.sqlite"
    )
    assert plan.partial and plan.targets == ("pool:*",)
    save_plan(plan, tmp_path / "p.json")
    assert load_plan(tmp_path / "p.json") == plan


def _drop(key: str):
    def edit(data: dict) -> None:
        del data[key]

    return edit


def _set_change(field: str, value):
    def edit(data: dict) -> None:
        data["changes"][1][field] = value

    return edit


def _del_change(field: str):
    def edit(data: dict) -> None:
        del data["changes"][1][field]

    return edit


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: d.update(changes=None), "changes: None is not of type 'array'"),
        (_drop("observed"), "the document: 'observed' is a required property"),
        (_drop("spec_hash"), "the document: 'spec_hash' is a required property"),
        (_set_change("action", "destroy"), "changes[1].action: 'destroy' is not one of"),
        (_set_change("kind", "vm"), "changes[1].kind: 'vm' is not one of"),
        (_del_change("observed"), "changes[1]: 'observed' is a required property"),
        (_del_change("after"), "changes[1]: 'after' is a required property"),
        (_set_change("after", "9999"), "changes[1].after: '9999' is not of type"),
        (_set_change("resource_id", "pools/sim"), "changes[1].resource_id: 'pools/sim' does not"),
        (lambda d: d.update(partial=True), "the document: 'targets' is a dependency of 'partial'"),
        (lambda d: d["origin"].update(cloud="AzureCloud"), "origin: {'base'"),
        (lambda d: d.update(extra=1), "Additional properties are not allowed ('extra'"),
        (lambda d: d.pop("unchanged"), "the document: 'unchanged' is a required property"),
        (
            lambda d: d["unchanged"][0].update(before={}),
            "unchanged[0]: Additional properties are not allowed ('before'",
        ),
        (_set_change("action", "no-op"), "changes[1].action: 'no-op' is not one of"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_malformed_plan_file_is_refused_naming_the_problem(edit, problem, monkeypatch):
    """Every departure from the schema is one sentence naming where it is, never a traceback."""
    data = _saved(monkeypatch)
    edit(data)
    with pytest.raises(ReconcileError) as err:
        plan_from_file(data, "p.json")
    assert err.value.message.startswith("p.json is not a valid plan file: ")
    assert problem in err.value.message
    assert "must not be edited" in err.value.hint


# -- a saved plan must be what a fresh plan makes --------------------------------------------


def _tampered(monkeypatch, edit) -> tuple[Plan, Plan]:
    data = _saved(monkeypatch)
    edit(data)
    return plan_from_file(data, "p.json"), plan_for(CASE, monkeypatch)


def _pool(data: dict) -> dict:
    return next(c for c in data["changes"] if c["id"] == "pool:batchprodeus/sim")


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (
            lambda d: _pool(d).update(action="delete"),
            "pool:batchprodeus/sim: the plan says delete, a fresh plan says resize",
        ),
        (
            lambda d: _pool(d)["after"].update({"scale.fixed.dedicated": 9999}),
            "pool:batchprodeus/sim: after differ from a fresh plan",
        ),
        (
            lambda d: _pool(d).update(resource_id=_pool(d)["resource_id"].replace(SUB, "0" * 8)),
            "pool:batchprodeus/sim: resource_id differ from a fresh plan",
        ),
        (
            lambda d: _pool(d).update(depends_on=["version:gal/render/1.0.0"]),
            "pool:batchprodeus/sim: depends_on differ from a fresh plan",
        ),
        (
            lambda d: d["changes"].remove(_pool(d)),
            "pool:batchprodeus/sim (resize) is missing from the plan",
        ),
        (
            lambda d: d["changes"].append(dict(_pool(d))),
            "pool:batchprodeus/sim appears more than once",
        ),
        (
            lambda d: d["changes"].append({**_pool(d), "id": "pool:x/y", "address": "pool:x/y"}),
            "pool:x/y (resize) is not in a fresh plan",
        ),
        (
            lambda d: d["observed"].pop(next(iter(d["observed"]))),
            "the resources it observed are not the ones a fresh plan observes",
        ),
        (
            lambda d: d["observed"].update({d["unchanged"][0]["resource_id"]: '"0x1"'}),
            "gallery:gal: observed differ from a fresh plan",
        ),
        (
            lambda d: d["unchanged"][0].update(location="eastus"),
            "gallery:gal: location differ from a fresh plan",
        ),
        (
            lambda d: d["unchanged"].append(
                {k: _pool(d)[k] for k in ("address", "kind", "resource_id", "location")}
            )
            or d["changes"].remove(_pool(d)),
            "pool:batchprodeus/sim: the plan says no-op, a fresh plan says resize",
        ),
        (
            lambda d: d["unchanged"].append({**d["unchanged"][0], "address": "gallery:other"}),
            "gallery:other (no-op) is not in a fresh plan",
        ),
    ],
    ids=[
        "action",
        "after",
        "subscription",
        "depends_on",
        "dropped",
        "duplicated",
        "added",
        "observed",
        "unchanged observed",
        "unchanged location",
        "change listed as unchanged",
        "unchanged added",
    ],
)
def test_an_edited_plan_is_refused_naming_the_change(edit, named, monkeypatch):
    """Any change that is not exactly a fresh plan's is refused, and named."""
    saved, fresh = _tampered(monkeypatch, edit)
    with pytest.raises(PlanMismatchError) as err:
        check_matches(saved, fresh)
    assert named in err.value.differing
    assert str(err.value).startswith(
        "the saved plan is not what the spec and live state produce now: "
    )


def test_an_untouched_plan_matches_a_fresh_one(monkeypatch):
    """The plan as saved, read back, passes the comparison with a fresh plan."""
    saved, fresh = _tampered(monkeypatch, lambda d: None)
    check_matches(saved, fresh)


@pytest.mark.parametrize(
    ("case", "replicas", "timeouts", "all_timeouts"),
    [
        ("no_changes", [], [], ["pool:batchprodweu/render"]),
        (
            "update_in_place",
            [("version:gal/render/1.0.0", "westeurope")],  # kept for its changed pool
            ["pool:batchprodweu/render"],
            ["pool:batchprodweu/render"],
        ),
        (
            "grow_replicas_before_pools",
            [("version:gal/render/1.0.0", "westeurope"), ("version:gal/render/1.0.0", "eastus")],
            ["pool:batchprodweu/render", "pool:batchprodeus/sim"],
            ["pool:batchprodweu/render", "pool:batchprodeus/sim"],
        ),
    ],
)
def test_the_json_sizing_explains_the_changes_only(
    case, replicas, timeouts, all_timeouts, monkeypatch
):
    """Sizing rows are kept for changed versions and pools, so the JSON grows with the changes."""
    plan = plan_for(case, monkeypatch)
    sizing = json.loads(dumps_plan(plan))["sizing"]
    assert [(r["version"], r["region"]) for r in sizing["replicas"]] == replicas
    assert [r["pool"] for r in sizing["resize_timeouts"]] == timeouts
    # The plan value keeps them all.
    assert [r["pool"] for r in plan.sizing["resize_timeouts"]] == all_timeouts


@pytest.mark.parametrize("case", CASES)
def test_the_shown_json_derived_from_the_file_is_the_shown_json(case, monkeypatch):
    """`plan --out` builds the document once; what it shows is exactly `--format json`'s."""
    origin = PlanOrigin(base="/checkout", spec_paths=("spec.yaml",), sandbox="/checkout/w.sqlite")
    plan = replace(plan_for(case, monkeypatch), origin=origin)
    assert shown_document(plan_to_dict(plan, for_file=True)) == plan_to_dict(plan)
