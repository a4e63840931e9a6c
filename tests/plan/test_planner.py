"""Planner decisions beyond the golden cases: prune switches, R7's date, ownership, drift kinds."""

from __future__ import annotations

from datetime import date

from reconciler.plan import Action, DriftKind, plan_desired
from reconciler.state.model import Kind
from tests.plan.builders import (
    ACCOUNT_WEU,
    RG_IMAGES,
    desired,
    desired_state,
    gallery_id,
    live,
    pool_id,
    state,
    version_id,
)

MANAGED = f"{RG_IMAGES}/images/img-legacy"
ACCOUNT = live("batchAccount:weu", Kind.BATCH_ACCOUNT, ACCOUNT_WEU, {}, owned=False)


def _pool(image: str = MANAGED) -> object:
    return desired(
        "pool:weu/p",
        Kind.POOL,
        pool_id("p"),
        {"image.id": image, "vmSize": "standard_d4s_v5", "scale.fixed.dedicated": 2},
        image=image,
        account=ACCOUNT_WEU,
    )


def test_settings_prune_applies_unless_the_flag_overrides_it():
    """settings.prune deletes; an explicit prune=False only warns; prune=True deletes."""
    orphan = live("gallery:old", Kind.GALLERY, gallery_id("old"), {"location": "westeurope"})
    with_setting = desired_state(prune=True)
    plan = plan_desired(with_setting, state(orphan), target="t")
    assert [c.action for c in plan.actionable] == [Action.DELETE]
    plan = plan_desired(with_setting, state(orphan), target="t", prune=False)
    assert plan.actionable == () and [d.code for d in plan.diagnostics] == ["RC507"]
    plan = plan_desired(desired_state(), state(orphan), target="t", prune=True)
    assert [c.action for c in plan.actionable] == [Action.DELETE]


def test_resources_without_the_ownership_mark_are_never_deleted():
    """Prune only considers owned resources; others in the same scope are ignored."""
    stranger = live("gallery:x", Kind.GALLERY, gallery_id("x"), {}, owned=False)
    plan = plan_desired(desired_state(), state(stranger), target="t", prune=True)
    assert plan.changes == () and plan.diagnostics == ()


def test_managed_image_pools_may_be_created_until_the_cutoff():
    """R7 is judged on `now`: creating on 2026-03-31 is allowed, on 2026-04-01 refused."""
    spec = desired_state(_pool())
    before = plan_desired(spec, state(ACCOUNT), target="t", now=date(2026, 3, 31))
    assert [c.action for c in before.actionable] == [Action.CREATE]
    after = plan_desired(spec, state(ACCOUNT), target="t", now=date(2026, 4, 1))
    assert after.actionable == ()
    assert [d.code for d in after.diagnostics] == ["RC502"]


def test_existing_managed_image_pools_are_kept_and_resized():
    """R7 refuses creation only: an existing managed-image pool still resizes."""
    current = live(
        "pool:weu/p",
        Kind.POOL,
        pool_id("p"),
        {"image.id": MANAGED, "vmSize": "standard_d4s_v5", "scale.fixed.dedicated": 1},
    )
    plan = plan_desired(
        desired_state(_pool()), state(ACCOUNT, current), target="t", now=date(2026, 11, 1)
    )
    assert [c.action for c in plan.actionable] == [Action.RESIZE]
    assert not plan.has_errors


