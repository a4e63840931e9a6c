"""`--target`: a partial plan keeps the targeted resources and what they depend on, no more."""

from __future__ import annotations

import json

import pytest

from reconciler.errors import ReconcileError
from reconciler.plan.targets import select
from reconciler.render import render_json, render_markdown, render_text
from tests.golden.test_golden import plan_for


@pytest.mark.parametrize(
    ("case", "targets", "kept"),
    [
        pytest.param(
            "split_grow_and_shrink",
            ["pool:batchprodweu/render"],
            [
                "version:gal/render/1.0.0#grow",
                "pool:batchprodweu/render",
                "gallery:gal",
                "image:gal/render",
            ],
            id="a pool takes the replica growth it waits for, not the shrink after other pools",
        ),
        pytest.param(
            "move_to_new_version_then_delete_old",
            ["version:gal/render/1.0.0"],
            [
                "version:gal/render/1.1.0",
                "pool:batchprodweu/render#scale-down",
                "pool:batchprodweu/render#update-at-zero",
                "pool:batchprodweu/render#scale-back",
                "version:gal/render/1.0.0",
                "gallery:gal",
                "image:gal/render",
            ],
            id="deleting a version takes the pool moving off it (every step), and its new version",
        ),
        pytest.param(
            "update_in_place",
            ["gallery:gal"],
            ["gallery:gal"],
            id="a parent does not pull in what depends on it",
        ),
        pytest.param(
            "create_from_empty_world",
            ["pool:*"],
            [
                "gallery:gal",
                "image:gal/render",
                "version:gal/render/1.0.0",
                "pool:batchprodweu/render",
            ],
            id="a glob over pools creates every parent and the image first",
        ),
        pytest.param(
            "update_in_place",
            ["gallery:gal", "pool:batchprodweu/render"],
            [
                "gallery:gal",
                "pool:batchprodweu/render",
                "image:gal/render",
                "version:gal/render/1.0.0",
            ],
            id="targets add up and a pool lists the unchanged version it boots from",
        ),
    ],
)
def test_a_partial_plan_keeps_targets_and_their_dependencies(case, targets, kept, monkeypatch):
    """Only matching changes, the changes they wait for and their unchanged parents/images stay."""
    partial = select(plan_for(case, monkeypatch), targets)
    assert [c.id for c in partial.changes] == kept
    assert partial.partial and partial.targets == tuple(sorted(targets))
    ids = {c.id for c in partial.changes}
    assert all(d in ids for c in partial.changes for d in c.depends_on)


def test_drift_and_diagnostics_outside_the_partial_plan_are_dropped(monkeypatch):
    """Drift of resources the partial plan leaves alone is not reported with it."""
    full = plan_for("drift_and_pending", monkeypatch)
    assert [d.address for d in full.drift] == [
        "gallery:gal",
        "pool:batchprodeus/sim",
        "pool:batchprodweu/render",
    ]
    partial = select(full, ["pool:batchprodweu/render"])
    assert [d.address for d in partial.drift] == ["pool:batchprodweu/render"]
    assert partial.observed == full.observed and partial.spec_hash == full.spec_hash


def test_no_targets_is_the_full_plan(monkeypatch):
    """Without --target the plan is returned as it is, and is not partial."""
    full = plan_for("split_grow_and_shrink", monkeypatch)
    assert select(full, []) is full and not full.partial


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "pool:batchprodweu/rendr",
            "--target pool:batchprodweu/rendr matches no resource; "
            "did you mean pool:batchprodweu/render or pool:batchprodeus/sim?",
        ),
        (
            "pool:batchprod/*",
            "--target pool:batchprod/* matches no resource; did you mean "
            "pool:batchprodeus/sim or pool:batchprodweu/render?",
        ),
        ("nothing-like-it", "--target nothing-like-it matches no resource in this plan"),
    ],
)
def test_a_target_matching_nothing_is_an_error_with_suggestions(target, message, monkeypatch):
    """A mistyped target names the closest known addresses and lists the known ones."""
    with pytest.raises(ReconcileError) as err:
        select(plan_for("split_grow_and_shrink", monkeypatch), [target])
    assert err.value.message == message
    assert err.value.hint.startswith("targets are addresses or globs over them; known addresses: ")
    assert "gallery:gal" in err.value.hint


@pytest.mark.parametrize("blank", ["", "  "], ids=["empty", "spaces"])
def test_an_empty_target_is_an_error_not_the_whole_plan(blank, monkeypatch):
    """`--target "$UNSET"` is refused rather than silently planning the whole spec."""
    with pytest.raises(ReconcileError) as err:
        select(plan_for("split_grow_and_shrink", monkeypatch), ["pool:batchprodweu/*", blank])
    assert err.value.message == (
        "--target is empty; an empty target would reconcile the whole spec"
    )
    assert "leave --target out to plan everything" in err.value.hint


def test_every_view_says_the_plan_is_partial(monkeypatch):
    """Text, JSON and Markdown each say the plan is partial and name its targets."""
    partial = select(plan_for("split_grow_and_shrink", monkeypatch), ["pool:batchprodweu/*"])
    note = (
        "Partial plan: only pool:batchprodweu/* and what they depend on; "
        "the rest of the spec is not reconciled."
    )
    assert f"\n\n{note}\n\n" in render_text(partial)
    assert f"> [!NOTE]\n> {note}\n" in render_markdown(partial)
    data = json.loads(render_json(partial))
    assert data["partial"] is True and data["targets"] == ["pool:batchprodweu/*"]
    full = json.loads(render_json(plan_for("split_grow_and_shrink", monkeypatch)))
    assert "partial" not in full and "targets" not in full
