"""`--target`: cut a plan down to some resources and what they depend on. Pure.

A target is an address or a shell-style glob over addresses (``pool:batchprodweu/*``,
``version:gal/render/*``); several targets add up. The partial plan keeps, from the full
plan:

- every change (and no-op) of a matching resource;
- all steps of a multi-write pool change once one is kept (scale down, update at zero,
  scale back; delete, create the replacement);
- every change those wait for, transitively (`Change.depends_on`: a parent created
  first, the image version a pool will boot from created or grown first, a pool moved
  off a version before that version shrinks or goes);
- the unchanged entries of their parents and of the images their pools boot from, so
  the partial plan lists everything it relies on.

It never adds what merely depends on a target (a gallery target does not pull in its
images). Drift and diagnostics about resources outside the partial plan are dropped;
those not about one resource are kept. `observed`, the spec hash and sizing stay whole,
so the staleness check of a saved partial plan is as strict as that of a full one.

A target that matches no known address (a change or no-op of the full plan) is an
error with the closest known addresses as suggestions.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from fnmatch import fnmatchcase

from reconciler.errors import ReconcileError
from reconciler.plan.model import Action, Change, Plan
from reconciler.state.model import Kind

_SUGGESTIONS = 3
# Steps of one pool change that only make sense together: a partial plan that scaled a
# pool down without scaling it back, or deleted it without creating the replacement,
# would leave it worse than either plan. (A version's #grow and #shrink stand alone.)
_WHOLE_STEPS = frozenset(
    {"scale-down", "update-at-zero", "scale-back", "delete-replaced", "create-replacement"}
)


def matches(address: str, pattern: str) -> bool:
    """Whether `address` is `pattern` or matches it as a shell-style glob."""
    return address == pattern or fnmatchcase(address, pattern)


def select(plan: Plan, patterns: Sequence[str]) -> Plan:
    """The partial plan for `patterns` (see module doc); `plan` itself when there are none.

    Raises `ReconcileError` for an empty pattern and naming the first pattern that
    matches nothing.
    """
    if any(not p.strip() for p in patterns):
        # `--target "$POOL"` with $POOL unset must not quietly become the whole plan.
        raise ReconcileError(
            "--target is empty; an empty target would reconcile the whole spec",
            hint="give an address such as pool:ACCOUNT/POOL (a glob works too), or leave "
            "--target out to plan everything",
        )
    patterns = tuple(dict.fromkeys(p.strip() for p in patterns))
    if not patterns:
        return plan
    known = sorted({c.address for c in plan.changes})
    for pattern in patterns:
        if not any(matches(address, pattern) for address in known):
            raise _no_match(pattern, known)

    by_id = {c.id: c for c in plan.changes}
    steps_of: dict[str, list[str]] = {}
    for change in plan.changes:
        base, _, step = change.id.partition("#")
        if step in _WHOLE_STEPS:
            steps_of.setdefault(base, []).append(change.id)
    by_resource: dict[str, list[Change]] = {}
    for change in plan.changes:
        by_resource.setdefault(change.resource_id.lower(), []).append(change)

    keep: set[str] = set()
    todo = [c.id for c in plan.changes if any(matches(c.address, p) for p in patterns)]
    while todo:
        change = by_id[todo.pop()]
        if change.id in keep:
            continue
        keep.add(change.id)
        todo.extend(d for d in change.depends_on if d in by_id)
        base, _, step = change.id.partition("#")
        if step in _WHOLE_STEPS:
            todo.extend(steps_of[base])
        for resource_id in _relied_on(change):
            todo.extend(c.id for c in by_resource.get(resource_id, ()) if c.action is Action.NOOP)

    changes = tuple(c for c in plan.changes if c.id in keep)
    addresses = {c.address for c in changes}
    return replace(
        plan,
        changes=changes,
        drift=tuple(d for d in plan.drift if d.address in addresses),
        diagnostics=tuple(
            d for d in plan.diagnostics if d.address is None or d.address in addresses
        ),
        targets=tuple(sorted({*plan.targets, *patterns})),
    )


def _relied_on(change: Change) -> Iterable[str]:
    """Resource ids `change` relies on existing: its parents and its pool's boot image."""
    resource_id = change.resource_id.lower()
    parts = resource_id.split("/")
    # Every prefix of the id: the ones that name no resource simply match no change.
    for end in range(1, len(parts)):
        yield "/".join(parts[:end])
    if change.kind is Kind.POOL and change.action is not Action.DELETE:
        image = (change.after or {}).get("image.id")
        if isinstance(image, str):
            yield image.lower()


def _no_match(pattern: str, known: Sequence[str]) -> ReconcileError:
    close = difflib.get_close_matches(pattern, known, n=_SUGGESTIONS, cutoff=0.6)
    if not close:
        # A glob rarely looks like an address: compare with its literal prefix too.
        stem = pattern.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0]
        close = [a for a in known if stem and a.startswith(stem)][:_SUGGESTIONS]
    if close:
        message = f"--target {pattern} matches no resource; did you mean {' or '.join(close)}?"
    else:
        message = f"--target {pattern} matches no resource in this plan"
    shown = ", ".join(known[:6]) + (", …" if len(known) > 6 else "")
    return ReconcileError(
        message,
        hint=f"targets are addresses or globs over them; known addresses: {shown or '(none)'}",
    )
