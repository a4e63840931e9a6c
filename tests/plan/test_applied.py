"""The applied record: its size within Azure's limits, and what it says about each difference."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.plan.applied import (
    AMBIGUOUS,
    MAX_PARTS,
    PART_CHARS,
    SECRET,
    Cause,
    classify,
    decode,
    encode,
    record_paths,
)
from reconciler.plan.desired import DesiredResource, DesiredState, owner_marks
from reconciler.plan.planner import plan_desired
from reconciler.state.model import Kind
from tests.plan.builders import gallery_id, live, pool_id, state

GALLERY = {"location": "westeurope", "description": "Render images", "tags.team": "vfx"}


def applied(kind: Kind, props: dict[str, Any]) -> dict[str, Any]:
    """Live properties as apply leaves them: the props plus their record."""
    return {**props, **encode(kind, props)}


@pytest.mark.parametrize(
    ("desired", "live_value", "cause"),
    [
        ("Render images, 2027", "Render images", Cause.SPEC),  # spec edited, Azure as applied
        ("Render images", "by hand", Cause.DRIFT),  # Azure edited, spec as applied
        ("Render images, 2027", "by hand", Cause.BOTH),  # both moved
    ],
)
def test_each_difference_is_told_apart_by_the_record(
    desired: str, live_value: str, cause: Cause
) -> None:
    """Against the record, a differing path is a spec change, drift, or both."""
    record = decode(Kind.GALLERY, applied(Kind.GALLERY, GALLERY))
    assert classify(Kind.GALLERY, "description", desired, live_value, record) is cause


@pytest.mark.parametrize(
    ("path", "desired", "live_value", "cause"),
    [
        ("tags.owner", "me", None, Cause.SPEC),  # declared after the apply
        ("tags.team", None, "vfx", Cause.SPEC),  # undeclared after the apply
        ("description", "Render images", None, Cause.DRIFT),  # removed in Azure
    ],
)
def test_added_and_removed_paths_are_classified_too(
    path: str, desired: Any, live_value: Any, cause: Cause
) -> None:
    """A path absent on one side compares with "absent when applied" in the record."""
    record = decode(Kind.GALLERY, applied(Kind.GALLERY, GALLERY))
    assert classify(Kind.GALLERY, path, desired, live_value, record) is cause


def test_values_compare_as_the_diff_compares_them() -> None:
    """Azure's own casing and spelling of a value applied is not drift."""
    props = {"vmSize": "standard_d2s_v5", "scale.fixed.resizeTimeout": "PT15M"}
    record = decode(Kind.POOL, applied(Kind.POOL, props))
    assert record is not None
    assert record.at("vmSize") == decode(
        Kind.POOL, encode(Kind.POOL, {"vmSize": "STANDARD_D2S_V5"})
    ).at("vmSize")  # type: ignore[union-attr]
    assert (
        classify(Kind.POOL, "scale.fixed.resizeTimeout", "PT30M", "00:15:00", record) is Cause.SPEC
    )


def test_a_secret_is_recorded_by_presence_only() -> None:
    """A secret reference leaves only "present" in the record: its value is never hashed."""
    props = {"startTask.environment.KEY": "${env:KEY}"}
    record = decode(Kind.POOL, encode(Kind.POOL, props))
    assert record is not None and record.at("startTask.environment.KEY") == SECRET
    # The resolved value Azure holds matches the record; its loss is drift.
    path = "startTask.environment.KEY"
    assert classify(Kind.POOL, path, "${env:KEY}", None, record) is Cause.DRIFT
    assert classify(Kind.POOL, path, "plain", "the-secret", record) is Cause.SPEC


def test_no_record_means_unrecorded() -> None:
    """A resource without a record (older, or adopted by hand) cannot be classified."""
    assert classify(Kind.GALLERY, "description", "a", "b", None) is Cause.UNRECORDED
    assert decode(Kind.GALLERY, {"tags.reconcile-applied": "garbage"}) is None
    assert decode(Kind.GALLERY, {"tags.reconcile-applied": "9.abcdef"}) is None


def test_the_record_stays_within_azure_tag_limits() -> None:
    """Values ≤ 256 characters in at most MAX_PARTS tags; what does not fit is unrecorded."""
    many = {f"tags.t{i:03}": f"value {i}" for i in range(400)}
    written = encode(Kind.GALLERY, many)
    assert len(written) == MAX_PARTS
    assert set(written) == set(record_paths(Kind.GALLERY))
    assert all(len(v) <= PART_CHARS <= 256 for v in written.values())
    record = decode(Kind.GALLERY, written)
    assert record is not None and record.partial
    causes = {classify(Kind.GALLERY, p, "new", v, record) for p, v in many.items()}
    assert causes == {Cause.SPEC, Cause.UNRECORDED}  # recorded ones, and the cut-off ones


def test_a_small_record_is_one_tag_and_pools_use_metadata() -> None:
    """A typical resource needs one value; on pools it is a metadata entry."""
    assert list(encode(Kind.GALLERY, GALLERY)) == ["tags.reconcile-applied"]
    assert list(encode(Kind.POOL, {"vmSize": "x"})) == ["metadata.reconcile.applied"]