def test_drift_names_changed_resources_only_missing_and_unexpected_are_pending():
    """Drift lists each changed resource with paths and both values; a declared resource not
    in Azure and an owned one the spec dropped are pending spec changes, not drift."""
    g = desired("gallery:gal", Kind.GALLERY, gallery_id(), {"description": "new"})
    v = desired("version:gal/render/1.0.0", Kind.VERSION, version_id(), {"location": "westeurope"})
    current_g = live("gallery:gal", Kind.GALLERY, gallery_id(), {"description": "old"})
    extra = live("gallery:extra", Kind.GALLERY, gallery_id("extra"), {})
    plan = plan_desired(desired_state(g, v), state(current_g, extra), target="t", prune=True)
    assert [(d.address, d.kind) for d in plan.drift] == [("gallery:gal", DriftKind.CHANGED)]
    (item,) = plan.drift
    assert item.paths == ("description",)
    assert (item.before["description"], item.after["description"]) == ("old", "new")
    causes = {c.address: (c.action.value, c.cause) for c in plan.actionable}
    assert causes == {
        "gallery:gal": ("update", "unrecorded"),
        "gallery:extra": ("delete", "spec"),
        "version:gal/render/1.0.0": ("create", "spec"),
    }


def test_live_env_values_never_reach_the_plan():
    """A resolved secret Azure holds appears nowhere in the plan's before/after or drift."""
    props = {
        "startTask.commandLine": "run",
        "startTask.environment.KEY": "${env:KEY}",
        "startTask.environment.MODE": "a",
    }
    want = desired(
        "pool:weu/p",
        Kind.POOL,
        pool_id("p"),
        props,
        complete=("startTask.environment.",),
        account=ACCOUNT_WEU,
    )
    current = live(
        "pool:weu/p",
        Kind.POOL,
        pool_id("p"),
        {
            "startTask.commandLine": "run",
            "startTask.environment.KEY": "hunter2",
            "startTask.environment.MODE": "b",
        },
    )
    plan = plan_desired(desired_state(want), state(current), target="t")
    assert "hunter2" not in repr(plan)
    (update,) = plan.actionable
    assert update.changed_paths == ("startTask.environment.MODE",)
    assert update.after["startTask.environment.KEY"] == "${env:KEY}"  # the reference, for apply


def test_a_definition_that_must_be_recreated_while_holding_versions_is_refused():
    """An osType change on a definition with versions is an error with a way out, not a replace."""
    from tests.plan.builders import image_id

    want = desired("image:gal/render", Kind.IMAGE, image_id(), {"osType": "Windows"})
    current = live("image:gal/render", Kind.IMAGE, image_id(), {"osType": "Linux"})
    child = live("version:gal/render/1.0.0", Kind.VERSION, version_id(), {})
    plan = plan_desired(desired_state(want), state(current, child), target="t")
    assert plan.actionable == ()
    (error,) = [d for d in plan.diagnostics if d.code == "RC508"]
    assert error.message == (
        "image definition image:gal/render must be re-created (osType cannot change in place) "
        "but it holds version:gal/render/1.0.0"
    )
    assert error.hint.startswith("declare a new definition (a new name) with the new properties")


def _live_pool(dedicated: int, **extra: object) -> object:
    """Pool p as Azure has it: on version 1.0.0, `dedicated` nodes wanted."""
    return live(
        "pool:weu/p",
        Kind.POOL,
        pool_id("p"),
        {"image.id": version_id(), "vmSize": "standard_d4s_v5", "scale.fixed.dedicated": dedicated},
        **extra,
    )


def test_a_pool_that_timed_out_short_of_its_target_is_flagged():
    """R3: a steady pool below target with a timeout error gets a resize-again warning."""
    want = _pool(version_id())
    current = _live_pool(
        2,
        allocation_state="Steady",
        current_dedicated=1,
        resize_errors=("AllocationTimedout",),
    )
    plan = plan_desired(desired_state(want), state(ACCOUNT, current), target="t")
    assert [d.code for d in plan.diagnostics] == ["RC504"]


def test_the_public_surface_is_what_it_says():
    """Every name in reconciler.plan.__all__ and reconciler.render.__all__ resolves."""
    import reconciler.plan
    import reconciler.render

    for module in (reconciler.plan, reconciler.render):
        for name in module.__all__:
            assert getattr(module, name) is not None, name


