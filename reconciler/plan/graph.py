"""The dependency graph of a plan's changes and their deterministic order.

Edges (A → B: B starts only after A finished), derived from the changes alone:

- containment (a resource id nested under another's): a parent that is created or
  replaced goes before its children; children that are deleted go before a parent
  that is deleted;
- image use (a pool's ``image.id`` before and after): an image version or managed
  image that is created, replaced or *grows replicas* goes before every pool change
  that will use it; a version that *shrinks replicas* or is deleted goes after every
  pool change that used it (so a pool moves to a new version before the old one goes,
  and replicas shrink only after the pools that needed them shrank).

A version update that both grows some regions and shrinks others, while pools using it
change too, is split into two steps (``<address>#grow`` and ``<address>#shrink``) so
both rules can hold. Every action that writes more than once is split into steps too, so
the journal, progress and a resumed apply see each write (Pulumi's create-replacement /
delete-replaced): a replace is ``#delete-replaced`` then ``#create-replacement``; a
scale-to-zero-then-update is ``#scale-down``, ``#update-at-zero``, ``#scale-back`` (on an
autoscale pool: autoscale off at fixed 0 nodes draining with TaskCompletion, the update,
then the declared autoscale settings back, as the least disruptive move apply can make). A
wait step (action ``wait``, ``<address>#wait``: a version still replicating, a pool
still resizing) goes before the resource's own change, and an image's wait goes before
every pool change that will boot it. Order is Kahn's algorithm with a stable priority (creates and
updates parent-kind first, then deletes child-kind first, then address), so the same
inputs always give the same plan. A cycle is reported, never silently broken.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from reconciler.plan.health import SCALE_TARGETS
from reconciler.plan.model import Action, Change
from reconciler.state import surface
from reconciler.state.model import Kind

ADOPT = "#adopt"
GROW = "#grow"
SHRINK = "#shrink"
WAIT = "#wait"
DELETE_REPLACED = "#delete-replaced"
CREATE_REPLACEMENT = "#create-replacement"
SCALE_DOWN = "#scale-down"
UPDATE_AT_ZERO = "#update-at-zero"
SCALE_BACK = "#scale-back"

_CREATE_RANK = {
    Kind.GALLERY: 0,
    Kind.IMAGE: 1,
    Kind.MANAGED_IMAGE: 2,
    Kind.VERSION: 3,
    Kind.BATCH_ACCOUNT: 4,
    Kind.POOL: 5,
}
_DELETE_RANK = {
    Kind.POOL: 10,
    Kind.BATCH_ACCOUNT: 11,
    Kind.VERSION: 12,
    Kind.MANAGED_IMAGE: 13,
    Kind.IMAGE: 14,
    Kind.GALLERY: 15,
}
_IMAGE_KINDS = (Kind.VERSION, Kind.MANAGED_IMAGE)
_AUTOSCALE = "scale.autoScale."
#: How an autoscale pool's nodes leave when apply holds it at 0 for an image change: the
#: spec has no drain for autoscale pools, and finishing running tasks loses no work.
AUTOSCALE_DRAIN = "TaskCompletion"


@dataclass(frozen=True, slots=True)
class Ordered:
    """The result of ordering: changes with `depends_on` filled in, and any cycle found."""

    changes: tuple[Change, ...]
    cycle: tuple[str, ...] = ()


def replica_counts(props: Mapping[str, Any] | None) -> dict[str, int]:
    """Region → replica count from flat ``targetRegions[<region>].replicas`` paths."""
    out: dict[str, int] = {}
    for path, value in (props or {}).items():
        if path.startswith("targetRegions[") and path.endswith("].replicas"):
            out[path[len("targetRegions[") : -len("].replicas")]] = int(value)
    return out


def replica_direction(change: Change) -> tuple[set[str], set[str]]:
    """Regions whose replicas grow and regions whose replicas shrink (absent counts as 0)."""
    before = replica_counts(change.before)
    after = replica_counts(change.after)
    grow = {r for r in after if after[r] > before.get(r, 0)}
    shrink = {r for r in before if before[r] > after.get(r, 0)}
    return grow, shrink


def _pool_images(change: Change) -> tuple[str | None, str | None]:
    def image(props: Mapping[str, Any] | None) -> str | None:
        value = (props or {}).get("image.id")
        return value.lower() if isinstance(value, str) else None

    before = image(change.before) if change.action is not Action.CREATE else None
    after = image(change.after) if change.action is not Action.DELETE else None
    return before, after


def _base_address(change: Change) -> str:
    return change.id.split("#", 1)[0]


def split_version_steps(changes: Sequence[Change]) -> tuple[Change, ...]:
    """Split version updates that both grow and shrink replicas while pools using them change."""
    touched: set[str] = set()
    for change in changes:
        if change.kind is Kind.POOL and change.action is not Action.NOOP:
            touched.update(i for i in _pool_images(change) if i)
    out: list[Change] = []
    for change in changes:
        if change.kind is not Kind.VERSION or change.action is not Action.UPDATE:
            out.append(change)
            continue
        grow, shrink = replica_direction(change)
        if not grow or not shrink or change.resource_id.lower() not in touched:
            out.append(change)
            continue
        out.extend(_split(change, shrink))
    return tuple(out)


def _split(change: Change, shrink: set[str]) -> tuple[Change, Change]:
    before = dict(change.before or {})
    prefixes = tuple(f"targetRegions[{r}]" for r in shrink)
    middle = {k: v for k, v in (change.after or {}).items() if not k.startswith(prefixes)}
    middle.update({k: v for k, v in before.items() if k.startswith(prefixes)})
    grow_paths = tuple(p for p in change.changed_paths if not p.startswith(prefixes))
    shrink_paths = tuple(p for p in change.changed_paths if p.startswith(prefixes))
    # The planner joins one phrase per path with "; " (replica phrases start with
    # "replicas <region> "): give each step the phrases of its own regions.
    phrases = change.reason.split("; ")
    shrinking = tuple(f"replicas {r} " for r in shrink)
    grow_reason = "; ".join(p for p in phrases if not p.startswith(shrinking)) or change.reason
    shrink_reason = "; ".join(p for p in phrases if p.startswith(shrinking)) or change.reason
    grow_step = replace(
        change,
        id=change.id + GROW,
        after=middle,
        changed_paths=grow_paths,
        reason="replicas grow first, before the pools that need them: " + grow_reason,
    )
    shrink_step = replace(
        change,
        id=change.id + SHRINK,
        before=middle,
        changed_paths=shrink_paths,
        reason="replicas shrink last, after the pools that used them: " + shrink_reason,
        # The grow step changes the resource's ETag; apply checks the plan's observation
        # only on the first step.
        observed=None,
    )
    return grow_step, shrink_step


def split_action_steps(changes: Sequence[Change]) -> tuple[Change, ...]:
    """Split replacements and scale-to-zero updates into one step per write."""
    out: list[Change] = []
    for change in changes:
        if change.step:
            out.append(change)  # already a step (ordering an ordered plan again)
        elif change.action is Action.REPLACE:
            out.extend(_replace_steps(change))
        elif change.action is Action.SCALE_TO_ZERO_UPDATE and change.kind is Kind.POOL:
            autoscale = any(p.startswith(_AUTOSCALE) for p in change.after or {})
            out.extend(_autoscale_zero_steps(change) if autoscale else _zero_steps(change))
        else:
            out.append(change)
    return tuple(out)


def _replace_steps(change: Change) -> tuple[Change, Change]:
    delete = replace(
        change,
        id=change.id + DELETE_REPLACED,
        reason="delete the old one first (same name): " + change.reason,
    )
    create = replace(
        change,
        id=change.id + CREATE_REPLACEMENT,
        reason="create the replacement: " + change.reason,
        # The delete step checks the plan's observation (If-Match); this one creates anew.
        observed=None,
    )
    return delete, create


def _three_steps(
    change: Change,
    *,
    zero: dict[str, Any],
    before_zero: dict[str, Any],
    at_zero: tuple[str, ...],
    down: tuple[tuple[str, ...], str],
    back: tuple[tuple[str, ...], str],
) -> tuple[Change, Change, Change]:
    """Scale to zero, update at zero (the paths `at_zero`), scale back: `down` and `back`
    are the first and last steps' changed paths and reasons."""
    shown = (surface.parent_of(p) or p for p in at_zero if not p.startswith("scale."))
    fields = ", ".join(dict.fromkeys(shown)) or "the image"
    first = replace(
        change, id=change.id + SCALE_DOWN, after=zero, changed_paths=down[0], reason=down[1]
    )
    # Later steps follow the pool's own writes, whose ETags the plan cannot know: each
    # reads the pool and writes with the ETag it just saw.
    middle = replace(
        change,
        id=change.id + UPDATE_AT_ZERO,
        before=before_zero,
        after=zero,
        changed_paths=at_zero,
        reason=f"change {fields} while the pool is steady at 0 nodes",
        observed=None,
    )
    last = replace(
        change,
        id=change.id + SCALE_BACK,
        before=zero,
        after=dict(change.after or {}),
        changed_paths=back[0],
        reason=back[1],
        observed=None,
    )
    return first, middle, last