def test_colliding_path_keys_classify_as_unrecorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two paths sharing a key cannot be told apart: neither is classified."""
    monkeypatch.setattr("reconciler.plan.applied.path_key", lambda path: "AAA")
    record = decode(Kind.GALLERY, encode(Kind.GALLERY, GALLERY))
    assert record is not None and record.at("description") == AMBIGUOUS
    assert classify(Kind.GALLERY, "description", "x", "y", record) is Cause.UNRECORDED


# -- the planner's use of it ---------------------------------------------------------------


def _gallery(owner: str = "prod", **props: Any) -> DesiredResource:
    return DesiredResource(
        "gallery:gal",
        Kind.GALLERY,
        gallery_id(),
        "gal",
        "westeurope",
        {**GALLERY, **props, **owner_marks(Kind.GALLERY, owner)},
    )


def _world(*resources: DesiredResource, owner: str = "prod", prune: bool = False) -> DesiredState:
    return DesiredState(
        resources={r.address: r for r in resources},
        spec_hash="sha256:" + "0" * 64,
        prune=prune,
        owner=owner,
    )


def _live_gallery(name: str = "gal", owner: str | None = "prod", **changes: Any):  # type: ignore[no-untyped-def]
    marks = owner_marks(Kind.GALLERY, owner or "")
    props = {**GALLERY, **marks}
    return live(
        f"gallery:{name}",
        Kind.GALLERY,
        gallery_id(name),
        {**applied(Kind.GALLERY, props), **changes},
        owned=False,
    )


def test_plan_labels_changes_and_drift_holds_only_azure_changes() -> None:
    """Spec edit → a pending update, no drift; Azure edit → an update labelled drift."""
    plan = plan_desired(_world(_gallery(description="new")), state(_live_gallery()), target="t")
    assert [(c.cause, c.changed_paths) for c in plan.actionable] == [("spec", ("description",))]
    assert plan.drift == ()
    plan = plan_desired(
        _world(_gallery()), state(_live_gallery(**{"tags.team": "ops"})), target="t"
    )
    assert [c.cause for c in plan.actionable] == ["drift"]
    assert [(d.address, d.paths) for d in plan.drift] == [("gallery:gal", ("tags.team",))]


def test_a_resource_of_another_spec_is_refused_and_never_pruned() -> None:
    """Declared here but owned by another spec: RC520; undeclared and theirs: RC521, no delete."""
    plan = plan_desired(
        _world(_gallery(), prune=True),
        state(_live_gallery(owner="other"), _live_gallery("theirs", owner="other")),
        target="t",
    )
    assert plan.actionable == ()
    codes = {d.code: d for d in plan.diagnostics}
    assert set(codes) == {"RC520", "RC521"}
    assert "owned by spec 'other'" in codes["RC520"].message
    assert "gallery:theirs" in codes["RC521"].message


def test_resources_from_before_owner_names_are_adopted_or_left_alone() -> None:
    """Only managed-by: declared ones get the owner name (a spec change, not drift);
    undeclared ones are never pruned (RC522)."""
    legacy = {"tags.managed-by": "reconcile"}
    declared = live("gallery:gal", Kind.GALLERY, gallery_id(), {**GALLERY, **legacy}, owned=False)
    other = live("gallery:old", Kind.GALLERY, gallery_id("old"), {**GALLERY, **legacy}, owned=False)
    plan = plan_desired(_world(_gallery(), prune=True), state(declared, other), target="t")
    assert [(c.address, c.action.value, c.cause, c.changed_paths) for c in plan.actionable] == [
        ("gallery:gal", "update", "spec", ("tags.reconcile-owner",))
    ]
    assert plan.drift == ()
    assert [d.code for d in plan.diagnostics] == ["RC522"]


def test_the_owner_is_the_spec_folder_name_whoever_spells_the_path(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unset settings.owner: `plan specs/prod` and `plan .` inside it agree on the name."""
    from reconciler.spec.resolve import derived_owner

    folder = tmp_path / "Prod Images"
    folder.mkdir()
    (folder / "a.yaml").write_text("")
    (folder / "b.yaml").write_text("")
    assert derived_owner((str(folder / "a.yaml"), str(folder / "b.yaml"))) == "prod-images"
    monkeypatch.chdir(folder)
    assert derived_owner(("a.yaml",)) == "prod-images"
    assert derived_owner(()) == ""


def test_pool_owner_marks_update_in_place() -> None:
    """Adding the owner name to a pool's metadata (a dotted key) is an in-place update."""
    marks = owner_marks(Kind.POOL, "prod")
    want = DesiredResource(
        "pool:weu/p",
        Kind.POOL,
        pool_id("p"),
        "p",
        "westeurope",
        {"vmSize": "x", **marks},
    )
    current = live(
        "pool:weu/p",
        Kind.POOL,
        pool_id("p"),
        {
            "vmSize": "x",
            "tags.managed-by": "reconcile",
            "metadata.reconcile.managed-by": "reconcile",
        },
        owned=False,
    )
    plan = plan_desired(_world(want), state(current), target="t")
    assert [(c.action.value, c.changed_paths) for c in plan.actionable] == [
        ("update", ("metadata.reconcile.owner", "tags.reconcile-owner"))
    ]