def test_pools_outside_the_spec_count_towards_replicas():
    """R1 with live state: a foreign pool on a spec version makes 1 replica too few (warning)."""
    from reconciler.plan.desired import DesiredState

    v = desired(
        "version:gal/render/1.0.0",
        Kind.VERSION,
        version_id(),
        {"targetRegions[westeurope].replicas": 1},
    )
    foreign = live(
        "pool:weu/other",
        Kind.POOL,
        pool_id("other"),
        {"image.id": version_id(), "scale.fixed.dedicated": 900},
        owned=False,
    )
    spec = DesiredState(
        resources={v.address: v},
        spec_hash="sha256:" + "0" * 64,
        sizing={
            "replicas": [
                {"version": v.address, "region": "westeurope", "nodes": 200, "vms_per_replica": 600}
            ]
        },
    )
    plan = plan_desired(spec, state(foreign), target="t")
    (warning,) = plan.diagnostics
    assert warning.code == "RC511"
    assert warning.message == (
        "version:gal/render/1.0.0 has 1 replica(s) in westeurope, but pools outside the spec "
        "boot it too: spec pools (200) + pool:weu/other (900) = 1,100 nodes, 1 per 600 → 2 (R1)"
    )


def _with_accounts(*resources, location="westeurope", prune=False):
    """A desired state referring to account weu, placed in `location` by the spec."""
    from dataclasses import replace

    from reconciler.diagnostics import SourceLocation
    from reconciler.plan.desired import DesiredAccount

    at = SourceLocation("spec.yaml", 12, 3)
    account = DesiredAccount("batchAccount:weu", ACCOUNT_WEU, "weu", location, at)
    return replace(desired_state(*resources, prune=prune), accounts={account.address: account})


def _live_account(location: str) -> object:
    """Batch account weu as Azure reports it, in `location`."""
    return live(
        "batchAccount:weu", Kind.BATCH_ACCOUNT, ACCOUNT_WEU, {}, owned=False, location=location
    )


def test_an_account_in_another_region_than_the_spec_says_gets_no_pool_changes():
    """RC512: live account elsewhere → an error naming both regions, at the account's file:line:col."""
    want, current = _pool(version_id()), _live_pool(1)
    orphan = live("pool:weu/old", Kind.POOL, pool_id("old"), {"image.id": version_id()})
    moved = _live_account("North Europe")
    plan = plan_desired(_with_accounts(want, prune=True), state(moved, current, orphan), target="t")
    assert plan.actionable == ()  # neither the resize nor the prune delete
    (error,) = [d for d in plan.diagnostics if d.code == "RC512"]
    assert error.severity.value == "error" and error.address == "batchAccount:weu"
    assert error.format().startswith("spec.yaml:12:3: RC512 ")
    assert error.message.startswith(
        "Batch account weu is in northeurope, but the spec places it in " "westeurope: "
    )
    assert error.message.endswith("so no change to its pools is planned")
    assert error.hint.startswith("set location: northeurope on the account")
    assert plan.has_errors


def test_an_account_where_the_spec_says_plans_its_pools():
    """No RC512 when the live account's region matches the spec's (casing aside)."""
    want, current = _pool(version_id()), _live_pool(1)
    here = _live_account("WestEurope")
    plan = plan_desired(_with_accounts(want), state(here, current), target="t")
    assert [c.action for c in plan.actionable] == [Action.RESIZE]
    assert plan.diagnostics == ()


def test_a_missing_account_is_an_error_and_its_pools_are_not_created():
    """RC512: a referenced account Azure does not have is named, and no pool create is planned."""
    plan = plan_desired(_with_accounts(_pool(version_id())), state(), target="t")
    assert plan.actionable == ()
    (error,) = [d for d in plan.diagnostics if d.code == "RC512"]
    assert error.where == "spec.yaml:12:3"
    assert error.message == (
        "Batch account weu was not found: resource group rg-batch of "
        "subscription 00000000-0000-0000-0000-000000000001 has no such account; no change "
        "to its pools is planned"
    )
    assert error.hint.endswith("reconcile never creates Batch accounts")
    assert plan.drift == ()  # a pool not yet created is a pending spec change, not drift
