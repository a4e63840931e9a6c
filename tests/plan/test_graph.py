"""Dependency graph and order: parents first on create, children first on delete, replicas around pools."""

from __future__ import annotations

import random
from dataclasses import replace

from reconciler.plan.graph import GROW, SHRINK, order
from reconciler.plan.model import Action
from reconciler.state.model import Kind
from tests.plan.builders import (
    ACCOUNT_EUS,
    ACCOUNT_WEU,
    change,
    gallery_id,
    image_id,
    pool_id,
    version_id,
)

V1, V2 = version_id("1.0.0"), version_id("2.0.0")


def ids(changes) -> list[str]:
    return [c.id for c in changes]


def test_creates_go_parent_first_whatever_the_input_order():
    """gallery → definition → version → pool, each depending on its nearest parent only."""
    changes = [
        change("pool", Kind.POOL, Action.CREATE, pool_id("p"), after={"image.id": V1}),
        change("version", Kind.VERSION, Action.CREATE, V1),
        change("gallery", Kind.GALLERY, Action.CREATE, gallery_id()),
        change("image", Kind.IMAGE, Action.CREATE, image_id()),
    ]
    for seed in range(5):
        random.Random(seed).shuffle(changes)
        result = order(changes)
        assert ids(result.changes) == ["gallery", "image", "version", "pool"]
        by_id = {c.id: c for c in result.changes}
        assert by_id["version"].depends_on == ("image",)
        assert by_id["pool"].depends_on == ("version",)


def test_deletes_go_child_first():
    """pool → version → definition → gallery when everything goes."""
    changes = [
        change("gallery", Kind.GALLERY, Action.DELETE, gallery_id()),
        change("image", Kind.IMAGE, Action.DELETE, image_id()),
        change("version", Kind.VERSION, Action.DELETE, V1),
        change("pool", Kind.POOL, Action.DELETE, pool_id("p"), before={"image.id": V1}),
    ]
    result = order(changes)
    assert ids(result.changes) == ["pool", "version", "image", "gallery"]


def _replicas(**regions: int) -> dict[str, int]:
    return {f"targetRegions[{r}].replicas": n for r, n in regions.items()}


def _version_update(before: dict[str, int], after: dict[str, int], **kw):
    """An update of V1's replicas from `before` to `after` (region → count)."""
    return change(
        "v",
        Kind.VERSION,
        Action.UPDATE,
        V1,
        before=_replicas(**before),
        after=_replicas(**after),
        **kw,
    )


def _pool_on_v1(name: str, action: Action = Action.RESIZE, *, region: str = "westeurope"):
    """A change to pool `name` that keeps booting V1, in an account of `region`."""
    account = ACCOUNT_EUS if region == "eastus" else ACCOUNT_WEU
    return change(
        name,
        Kind.POOL,
        action,
        pool_id(name, account),
        before={"image.id": V1},
        after={"image.id": V1},
        location=region,
    )


def test_replicas_grow_before_the_pools_of_that_region_grow():
    """A pool growing in westeurope waits for the replica growth there; a pool elsewhere does not."""
    grow = _version_update({"westeurope": 1, "eastus": 1}, {"westeurope": 3, "eastus": 1})
    weu, eus = _pool_on_v1("weu"), _pool_on_v1("eus", region="eastus")
    result = {c.id: c for c in order([weu, eus, grow]).changes}
    assert result["weu"].depends_on == ("v",)
    assert result["eus"].depends_on == ()


def test_replicas_shrink_only_after_the_pools_shrank():
    """A version shrinking replicas waits for the pools that used it."""
    shrink = _version_update({"westeurope": 3}, {"westeurope": 1})
    result = order([shrink, _pool_on_v1("p")])
    assert ids(result.changes) == ["p", "v"]
    assert result.changes[1].depends_on == ("p",)


def test_a_version_that_grows_and_shrinks_is_split_around_its_pools():
    """Growth in one region and shrinking in another become #grow → pools → #shrink."""
    both = _version_update(
        {"westeurope": 1, "eastus": 3},
        {"westeurope": 3, "eastus": 1},
        paths=("targetRegions[eastus].replicas", "targetRegions[westeurope].replicas"),
    )
    weu = _pool_on_v1("weu", Action.UPDATE)
    eus = _pool_on_v1("eus", Action.UPDATE, region="eastus")
    result = {c.id: c for c in order([both, weu, eus]).changes}
    grow, shrink = result["v" + GROW], result["v" + SHRINK]
    assert grow.changed_paths == ("targetRegions[westeurope].replicas",)
    assert shrink.changed_paths == ("targetRegions[eastus].replicas",)
    # The grow step keeps eastus at its old count; the shrink step starts from there.
    assert grow.after["targetRegions[eastus].replicas"] == 3
    assert shrink.before == grow.after and shrink.after["targetRegions[eastus].replicas"] == 1
    assert result["weu"].depends_on == ("v" + GROW,)
    assert set(shrink.depends_on) == {"v" + GROW, "eus"}
    assert shrink.observed is None  # the grow step moved the ETag


def test_a_pool_moves_to_the_new_version_before_the_old_one_is_deleted():
    """create new version → pool scale-down, update at zero, scale back → delete old version."""
    changes = [
        change("old", Kind.VERSION, Action.DELETE, V1),
        change(
            "pool",
            Kind.POOL,
            Action.SCALE_TO_ZERO_UPDATE,
            pool_id("p"),
            before={"image.id": V1},
            after={"image.id": V2},
        ),
        change("new", Kind.VERSION, Action.CREATE, V2),
    ]
    result = order(changes)
    steps = ["pool#scale-down", "pool#update-at-zero", "pool#scale-back"]
    assert ids(result.changes) == ["new", *steps, "old"]
    # Once the update at zero moved the pool to the new version, the old one may go.
    assert result.changes[-1].depends_on == tuple(steps[:2])