def _zero_steps(change: Change) -> tuple[Change, Change, Change]:
    after = dict(change.after or {})
    before = dict(change.before or {})
    targets = tuple(p for p in SCALE_TARGETS if p in after or p in before)
    goal = "+".join(f"{int(after.get(p, 0) or 0):,}" for p in targets)
    # Show only the counts a step moves (a pool without spot nodes keeps 0 → 0 out).
    down_paths = tuple(p for p in targets if before.get(p)) or targets[:1]
    back_paths = tuple(p for p in targets if after.get(p)) or targets[:1]
    return _three_steps(
        change,
        zero={**after, **dict.fromkeys(targets, 0)},
        before_zero={**before, **dict.fromkeys(targets, 0)},
        at_zero=tuple(p for p in change.changed_paths if p not in SCALE_TARGETS),
        down=(down_paths, f"first of three steps: {change.reason}"),
        back=(back_paths, f"scale back to {goal} nodes"),
    )


def _autoscale_zero_steps(change: Change) -> tuple[Change, Change, Change]:
    """An autoscale pool's image change: fixed 0 (autoscale off), update, autoscale back.

    Azure cannot scale an autoscale pool to a given count, so the first step switches it
    to fixed scale at 0 nodes (a PATCH of ``scaleSettings`` replaces the scale mode); the
    last writes the declared formula again, which Azure evaluates at once.
    """
    after = dict(change.after or {})
    before = dict(change.before or {})
    fixed_zero = {
        SCALE_TARGETS[0]: 0,
        SCALE_TARGETS[1]: 0,
        "scale.fixed.nodeDeallocationOption": AUTOSCALE_DRAIN,
    }
    return _three_steps(
        change,
        zero={**{k: v for k, v in after.items() if not k.startswith(_AUTOSCALE)}, **fixed_zero},
        before_zero={
            **{k: v for k, v in before.items() if not k.startswith(("scale.", _AUTOSCALE))},
            **fixed_zero,
        },
        at_zero=tuple(p for p in change.changed_paths if not p.startswith("scale.")),
        down=(
            (*SCALE_TARGETS, "scale.fixed.nodeDeallocationOption"),
            f"first of three steps, autoscale off at fixed 0 nodes (drain {AUTOSCALE_DRAIN}): "
            + change.reason,
        ),
        back=(
            tuple(sorted(p for p in after if p.startswith(_AUTOSCALE))),
            "restore the declared autoscale settings (the formula sizes the pool again)",
        ),
    )


