"""The indexes that keep planning linear answer exactly what a scan of everything answers.

Each index replaced a scan of the whole estate per question (per declared version, per
change); the scans are kept here as the reference, and compared with the indexed answers
on a generated estate with every kind of change the ordering rules distinguish.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise

import pytest

from reconciler.plan.graph import _orders, _pool_images, dependencies, order
from reconciler.plan.model import Action, Change
from reconciler.state.model import Kind, LiveState, canonical_id
from tests.plan.builders import (
    ACCOUNT_EUS,
    ACCOUNT_WEU,
    change,
    gallery_id,
    image_id,
    live,
    pool_id,
    state,
    version_id,
)

REGIONS = ("westeurope", "eastus")


def _estate(rng: random.Random) -> LiveState:
    resources = []
    versions = [
        version_id(f"1.{v}.0", f"g{g}", f"d{d}")
        for g in range(3)
        for d in range(3)
        for v in range(3)
    ]
    for n in range(60):
        account = (ACCOUNT_WEU, ACCOUNT_EUS)[n % 2]
        image = rng.choice(versions)
        # Azure echoes ids in its own casing: the index must compare them case-blind.
        shown = image.upper() if n % 5 == 0 else image
        resources.append(
            live(f"pool:{n}", Kind.POOL, pool_id(f"p{n}", account), {"image.id": shown})
        )
    for v in versions:
        resources.append(live(f"version:{v}", Kind.VERSION, v, {}))
    resources.append(live("pool:noimage", Kind.POOL, pool_id("bare"), {}))
    rng.shuffle(resources)
    return state(*resources)


@pytest.mark.parametrize("seed", range(5))
def test_live_state_indexes_answer_as_a_scan_does(seed):
    """`of_kind` and `pools_using` give what scanning every address in order gives."""
    rng = random.Random(seed)
    live_state = _estate(rng)
    for kind in Kind:
        scanned = [
            live_state.resources[a]
            for a in sorted(live_state.resources)
            if live_state.resources[a].kind is kind
        ]
        assert list(live_state.of_kind(kind)) == scanned
    for resource in live_state.of_kind(Kind.VERSION):
        for asked in (resource.id, resource.id.upper() + "/"):
            scanned = tuple(
                p for p in live_state.of_kind(Kind.POOL) if p.image_id == canonical_id(asked)
            )
            assert live_state.pools_using(asked) == scanned
    assert live_state.pools_using(version_id("9.9.9")) == ()
    # A state made from another (dataclasses.replace) has indexes of its own resources.
    fewer = replace(live_state, resources={})
    assert list(fewer.of_kind(Kind.POOL)) == [] and fewer.pools_using(version_id()) == ()


def _reference_dependencies(changes: Sequence[Change]) -> dict[str, set[str]]:
    """The rules of `reconciler.plan.graph`, by comparing every change with every other."""
    active = [c for c in changes if c.action is not Action.NOOP]
    deps: dict[str, set[str]] = {c.id: set() for c in active}
    by_resource: dict[str, list[Change]] = {}
    for c in active:
        by_resource.setdefault(c.resource_id.lower(), []).append(c)
    for steps in by_resource.values():
        for first, second in pairwise(steps):
            deps[second.id].add(first.id)
    ids = {c.id: c.resource_id.lower() for c in active}
    for child in active:
        ancestors = [
            p for p in active if p is not child and ids[child.id].startswith(ids[p.id] + "/")
        ]
        if not ancestors:
            continue
        depth = max(len(ids[p.id]) for p in ancestors)
        for parent in (p for p in ancestors if len(ids[p.id]) == depth):
            if child.action is Action.DELETE and parent.action in (Action.DELETE, Action.REPLACE):
                deps[parent.id].add(child.id)
            elif child.action is not Action.DELETE and parent.action in (
                Action.CREATE,
                Action.REPLACE,
            ):
                deps[child.id].add(parent.id)
    for image in (c for c in active if c.kind in (Kind.VERSION, Kind.MANAGED_IMAGE)):
        for pool in (c for c in active if c.kind is Kind.POOL):
            used_before, used_after = _pool_images(pool)
            region = pool.location.lower()
            if used_after == image.resource_id.lower() and _orders(image, region, provides=True):
                deps[pool.id].add(image.id)
            if used_before == image.resource_id.lower() and _orders(image, region, provides=False):
                deps[image.id].add(pool.id)
    return deps


def _changes(rng: random.Random) -> list[Change]:
    out: list[Change] = []
    actions = (Action.CREATE, Action.UPDATE, Action.DELETE, Action.REPLACE, Action.NOOP)
    versions = []
    for g in range(2):
        if rng.random() < 0.7:
            out.append(
                change(f"gallery:g{g}", Kind.GALLERY, rng.choice(actions), gallery_id(f"g{g}"))
            )
        for d in range(2):
            if rng.random() < 0.7:
                out.append(
                    change(
                        f"image:g{g}/d{d}",
                        Kind.IMAGE,
                        rng.choice(actions),
                        image_id(f"g{g}", f"d{d}"),
                    )
                )
            for v in range(3):
                vid = version_id(f"1.{v}.0", f"g{g}", f"d{d}")
                versions.append(vid)
                action = rng.choice((*actions, Action.UPDATE, Action.WAIT))
                regions = {r: rng.randint(0, 3) for r in REGIONS}
                grown = {r: rng.randint(0, 3) for r in REGIONS}
                out.append(
                    change(
                        f"version:g{g}/d{d}/1.{v}.0",
                        Kind.VERSION,
                        action,
                        vid,
                        before={f"targetRegions[{r}].replicas": n for r, n in regions.items() if n},
                        after={f"targetRegions[{r}].replicas": n for r, n in grown.items() if n},
                    )
                )
    for n in range(40):
        account = (ACCOUNT_WEU, ACCOUNT_EUS)[n % 2]
        out.append(
            change(
                f"pool:{n}",
                Kind.POOL,
                rng.choice(actions),
                pool_id(f"p{n}", account),
                before={"image.id": rng.choice(versions).upper()},
                after={"image.id": rng.choice(versions)},
                location=REGIONS[n % 2] if n % 7 else "",
            )
        )
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("seed", range(20))
def test_dependencies_are_those_of_comparing_every_change_with_every_other(seed):
    """Walking ids up and indexing pools by image finds exactly the reference's edges."""
    from reconciler.plan.graph import split_action_steps, split_version_steps

    steps = split_action_steps(split_version_steps(_changes(random.Random(seed))))
    assert dependencies(steps) == _reference_dependencies(steps)
    assert order(steps).changes  # and the graph orders (a cycle is reported, not raised)