def test_no_ops_follow_the_actionable_changes():
    """No-ops carry no dependencies and come last, by address."""
    changes = [
        change("b-noop", Kind.GALLERY, Action.NOOP, gallery_id("b")),
        change("a-create", Kind.GALLERY, Action.CREATE, gallery_id("a")),
    ]
    assert ids(order(changes).changes) == ["a-create", "b-noop"]


def test_a_cycle_is_reported_not_broken_silently():
    """Replacing a version a pool uses before and after cannot be ordered: the cycle is named."""
    changes = [
        change("v", Kind.VERSION, Action.REPLACE, V1),
        _pool_on_v1("p", Action.UPDATE),
    ]
    result = order(changes)
    assert result.cycle == ("p", "v#create-replacement", "v#delete-replaced")
    assert sorted(ids(result.changes)) == ["p", "v#create-replacement", "v#delete-replaced"]


def test_a_replace_is_two_steps_delete_replaced_then_create_replacement():
    """Each write of a replacement is its own step: delete first (with the plan's ETag), then create."""
    pool = change("p", Kind.POOL, Action.REPLACE, pool_id("p"), after={"image.id": V1})
    pool = replace(pool, observed="etag-1")
    result = order([pool])
    delete, create = result.changes
    assert (delete.id, delete.step, delete.observed) == (
        "p#delete-replaced",
        "delete-replaced",
        "etag-1",
    )
    assert (create.id, create.depends_on, create.observed) == (
        "p#create-replacement",
        (delete.id,),
        None,
    )
    assert {c.action for c in result.changes} == {Action.REPLACE}


def test_scale_to_zero_steps_carry_the_values_each_step_leaves():
    """scale-down writes 0 nodes, update-at-zero the vmSize, scale-back the targets."""
    before = {
        "vmSize": "standard_d2s_v5",
        "scale.fixed.dedicated": 40,
        "scale.fixed.lowPriority": 0,
    }
    after = {**before, "vmSize": "standard_d4s_v5"}
    pool = change(
        "p",
        Kind.POOL,
        Action.SCALE_TO_ZERO_UPDATE,
        pool_id("p"),
        before=before,
        after=after,
        paths=("vmSize",),
    )
    down, middle, back = order([pool]).changes
    assert (down.step, down.changed_paths, down.after["scale.fixed.dedicated"]) == (
        "scale-down",
        ("scale.fixed.dedicated",),  # low-priority stays 0 → 0: not shown
        0,
    )
    assert (middle.step, middle.changed_paths) == ("update-at-zero", ("vmSize",))
    assert (
        middle.before["scale.fixed.dedicated"] == 0 and middle.after["vmSize"] == "standard_d4s_v5"
    )
    assert (back.step, back.after["scale.fixed.dedicated"], back.depends_on) == (
        "scale-back",
        40,
        (middle.id,),
    )
    assert down.reason == "first of three steps: p"
    assert back.reason == "scale back to 40+0 nodes"


def test_an_autoscale_pool_is_held_at_fixed_zero_then_gets_its_autoscale_back():
    """An autoscale pool's image change: fixed 0 with a drain, the image, the formula back."""
    auto = {
        "scale.autoScale.formula": "$TargetDedicatedNodes = 6;",
        "scale.autoScale.evaluationInterval": "PT5M",
    }
    before = {"image.id": "old", **auto}
    after = {"image.id": "new", **auto}
    pool = change(
        "p",
        Kind.POOL,
        Action.SCALE_TO_ZERO_UPDATE,
        pool_id("p"),
        before=before,
        after=after,
        paths=("image.id",),
    )
    down, middle, back = order([pool]).changes
    assert [c.step for c in (down, middle, back)] == ["scale-down", "update-at-zero", "scale-back"]
    fixed_zero = {
        "scale.fixed.dedicated": 0,
        "scale.fixed.lowPriority": 0,
        "scale.fixed.nodeDeallocationOption": "TaskCompletion",
    }
    assert down.after == {"image.id": "new", **fixed_zero}  # only scale paths are written
    assert middle.before == {"image.id": "old", **fixed_zero}
    assert (middle.after, middle.changed_paths) == (down.after, ("image.id",))
    assert (back.before, back.after) == (down.after, after)
    assert back.changed_paths == tuple(sorted(auto))
    assert back.depends_on == (middle.id,) and middle.observed is None


def test_pools_that_boot_a_version_still_replicating_wait_for_its_wait_step():
    """A wait step on a version goes before every pool change booting it, and before its own update."""
    waiting = change("v#wait", Kind.VERSION, Action.WAIT, V1)
    own = _version_update({"westeurope": 1}, {"westeurope": 2})
    own = replace(own, resource_id=V1)
    pool = change("p", Kind.POOL, Action.CREATE, pool_id("p"), after={"image.id": V1})
    other = change("q", Kind.POOL, Action.CREATE, pool_id("q"), after={"image.id": V2})
    result = {c.id: c for c in order([waiting, own, pool, other]).changes}
    assert result["p"].depends_on == ("v#wait", "v")
    assert result[own.id].depends_on == ("v#wait",)
    assert result["q"].depends_on == ()
    assert result["v#wait"].depends_on == ()