def dependencies(changes: Sequence[Change]) -> dict[str, set[str]]:
    """Change id → ids of the changes it must wait for (see module doc)."""
    active = [c for c in changes if c.action is not Action.NOOP]
    deps: dict[str, set[str]] = {c.id: set() for c in active}
    by_resource: dict[str, list[Change]] = {}
    for change in active:
        by_resource.setdefault(change.resource_id.lower(), []).append(change)

    # Steps of one resource run in their listed order (grow before shrink).
    for steps in by_resource.values():
        for first, second in pairwise(steps):
            deps[second.id].add(first.id)

    # Containment: each change waits only for its nearest ancestor / descendants with a
    # change (the rest follows transitively), so `depends_on` stays readable. The nearest
    # ancestor is found by walking up the child's own id (each ``/`` cut), not by
    # comparing every change with every other.
    for child in active:
        child_id = child.resource_id.lower()
        parents: list[Change] = []
        cut = child_id.rfind("/")
        while cut > 0 and not parents:
            parents = by_resource.get(child_id[:cut], [])
            cut = child_id.rfind("/", 0, cut)
        for parent in parents:
            if child.action is Action.DELETE and parent.action in (Action.DELETE, Action.REPLACE):
                deps[parent.id].add(child.id)
            elif child.action is not Action.DELETE and parent.action in (
                Action.CREATE,
                Action.REPLACE,
            ):
                deps[child.id].add(parent.id)

    # Image use (per region for version updates: a pool waits only for growth in its
    # own region, and only shrinking in a pool's region waits for that pool). Pools are
    # indexed by the image they boot before and after, so each image meets only its own.
    booting_after: dict[str, list[Change]] = {}
    booted_before: dict[str, list[Change]] = {}
    for pool in active:
        if pool.kind is not Kind.POOL:
            continue
        used_before, used_after = _pool_images(pool)
        if used_after is not None:
            booting_after.setdefault(used_after, []).append(pool)
        if used_before is not None:
            booted_before.setdefault(used_before, []).append(pool)
    for image in active:
        if image.kind not in _IMAGE_KINDS:
            continue
        image_id = image.resource_id.lower()
        for pool in booting_after.get(image_id, ()):
            if _orders(image, pool.location.lower(), provides=True):
                deps[pool.id].add(image.id)
        for pool in booted_before.get(image_id, ()):
            if _orders(image, pool.location.lower(), provides=False):
                deps[image.id].add(pool.id)
    return deps


def _in(regions: set[str], region: str) -> bool:
    # A pool whose region is unknown is ordered conservatively.
    return bool(regions) and (not region or region in regions)


def _orders(image: Change, region: str, *, provides: bool) -> bool:
    """Whether pools in `region` that will use this image must wait for this change
    (`provides`), or this change must wait for pools in `region` that used it (not
    `provides`): the same rule read in the two directions of replica change."""
    # An image still replicating (a wait step) provides like a create: pools that will boot
    # it wait until it is ready; it never waits for pools.
    whole = (
        (Action.CREATE, Action.REPLACE, Action.WAIT)
        if provides
        else (Action.DELETE, Action.REPLACE)
    )
    if image.action in whole:
        return True
    if image.kind is not Kind.VERSION or image.action is not Action.UPDATE:
        return False
    if image.id.endswith(SHRINK if provides else GROW):
        return False
    grow, shrink = replica_direction(image)
    return _in(grow if provides else shrink, region)


def _rank(change: Change) -> int:
    if change.action is Action.DELETE:
        return _DELETE_RANK.get(change.kind, 20)
    return _CREATE_RANK.get(change.kind, 9)


def order(changes: Sequence[Change]) -> Ordered:
    """Split version and action steps, compute dependencies and return the changes in order.

    Several changes of one resource (a wait step, then its change) run in the order given.

    Actionable changes come first in topological order; no-ops follow by address.
    """
    steps = split_action_steps(split_version_steps(changes))
    deps = dependencies(steps)
    by_id = {c.id: c for c in steps}
    active = [c for c in steps if c.action is not Action.NOOP]
    waiting = {cid: set(d) for cid, d in deps.items()}
    dependants: dict[str, set[str]] = {cid: set() for cid in deps}
    for cid, needs in deps.items():
        for need in needs:
            dependants[need].add(cid)
    heap = [(_rank(c), _base_address(c), c.id) for c in active if not waiting[c.id]]
    heapq.heapify(heap)
    position: dict[str, int] = {}
    ordered: list[Change] = []
    while heap:
        _, _, cid = heapq.heappop(heap)
        position[cid] = len(ordered)
        ordered.append(by_id[cid])
        for nxt in sorted(dependants[cid]):
            waiting[nxt].discard(cid)
            if not waiting[nxt]:
                heapq.heappush(heap, (_rank(by_id[nxt]), _base_address(by_id[nxt]), nxt))
    cycle = tuple(sorted(cid for cid in deps if cid not in position))
    for cid in cycle:
        position[cid] = len(ordered)
        ordered.append(by_id[cid])
    result = [
        replace(c, depends_on=tuple(sorted(deps[c.id], key=lambda d: position[d]))) for c in ordered
    ]
    result.extend(sorted((c for c in steps if c.action is Action.NOOP), key=lambda c: c.address))
    return Ordered(tuple(result), cycle)
