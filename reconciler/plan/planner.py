"""The planner: resolved spec × live state → an ordered, explained `Plan`. Pure.

Decides, per resource, which action brings Azure to the spec and why; checks the rules
that need live state (R4 totals including pools outside the spec, R6 images in use,
R7 managed-image pool creation, R9/R10 image placement against the Batch account's
real region); refuses to plan pool changes on a Batch account that is not where the spec
places it (RC512: sizing and the rules assumed the wrong region, or it is missing); and
reports ownership problems instead of touching what it does not own. It also compares
with live *status* (`reconciler.plan.health`): versions still replicating and pools still
resizing get wait steps, failed versions are created again, pools that stopped short get
their resize re-issued, and each is reported as unhealthy drift.
Ordering is `reconciler.plan.graph`'s job, differences `reconciler.plan.diff`'s.

Matching is by (normalised) resource id, never by address: the spec and the Azure
layer name resources independently, ids are what Azure matches on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from reconciler.diagnostics import Diagnostic, SourceLocation, diag
from reconciler.plan import codes
from reconciler.plan.applied import Cause, change_cause, classify, decode
from reconciler.plan.desired import DesiredResource, DesiredState, desired_state, owner_marks
from reconciler.plan.diff import PathChange, ResourceDiff, diff_resource
from reconciler.plan.graph import ADOPT, WAIT, order
from reconciler.plan.health import (
    SCALE_TARGETS,
    Condition,
    Health,
    fixed_targets,
    missing_nodes,
    nodes_text,
    pool_health,
    pool_targets,
    version_health,
)
from reconciler.plan.model import (
    ABSENT,
    UNCHANGED_REASON,
    Action,
    Change,
    DriftItem,
    DriftKind,
    Plan,
)
from reconciler.secrets import MASK, is_secret
from reconciler.state import surface
from reconciler.state.model import (
    APPLIED_METADATA_KEY,
    APPLIED_TAG,
    OWNER_METADATA_KEY,
    OWNER_NAME_METADATA_KEY,
    OWNER_NAME_TAG,
    OWNER_TAG,
    OWNER_VALUE,
    Kind,
    LiveResource,
    canonical_location,
    int_at,
)
from reconciler.state.model import LiveState as LiveState
from reconciler.state.scope import address_for

# R7: creating pools from managed images stops being supported after this day.
MANAGED_IMAGE_POOL_CUTOFF = date(2026, 3, 31)
# R4: node limits shared by all pools built from one managed image.
MANAGED_IMAGE_MAX_DEDICATED = 2500
MANAGED_IMAGE_MAX_SPOT = 1000

_MANAGED_KINDS = (Kind.GALLERY, Kind.IMAGE, Kind.VERSION, Kind.MANAGED_IMAGE, Kind.POOL)
_LABEL = {
    Kind.GALLERY: "gallery",
    Kind.IMAGE: "image definition",
    Kind.VERSION: "image version",
    Kind.MANAGED_IMAGE: "managed image",
    Kind.BATCH_ACCOUNT: "Batch account",
    Kind.POOL: "pool",
}
_REGION_PATH = re.compile(r"^targetRegions\[([^\]]+)\]\.replicas$")
_MAX_PHRASES = 4


def make_plan(
    spec: Any,
    live: LiveState,
    *,
    target: str,
    prune: bool | None = None,
    adopt: bool | None = None,
    now: date | None = None,
    diagnostics: Iterable[Diagnostic] = (),
) -> Plan:
    """Plan the changes that bring `live` to the resolved `spec`.

    `prune` and `adopt` override ``settings.prune`` / ``settings.adopt`` when given. `now` is the day R7 is judged on
    (default: today). `diagnostics` are the spec's own (warnings) to carry into the plan.
    """
    return plan_desired(
        desired_state(spec),
        live,
        target=target,
        prune=prune,
        adopt=adopt,
        now=now,
        diagnostics=diagnostics,
    )


def plan_desired(
    desired: DesiredState,
    live: LiveState,
    *,
    target: str,
    prune: bool | None = None,
    adopt: bool | None = None,
    now: date | None = None,
    diagnostics: Iterable[Diagnostic] = (),
) -> Plan:
    """`make_plan` on an already built `DesiredState` (tests build those directly)."""
    return _Planner(desired, live, prune=prune, adopt=adopt, now=now).run(target, diagnostics)


def observation(resource: LiveResource | None) -> str:
    """What a saved plan records about a resource: ETag, else fingerprint, else ABSENT."""
    if resource is None:
        return ABSENT
    return resource.etag or resource.fingerprint()


def mask_live(props: Mapping[str, Any], desired: Mapping[str, Any] | None) -> dict[str, Any]:
    """Live properties safe to show and save: values a secret may hide become ``***``."""
    want = desired or {}
    out = {}
    for path, value in props.items():
        if path.startswith(_RECORD_PREFIXES):
            continue  # the applied record: bookkeeping, never a difference worth showing
        if path.startswith("startTask.environment.") or is_secret(want.get(path)):
            out[path] = MASK
        else:
            out[path] = value
    return out


_RECORD_PREFIXES = (f"tags.{APPLIED_TAG}", f"metadata.{APPLIED_METADATA_KEY}")
_ARM_ID = re.compile(r"^/subscriptions/[^/]+/resourcegroups/", re.IGNORECASE)


def short_id(value: str) -> str:
    """An ARM id as people name it in a sentence: its last name (``snap-render-os``)."""
    return value.rstrip("/").rsplit("/", 1)[-1] if _ARM_ID.match(value) else value


def _fmt(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        text = short_id(value)
        return f'"{text}"' if " " in text else text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def phrase(change: PathChange, notes: Mapping[str, str]) -> str:
    """One changed path as people say it, with the arithmetic behind computed values."""
    path = change.path
    note = notes.get(path)
    region = _REGION_PATH.match(path)
    if region:
        before = "none" if change.before is None else _fmt(change.before)
        after = "removed" if change.after is None else _fmt(change.after)
        text = f"replicas {region.group(1)} {before}→{after}"
    elif path == "scale.fixed.dedicated":
        text = f"dedicated nodes {_fmt(change.before or 0)}→{_fmt(change.after or 0)}"
    elif path == "scale.fixed.lowPriority":
        text = f"low-priority nodes {_fmt(change.before or 0)}→{_fmt(change.after or 0)}"
    elif path == "scale.fixed.resizeTimeout":
        text = f"resizeTimeout {_fmt(change.before or 'PT15M')}→{_fmt(change.after)}"
    elif change.after is None:
        text = f"{path}: {_fmt(change.before)} removed"
    elif change.before is None:
        text = f"{path}: set to {_fmt(change.after)}"
    else:
        text = f"{path}: {_fmt(change.before)} → {_fmt(change.after)}"
    if note:
        text += f": {note}"
    return text


def phrases(changes: Sequence[PathChange], notes: Mapping[str, str]) -> list[str]:
    """`phrase` for each change, the members under Azure's names that change together
    told as one (``…containerConfiguration: 2 members set``) so a reason stays readable."""
    out: list[str] = []
    groups: dict[str, list[PathChange]] = {}
    for change in changes:
        parent = surface.parent_of(change.path)
        if parent is None:
            out.append(phrase(change, notes))
        else:
            groups.setdefault(parent, []).append(change)
    for parent, members in groups.items():
        if len(members) == 1:
            out.append(phrase(members[0], notes))
            continue
        if all(m.after is None for m in members):
            verb = "removed"
        elif all(m.before is None for m in members):
            verb = "set"
        else:
            verb = "changed"
        out.append(f"{parent}: {len(members)} members {verb}")
    return out


def _join(items: Sequence[str]) -> str:
    shown = list(items[:_MAX_PHRASES])
    if len(items) > _MAX_PHRASES:
        shown.append(f"and {len(items) - _MAX_PHRASES} more")
    return "; ".join(shown)


def _change(d: DesiredResource, action: Action, *, step: str = "", **fields: Any) -> Change:
    """A step for declared resource `d` (its address, kind, id and location); `step` names
    one of several steps of the resource (`graph.WAIT` → id ``<address>#wait``)."""
    return Change(
        id=d.address + step,
        address=d.address,
        kind=d.kind,
        action=action,
        resource_id=d.id,
        location=d.location,
        **fields,
    )


class _Planner:
    """One planning run (holds the indexes; the result is a plain `Plan`)."""

    def __init__(
        self,
        desired: DesiredState,
        live: LiveState,
        *,
        prune: bool | None,
        now: date | None,
        adopt: bool | None = None,
    ) -> None:
        self.desired = desired
        self.live = live
        self.prune = desired.prune if prune is None else bool(prune)
        self.adopt = desired.adopt if adopt is None else bool(adopt)
        self.today = now or date.today()
        self.live_by_id = {r.id: r for r in live.resources.values()}
        self.desired_by_id = {d.id: d for d in desired.resources.values()}
        self.diagnostics: list[Diagnostic] = []
        self.changes: dict[str, Change] = {}  # by resource id
        self.waits: dict[str, Change] = {}  # wait steps, by resource id (before its change)
        self.adoptions: dict[str, Change] = {}  # adopt steps, by resource id (before all)
        self.diffs: dict[str, ResourceDiff] = {}
        self.observed: dict[str, str] = {}
        self.drift: list[DriftItem] = []
        self.unsettled: set[str] = set()  # ids of accounts whose pools get no change (RC512)
        self._descendants: dict[str, list[LiveResource]] | None = None  # see live_descendants

    # -- helpers ------------------------------------------------------------------

    def diag(self, code: str, message: str, *, address: str | None, hint: str = "") -> None:
        """Record a diagnostic; its severity is the one the code registry gives `code`."""
        at = self.where_of(address)
        self.diagnostics.append(diag(code, message, hint=hint, address=address, at=at))

    def where_of(self, address: str | None) -> SourceLocation | None:
        """Where the spec declares the resource at `address` (None: not in the spec)."""
        if address is None:
            return None
        declared = self.desired.resources.get(address) or self.desired.accounts.get(address)
        return declared.where if declared is not None else None

    def add(self, change: Change) -> None:
        """Plan `change`, unless it writes to a pool of an unsettled account (RC512)."""
        if (
            change.kind is Kind.POOL
            and change.action is not Action.NOOP
            and _account_of(change.resource_id) in self.unsettled
        ):
            return
        self.changes[change.resource_id] = change

    def address_of(self, resource: LiveResource) -> str:
        declared = self.desired_by_id.get(resource.id)
        return declared.address if declared else address_for(resource.kind, resource.id)

    def live_pools_using(self, image_id: str) -> tuple[LiveResource, ...]:
        return self.live.pools_using(image_id)

    # -- run ------------------------------------------------------------------------

    def run(self, target: str, carried: Iterable[Diagnostic]) -> Plan:
        self.diagnostics.extend(carried)
        self.check_accounts()
        for resource in self.desired.resources.values():
            self.plan_declared(resource)
        self.plan_undeclared()
        self.protect_parents_of_replacements()
        self.plan_health()
        self.check_pool_rules()
        # A resource's wait step goes before its own change (steps run in listed order).
        ordered = order((*self.adoptions.values(), *self.waits.values(), *self.changes.values()))
        if ordered.cycle:
            self.diag(
                codes.CYCLE,
                "these changes wait for each other in a cycle: " + ", ".join(ordered.cycle),
                address=None,
                hint="split the spec change into two plans (apply the first, then the second)",
            )
        return Plan(
            spec_hash=self.desired.spec_hash,
            target=target,
            changes=ordered.changes,
            drift=tuple(sorted(self.drift, key=lambda d: d.address)),
            diagnostics=tuple(_dedupe(self.diagnostics)),
            sizing=self.desired.sizing,
            observed=dict(sorted(self.observed.items())),
            prune=self.prune,
            adopt=self.adopt,
            owner=self.desired.owner,
            owner_derived=self.desired.owner_derived,
        )

    # -- declared resources -----------------------------------------------------------

    def plan_declared(self, d: DesiredResource) -> None:
        current = self.live_by_id.get(d.id)
        self.observed[d.id] = observation(current)
        if current is None:
            # Not drift: nothing says it was ever applied (a new spec resource is the
            # common case; one deleted by hand is re-created the same way).
            if d.kind is Kind.POOL and self.refuses_managed_image_pool(d, "create"):
                return
            self.add(
                _change(
                    d,
                    Action.CREATE,
                    reason=self.create_reason(d),
                    before=None,
                    after=d.properties,
                    changed_paths=tuple(sorted(d.properties)),
                    observed=ABSENT,
                    cause=Cause.SPEC.value,
                )
            )
            return
        if not current.owned:
            if not self.adopt or self.owned_elsewhere(current):
                self.report_not_owned(d, current)
                return
            current = self.adopt_resource(d, current)
        if self.owned_elsewhere(current):
            self.report_owned_elsewhere(d, current)
            return
        diff = diff_resource(d.kind, d.properties, current.properties, complete=d.complete)
        adoption = self.adoptions.get(d.id)
        if adoption is not None and diff.paths:
            # Other differences follow as their own change: until it is applied, the record
            # adoption writes covers only the marks, so those paths stay "unrecorded".
            marks = {p: v for p, v in (adoption.after or {}).items() if _is_owner_mark(p)}
            self.adoptions[d.id] = replace(adoption, after=marks)
        action = diff.action()
        if action is Action.SCALE_TO_ZERO_UPDATE and _at_zero(current):
            action = Action.UPDATE
        causes = self.causes(d, current, diff)
        drifted = [p for p in diff.paths if causes[p.path] is not Cause.SPEC]
        if drifted:
            recorded = decode(d.kind, current.properties) is not None
            self.drift.append(self.drift_item(d, drifted, recorded=recorded))
        if d.kind is Kind.POOL and action is not Action.NOOP:
            moves = "image.id" in diff.changed_paths
            if (action is Action.REPLACE or moves) and self.refuses_managed_image_pool(
                d, "replace" if action is Action.REPLACE else "move"
            ):
                return
        if d.kind is Kind.POOL:
            self.check_resize_again(d, current)
        if action is Action.REPLACE and d.kind in (Kind.VERSION, Kind.MANAGED_IMAGE):
            users = [p for p in self.live_pools_using(d.id)]
            if users:
                self.refuse_replace_in_use(d.address, d.kind, d.id, users)
                return
        self.diffs[d.id] = diff
        self.add(
            Change(
                id=d.address,
                address=d.address,
                kind=d.kind,
                action=action,
                resource_id=d.id,
                location=d.location,
                reason=self.change_reason(d, current, diff, action),
                before=mask_live(current.properties, d.properties),
                after=d.properties,
                changed_paths=diff.changed_paths,
                replace_paths=diff.replace_paths if action is Action.REPLACE else (),
                # After an adopt step the resource's ETag is the one that step's write left,
                # which the plan cannot know: the write reads it (the adopt step carried ours).
                observed=observation(current) if adoption is None else None,
                cause=change_cause(list(causes.values())) if diff.paths else None,
            )
        )

    def causes(
        self, d: DesiredResource, current: LiveResource, diff: ResourceDiff
    ) -> dict[str, Cause]:
        """Why each differing path differs, from the resource's applied record."""
        record = decode(d.kind, current.properties)
        out = {}
        for p in diff.paths:
            if record is None and _is_owner_mark(p.path):
                # Writing the owner's name onto a resource from before owners is adoption
                # bookkeeping the tool asks for, never something Azure changed.
                out[p.path] = Cause.SPEC
                continue
            out[p.path] = classify(
                d.kind, p.path, d.properties.get(p.path), current.properties.get(p.path), record
            )
        return out

    def drift_item(
        self, d: DesiredResource, paths: Sequence[PathChange], *, recorded: bool
    ) -> DriftItem:
        before = {p.path: MASK if p.secret and p.before is not None else p.before for p in paths}
        after = {p.path: MASK if is_secret(p.after) else p.after for p in paths}
        names = [p.path for p in paths]
        shown = ", ".join(names[:_MAX_PHRASES])
        more = len(names) - _MAX_PHRASES
        message = (
            f"changed in Azure since reconcile applied it: {shown}"
            if recorded
            else f"differs from the spec in {shown} (no record of what reconcile applied: "
            "counted as drift)"
        )
        return DriftItem(
            d.address,
            DriftKind.CHANGED.value,
            paths=tuple(names),
            message=message + (f" and {more} more" if more > 0 else ""),
            before=before,
            after=after,
        )

    def owned_elsewhere(self, resource: LiveResource) -> bool:
        """True when another spec's owner name is on it (it is never touched here)."""
        name = resource.owner_name
        return bool(self.desired.owner) and name is not None and name != self.desired.owner

    def report_owned_elsewhere(self, d: DesiredResource, current: LiveResource) -> None:
        other = current.owner_name
        mark = (
            f"metadata {OWNER_NAME_METADATA_KEY}"
            if d.kind is Kind.POOL and current.properties.get(f"metadata.{OWNER_NAME_METADATA_KEY}")
            else f"tag {OWNER_NAME_TAG}"
        )
        self.diag(
            codes.OWNED_BY_OTHER_SPEC,
            f"{_LABEL[d.kind]} {d.name} is owned by spec {other!r}, not by this spec "
            f"({self.desired.owner!r}); it is left untouched",
            address=d.address,
            hint=f"declare it in one spec only; to move it to this spec, set its {mark} to "
            f"{self.desired.owner} (portal, az CLI or ARM) and plan again. Id: {current.id}",
        )

    def adopt_resource(self, d: DesiredResource, current: LiveResource) -> LiveResource:
        """Plan writing only the ownership marks on `current`; return it as if adopted.

        The rest of planning sees the adopted resource, so any other difference from the
        spec becomes its own change after the adoption, shown as such.
        """
        marks = owner_marks(d.kind, self.desired.owner)
        changed = tuple(sorted(p for p, v in marks.items() if current.properties.get(p) != v))
        self.adoptions[d.id] = _change(
            d,
            Action.ADOPT,
            step=ADOPT,
            reason=f"{_LABEL[d.kind]} {d.name} exists in Azure without reconcile's ownership "
            "marks; --adopt writes only "
            + ", ".join(changed)
            + (f" (owner {self.desired.owner})" if self.desired.owner else ""),
            before=mask_live(current.properties, d.properties),
            after=d.properties,
            changed_paths=changed,
            observed=observation(current),
        )
        adopted = replace(current, properties={**current.properties, **marks})
        self.live_by_id[d.id] = adopted
        return adopted

    def report_not_owned(self, d: DesiredResource, current: LiveResource) -> None:
        if d.kind is Kind.POOL:
            how = (
                f"add metadata {OWNER_METADATA_KEY}={OWNER_VALUE} to the pool "
                f"(or tag {OWNER_TAG}={OWNER_VALUE})"
            )
        else:
            how = f"add the tag {OWNER_TAG}={OWNER_VALUE} to it"
        if self.owned_elsewhere(current):
            # Another spec's name on it: never adopted silently, not even with --adopt.
            self.report_owned_elsewhere(d, current)
            return
        self.diag(
            codes.NOT_OWNED,
            f"{_LABEL[d.kind]} {d.name} exists in Azure but was not created by reconcile; "
            "it is left untouched",
            address=d.address,
            hint="to adopt it, plan and apply with --adopt (or set settings.adopt: true): only "
            f"reconcile's ownership marks are written; or {how} by hand; or give the spec "
            f"resource another name. Id: {current.id}",
        )

    def refuses_managed_image_pool(self, d: DesiredResource, what: str) -> bool:
        image = d.image_id or ""
        if "/providers/microsoft.compute/images/" not in image:
            return False
        if self.today <= MANAGED_IMAGE_POOL_CUTOFF:
            return False
        verb = {"create": "create", "replace": "re-create", "move": "move"}[what]
        self.diag(
            codes.MANAGED_IMAGE_POOL_REFUSED,
            f"cannot {verb} pool {d.name} on managed image {image.rsplit('/', 1)[-1]}: Batch "
            f"stopped supporting new managed-image pools after {MANAGED_IMAGE_POOL_CUTOFF:%-d %B %Y}",
            address=d.address,
            hint="publish the image to a gallery (an image version with "
            "source.managedImage) and point the pool at that version; existing "
            "managed-image pools keep working",
        )
        return True

    def check_resize_again(self, d: DesiredResource, current: LiveResource) -> None:
        timed_out = [e for e in current.resize_errors if "timedout" in e.lower()]
        if not timed_out or (current.allocation_state or "").lower() != "steady":
            return
        want = int_at(current.properties, "scale.fixed.dedicated")
        have = current.current_dedicated or 0
        if have < want:
            self.diag(
                codes.RESIZE_AGAIN,
                f"pool {d.name} reached {have:,} of {want:,} dedicated nodes before its "
                f"resizeTimeout ({', '.join(timed_out)})",
                address=d.address,
                hint="`reconcile apply` re-issues the resize; large managed-image pools may "
                "need several (R3)",
            )

    # -- health: in-flight, failed and short resources ------------------------------------

    def plan_health(self) -> None:
        """Compare with live status, not only fields: wait on, repair or re-issue (see
        `reconciler.plan.health`); each unhealthy resource is reported as drift too."""
        # Regions of the spec's pools per image they boot (one pass, not one per version).
        regions_using: dict[str, set[str]] = {}
        for p in self.desired.resources.values():
            if p.kind is Kind.POOL and p.image_id is not None and p.location:
                regions_using.setdefault(p.image_id, set()).add(p.location)
        for d in self.desired.resources.values():
            current = self.live_by_id.get(d.id)
            if current is None or not current.owned:
                continue
            if d.kind is Kind.VERSION:
                regions = regions_using.get(d.id, set())
                health = version_health(current, regions)
                if health is not None:
                    self.version_unhealthy(d, current, health)
            elif d.kind is Kind.POOL and _account_of(d.id) not in self.unsettled:
                health = pool_health(current)
                if health is not None:
                    self.pool_unhealthy(d, current, health)

    def unhealthy(self, d: DesiredResource, health: Health) -> None:
        self.drift.append(
            DriftItem(
                d.address,
                DriftKind.UNHEALTHY.value,
                message=f"{_LABEL[d.kind]} {d.name}: {health.message}",
            )
        )

    def version_unhealthy(self, d: DesiredResource, current: LiveResource, health: Health) -> None:
        self.unhealthy(d, health)
        change = self.changes.get(d.id)
        if change is not None and change.action in (Action.REPLACE, Action.DELETE):
            return
        if health.condition is Condition.FAILED:
            self.changes[d.id] = _change(
                d,
                Action.CREATE,
                reason=f"{_LABEL[d.kind]} {d.name} is in Azure but its {health.message}: it "
                "does not count as present; create it again (PUT of the spec's version) to "
                "repair it",
                before=mask_live(current.properties, d.properties),
                after=d.properties,
                changed_paths=tuple(sorted(d.properties)),
                observed=observation(current),
            )
            return
        self.waits[d.id] = _change(
            d,
            Action.WAIT,
            step=WAIT,
            reason=f"{_LABEL[d.kind]} {d.name} is not ready ({health.message}): pools that "
            "boot it start only once it has replicated",
        )

    def pool_unhealthy(self, d: DesiredResource, current: LiveResource, health: Health) -> None:
        self.unhealthy(d, health)
        change = self.changes.get(d.id)
        action = change.action if change is not None else Action.NOOP
        if action in (Action.REPLACE, Action.DELETE):
            return
        want = fixed_targets(d.properties)
        # Re-issuing toward the live targets is right only when they are the spec's too.
        same_targets = pool_targets(current) == want
        if health.condition is Condition.IN_FLIGHT:
            settle = same_targets and action in (Action.NOOP, Action.UPDATE)
            self.waits[d.id] = _change(
                d,
                Action.WAIT,
                step=WAIT,
                reason=f"pool {d.name} is {health.message}: "
                + (
                    "wait until it is steady, and re-issue the resize if it stops short (R3)"
                    if settle
                    else "wait until it is steady before changing it"
                ),
                # With `after`, the wait step itself re-issues a resize that stops short.
                after=d.properties if settle else None,
            )
            return
        if not same_targets or action not in (Action.NOOP, Action.UPDATE):
            return  # the change already writes new targets, and re-issues if short
        counts = (current.current_dedicated or 0, current.current_low_priority or 0)
        have = sum(counts)
        missing = missing_nodes(current)
        errors = ", ".join(current.resize_errors) or "no resize error reported"
        why = (
            f"pool {d.name} stopped at {nodes_text(*counts, *want)} ({errors}): re-issue the "
            f"resize ({sum(want):,} − {have:,} = {missing:,} node(s) missing)"
        )
        # Shown as nodes now → target; only the counts that are short.
        paths = tuple(
            p for p, n, w in zip(SCALE_TARGETS, counts, want, strict=True) if n != w
        ) or tuple(p for p in SCALE_TARGETS if p in d.properties)
        if change is None or action is Action.NOOP:
            self.add(
                _change(
                    d,
                    Action.RESIZE,
                    reason=why,
                    before={
                        **mask_live(current.properties, d.properties),
                        **dict(zip(SCALE_TARGETS, counts, strict=True)),
                    },
                    after=d.properties,
                    changed_paths=paths,
                    observed=observation(current),
                )
            )
        else:
            self.add(
                replace(
                    change,
                    changed_paths=tuple(dict.fromkeys((*change.changed_paths, *paths))),
                    reason=f"{change.reason}; also {why}",
                )
            )

    # -- owned resources the spec no longer has ------------------------------------------

    def plan_undeclared(self) -> None:
        undeclared = [
            r
            for r in sorted(self.live.resources.values(), key=lambda r: r.id)
            if r.kind in _MANAGED_KINDS and r.id not in self.desired_by_id and r.owned
        ]
        candidates = [r for r in undeclared if self.owns_undeclared(r)]
        self.report_undeclared_not_ours([r for r in undeclared if not self.owns_undeclared(r)])
        for resource in candidates:
            # Not drift: the spec no longer declaring it is a spec change (a pending delete).
            self.observed[resource.id] = observation(resource)
        if not self.prune:
            for resource in candidates:
                self.diag(
                    codes.WOULD_DELETE,
                    f"{_LABEL[resource.kind]} {resource.name} is owned by reconcile but no "
                    "longer in the spec: it would be deleted with prune",
                    address=self.address_of(resource),
                    hint="run with --prune (or set settings.prune: true) to delete it, or "
                    "add it back to the spec",
                )
            return
        # Pools first: whether an image may go depends on which pools go.
        by_kind = sorted(candidates, key=lambda r: _DELETE_ORDER[r.kind])
        for resource in by_kind:
            rid = resource.id
            address = self.address_of(resource)
            if resource.kind in (Kind.VERSION, Kind.MANAGED_IMAGE):
                users = self.users_after_plan(rid)
                if users:
                    # Pruning is housekeeping: an image still booted is kept and the rest of
                    # the plan goes ahead (unlike a replace the spec demands, which is an error).
                    self.keep_in_use(address, resource.kind, rid, users)
                    continue
            if resource.kind in (Kind.GALLERY, Kind.IMAGE):
                kept = self.children_staying(rid)
                if kept:
                    self.diag(
                        codes.DELETE_KEPT,
                        f"{_LABEL[resource.kind]} {resource.name} is not deleted: it still "
                        f"holds {', '.join(kept)}",
                        address=address,
                        hint="Azure deletes a gallery or image definition only when it is "
                        "empty; it goes in a later plan once those are gone",
                    )
                    continue
            self.add(
                Change(
                    id=address,
                    address=address,
                    kind=resource.kind,
                    action=Action.DELETE,
                    resource_id=rid,
                    location=resource.location,
                    reason="owned by reconcile and no longer in the spec; prune is on",
                    before=mask_live(resource.properties, None),
                    after=None,
                    changed_paths=(),
                    observed=observation(resource),
                    cause=Cause.SPEC.value,
                )
            )

    def owns_undeclared(self, resource: LiveResource) -> bool:
        """Whether this spec may prune (or warn about deleting) an undeclared owned resource.

        With an owner name, only resources carrying that name: another spec's are never
        touched, and those marked only ``managed-by=reconcile`` (written before owners)
        belong to no spec until one that declares them applies and writes its name.
        """
        if not self.desired.owner:
            return True
        return resource.owner_name == self.desired.owner

    def report_undeclared_not_ours(self, resources: Sequence[LiveResource]) -> None:
        """One warning per other owner (and one for unnamed ones): seen, left alone."""
        groups: dict[str | None, list[LiveResource]] = {}
        for resource in resources:
            groups.setdefault(resource.owner_name, []).append(resource)
        for name, group in sorted(groups.items(), key=lambda kv: kv[0] or ""):
            listed = ", ".join(self.address_of(r) for r in group[:_MAX_PHRASES])
            if len(group) > _MAX_PHRASES:
                listed += f" and {len(group) - _MAX_PHRASES} more"
            if name is None:
                self.diag(
                    codes.OWNED_BY_NO_SPEC,
                    f"{len(group)} resource(s) marked {OWNER_TAG}={OWNER_VALUE} without an "
                    f"owner name are not in this spec and are left untouched: {listed}",
                    address=None,
                    hint="the spec that declares them writes its name on its next apply; "
                    f"to let this spec ({self.desired.owner}) prune them, tag them "
                    f"{OWNER_NAME_TAG}={self.desired.owner} (pools: metadata "
                    f"{OWNER_NAME_METADATA_KEY})",
                )
            else:
                self.diag(
                    codes.OWNED_BY_OTHER_SPEC_SEEN,
                    f"{len(group)} resource(s) owned by spec {name!r} are not in this spec "
                    f"({self.desired.owner!r}) and are left untouched: {listed}",
                    address=None,
                    hint=f"plan spec {name!r} to manage them; prune here never deletes them",
                )

    def users_after_plan(self, image_id: str) -> list[LiveResource]:
        """Live pools that will still boot `image_id` once the plan has run (R6)."""
        users = []
        for pool in self.live_pools_using(image_id):
            pid = pool.id
            change = self.changes.get(pid)
            if change is not None and change.action is Action.DELETE:
                continue
            wanted = self.desired_by_id.get(pid)
            moving = (
                change is not None
                and wanted is not None
                and wanted.image_id != image_id
                and "image.id" in change.changed_paths
            )
            if not moving:
                users.append(pool)
        return users

    def live_descendants(self, parent_id: str) -> list[LiveResource]:
        """Every live resource whose id is nested under `parent_id` (an index, built once)."""
        if self._descendants is None:
            index: dict[str, list[LiveResource]] = {}
            for resource in self.live.resources.values():
                parts = resource.id.split("/")
                # Ancestors are the id cut after each ``<type>/<name>`` pair above it.
                for end in range(len(parts) - 2, 0, -2):
                    index.setdefault("/".join(parts[:end]), []).append(resource)
            self._descendants = index
        return self._descendants.get(parent_id, [])

    def children_staying(self, parent_id: str) -> list[str]:
        staying = []
        for resource in self.live_descendants(parent_id):
            rid = resource.id
            change = self.changes.get(rid)
            if change is None or change.action is not Action.DELETE:
                staying.append(self.address_of(resource))
        return sorted(staying)

    def in_use_phrases(
        self, kind: Kind, image_id: str, users: Sequence[LiveResource]
    ) -> tuple[str, str]:
        """(``image version 1.0.0``, ``pool:a/p still boots``) for the R6 messages."""
        names = ", ".join(self.address_of(p) for p in users)
        who = f"{names} still boots" if len(users) == 1 else f"{names} still boot"
        return f"{_LABEL[kind]} {image_id.rsplit('/', 1)[-1]}", who

    def refuse_replace_in_use(
        self, address: str, kind: Kind, image_id: str, users: Sequence[LiveResource]
    ) -> None:
        """RC501: a replace the spec demands of an image a pool boots from is an error."""
        what, who = self.in_use_phrases(kind, image_id, users)
        self.diag(
            codes.IN_USE,
            f"{what} is not replaced: {who} from it, and a resize would fail with "
            "AllocationFailed (R6)",
            address=address,
            hint="move those pools to another image (or delete them) first; the image can go "
            "in the same plan once no pool uses it",
        )

    def keep_in_use(
        self, address: str, kind: Kind, image_id: str, users: Sequence[LiveResource]
    ) -> None:
        """RC513: pruning is housekeeping, so an image a pool boots from is kept, with a warning."""
        what, who = self.in_use_phrases(kind, image_id, users)
        self.diag(
            codes.IN_USE_KEPT,
            f"{what} is kept although prune is on: {who} from it, and deleting it would "
            "make their next resize fail with AllocationFailed (R6)",
            address=address,
            hint="it is pruned by a later plan once no pool boots from it; move those "
            "pools to another image to let it go",
        )

    def protect_parents_of_replacements(self) -> None:
        """A gallery or definition that must be re-created may not hold anything."""
        for rid, change in list(self.changes.items()):
            if change.action is not Action.REPLACE or change.kind not in (
                Kind.GALLERY,
                Kind.IMAGE,
            ):
                continue
            children = sorted(self.address_of(r) for r in self.live_descendants(rid))
            if not children:
                continue
            del self.changes[rid]
            self.diag(
                codes.REPLACE_HAS_CHILDREN,
                f"{_LABEL[change.kind]} {change.address} must be re-created "
                f"({', '.join(change.replace_paths)} cannot change in place) but it holds "
                f"{', '.join(children)}",
                address=change.address,
                hint="declare a new definition (a new name) with the new properties, move the "
                "pools to its versions, then remove the old one",
            )

    # -- rules needing live state ------------------------------------------------------------

    def check_accounts(self) -> None:
        """RC512: every referenced Batch account exists, in the region the spec assumed.

        Replica sizing and R9/R10 were computed for the spec's region; on another region
        a pool write would end in AllocationTimedOut, on a missing account it fails
        outright. Either way the account's pools get no change until the spec agrees.
        """
        for account in self.desired.accounts.values():
            current = self.live_by_id.get(account.id)
            if current is None:
                parts = [p for p in account.id.split("/") if p]
                self.diag(
                    codes.ACCOUNT_NOT_AS_DECLARED,
                    f"Batch account {account.name} was not found: resource group "
                    f"{parts[3]} of subscription {parts[1]} has no such account; no change "
                    "to its pools is planned",
                    address=account.address,
                    hint="check the account's name, subscription and resourceGroup (unset, "
                    "they come from defaults) and the credential's access; reconcile never "
                    "creates Batch accounts",
                )
            elif canonical_location(current.location) != account.location:
                live = canonical_location(current.location)
                self.diag(
                    codes.ACCOUNT_NOT_AS_DECLARED,
                    f"Batch account {account.name} is in {live}, but the spec places it "
                    f"in {account.location}: replica sizing and R9/R10 were computed for "
                    f"{account.location}, so no change to its pools is planned",
                    address=account.address,
                    hint=f"set location: {live} on the account (unset, it comes from "
                    "defaults.location) and plan again; writing pools on the wrong region's "
                    "numbers ends in AllocationTimedOut",
                )
            else:
                continue
            self.unsettled.add(account.id)

    def check_pool_rules(self) -> None:
        for d in self.desired.resources.values():
            if d.kind is not Kind.POOL or d.image_id is None or d.account_id is None:
                continue  # a Marketplace image has no id: R9/R10 are custom-image rules
            if not d.image_id.startswith("/subscriptions/"):
                continue  # a shared or community gallery's image: Azure shares it across
            account = self.live_by_id.get(d.account_id)
            if account is None:
                continue
            account_sub = _subscription(d.account_id)
            image_sub = _subscription(d.image_id)
            image_name = d.image_id.rsplit("/", 1)[-1]
            if "/versions/" in d.image_id:
                if image_sub != account_sub:
                    self.diag(
                        codes.GALLERY_OTHER_SUBSCRIPTION,
                        f"pool {d.name} boots image version {image_name} from subscription "
                        f"{image_sub}, but its Batch account is in {account_sub} (R9)",
                        address=d.address,
                        hint="publish the image in a gallery of the account's subscription",
                    )
                regions = self.version_regions(d.image_id)
                if regions is not None and account.location not in regions:
                    self.diag(
                        codes.NO_REPLICA_IN_ACCOUNT_REGION,
                        f"pool {d.name} boots image version {image_name}, which has no replica "
                        f"in {account.location}, the Batch account's region (R9); it has "
                        f"{', '.join(sorted(regions)) or 'none'}",
                        address=d.address,
                        hint=f"add {account.location} to the version's targetRegions",
                    )
            elif "/providers/microsoft.compute/images/" in d.image_id:
                location = self.managed_image_location(d.image_id)
                if image_sub != account_sub:
                    self.diag(
                        codes.MANAGED_IMAGE_OTHER_SUBSCRIPTION,
                        f"pool {d.name} boots managed image {image_name} from subscription "
                        f"{image_sub}, but its Batch account is in {account_sub} (R10)",
                        address=d.address,
                    )
                if location is not None and location != account.location:
                    self.diag(
                        codes.MANAGED_IMAGE_OTHER_REGION,
                        f"pool {d.name} boots managed image {image_name} in {location}, but "
                        f"its Batch account is in {account.location} (R10)",
                        address=d.address,
                        hint="build the managed image in the account's region, or move the "
                        "pool to a gallery image version replicated there",
                    )
        self.check_managed_image_limits()
        self.check_replicas_for_outside_pools()
        self.offer_published_image_prune()

    def offer_published_image_prune(self) -> None:
        """RC708: a declared managed image published as a version no pool leaves behind (R6).

        Once every pool boots the gallery version instead (after this plan), the managed
        image may go: the plan says so, and pruning does it once it leaves the spec.
        """
        published = {
            str(d.properties.get("source.managedImage", "")).lower(): d.address
            for d in self.desired.resources.values()
            if d.kind is Kind.VERSION and d.properties.get("source.managedImage")
        }
        for d in self.desired.resources.values():
            version = published.get(d.id)
            if d.kind is not Kind.MANAGED_IMAGE or version is None:
                continue
            if any(p.image_id == d.id for p in self.desired.resources.values()):
                continue
            if self.live_by_id.get(d.id) is None or self.users_after_plan(d.id):
                continue
            self.diag(
                codes.PUBLISHED_IMAGE_UNUSED,
                f"managed image {d.name} is published as {version} and no pool boots it "
                "(with this plan's changes made): it may be deleted (R6)",
                address=d.address,
                hint="remove it from the spec and plan with --prune to delete it, or keep it "
                "as the version's source record",
            )

    def check_replicas_for_outside_pools(self) -> None:
        """R1 counts every pool booting a version; pools outside the spec count too."""
        sized = {
            (row["version"], row["region"]): row
            for row in self.desired.sizing.get("replicas", ())
            if isinstance(row, Mapping)
        }
        for d in self.desired.resources.values():
            if d.kind is not Kind.VERSION:
                continue
            outside: dict[str, list[tuple[str, int]]] = {}
            for pool in self.live_pools_using(d.id):
                pid = pool.id
                change = self.changes.get(pid)
                if pid in self.desired_by_id or (change and change.action is Action.DELETE):
                    continue
                if "scale.autoScale.formula" in pool.properties:
                    continue  # its maximum is unknown outside the spec
                nodes = int_at(pool.properties, "scale.fixed.dedicated") + int_at(
                    pool.properties, "scale.fixed.lowPriority"
                )
                outside.setdefault(pool.location, []).append((self.address_of(pool), nodes))
            for region, pools in sorted(outside.items()):
                row = sized.get((d.address, region), {})
                per = int(row.get("vms_per_replica", 600) or 600)
                inside = int_at(row, "nodes")
                total = inside + sum(n for _, n in pools)
                need = max(1, -(-total // per))
                have = int_at(d.properties, f"targetRegions[{region}].replicas")
                if have >= need:
                    continue
                parts = " + ".join(f"{a} ({n:,})" for a, n in pools)
                self.diag(
                    codes.OUTSIDE_POOLS_NEED_REPLICAS,
                    f"{d.address} has {have} replica(s) in {region}, but pools outside the spec "
                    f"boot it too: spec pools ({inside:,}) + {parts} = {total:,} nodes, "
                    f"1 per {per} → {need} (R1)",
                    address=d.address,
                    hint=f"declare replicas: {need} for {region} in the version's targetRegions "
                    "(headroom is allowed), or move those pools to another version",
                )

    def version_regions(self, version_id: str) -> set[str] | None:
        declared = self.desired_by_id.get(version_id)
        props: Mapping[str, Any] | None = declared.properties if declared else None
        if props is None:
            current = self.live_by_id.get(version_id)
            props = current.properties if current else None
        if props is None:
            return None
        return {
            m.group(1) for m in (re.match(r"^targetRegions\[([^\]]+)\]", p) for p in props) if m
        }

    def managed_image_location(self, image_id: str) -> str | None:
        declared = self.desired_by_id.get(image_id)
        if declared is not None:
            return declared.location
        current = self.live_by_id.get(image_id)
        return current.location if current else None

    def check_managed_image_limits(self) -> None:
        """R4 with every pool in the read scope, not only those in the spec."""
        usage: dict[str, list[tuple[str, int, int, bool]]] = {}
        for d in self.desired.resources.values():
            if d.kind is Kind.POOL and d.image_id and "/microsoft.compute/images/" in d.image_id:
                usage.setdefault(d.image_id, []).append(
                    (
                        d.address,
                        int_at(d.properties, "scale.fixed.dedicated"),
                        int_at(d.properties, "scale.fixed.lowPriority"),
                        True,
                    )
                )
        for pool in self.live.of_kind(Kind.POOL):
            pid = pool.id
            change = self.changes.get(pid)
            if pid in self.desired_by_id or (change and change.action is Action.DELETE):
                continue
            image = pool.image_id
            if image and "/microsoft.compute/images/" in image:
                usage.setdefault(image, []).append(
                    (
                        self.address_of(pool),
                        int_at(pool.properties, "scale.fixed.dedicated"),
                        int_at(pool.properties, "scale.fixed.lowPriority"),
                        False,
                    )
                )
        for image, pools in sorted(usage.items()):
            if all(declared for *_, declared in pools):
                continue  # the spec's own rules already judged these totals
            dedicated = sum(p[1] for p in pools)
            spot = sum(p[2] for p in pools)
            if dedicated <= MANAGED_IMAGE_MAX_DEDICATED and spot <= MANAGED_IMAGE_MAX_SPOT:
                continue
            parts = " + ".join(f"{a} ({n:,})" for a, n, _, _ in pools)
            self.diag(
                codes.MANAGED_IMAGE_NODE_LIMIT,
                f"pools on managed image {image.rsplit('/', 1)[-1]} share a limit of "
                f"{MANAGED_IMAGE_MAX_DEDICATED:,} dedicated / {MANAGED_IMAGE_MAX_SPOT:,} spot "
                f"nodes (R4): dedicated {parts} = {dedicated:,}, spot {spot:,}",
                address=next((a for a, *_, declared in pools if declared), None),
                hint="move some pools to a gallery image version (no shared limit)",
            )

    # -- reasons ---------------------------------------------------------------------------

    def create_reason(self, d: DesiredResource) -> str:
        head = f"{_LABEL[d.kind]} {d.name} does not exist yet"
        notes = []
        for path, note in d.notes.items():
            region = _REGION_PATH.match(path)
            value = d.properties.get(path)
            if region:
                notes.append(f"replicas {region.group(1)} {value}: {note}")
            elif path == "scale.fixed.resizeTimeout":
                notes.append(f"resizeTimeout {value}: {note}")
            elif path == "image.publisher":
                notes.append(note)
        return head + (" (" + "; ".join(notes) + ")" if notes else "")

    def change_reason(
        self, d: DesiredResource, current: LiveResource, diff: ResourceDiff, action: Action
    ) -> str:
        if action is Action.NOOP:
            return UNCHANGED_REASON
        forcing = [p for p in diff.paths if p.path in diff.replace_paths]
        others = [p for p in diff.paths if p.path not in diff.replace_paths]
        if action is Action.REPLACE:
            whys = sorted({p.why for p in forcing if p.why})
            text = _join(phrases(forcing, d.notes))
            text += " cannot change in place" + (f" ({'; '.join(whys)})" if whys else "")
            text += _codes(forcing) + ": delete and create again"
            if others:
                text += "; also " + _join(phrases(others, d.notes))
            return text
        if action is Action.SCALE_TO_ZERO_UPDATE:
            zero = [p for p in diff.paths if p.path in diff.zero_paths]
            rest = [p for p in diff.paths if p.path not in diff.zero_paths]
            nodes = (current.current_dedicated or 0) + (current.current_low_priority or 0)
            if current.current_dedicated is None:
                nodes = int_at(current.properties, "scale.fixed.dedicated") + int_at(
                    current.properties, "scale.fixed.lowPriority"
                )
            text = _join(phrases(zero, d.notes))
            text += (
                f" changes only on a pool steady at 0 nodes{_codes(zero)}: scale {nodes:,}→0, "
                "update, then scale to the target"
            )
            if rest:
                text += "; also " + _join(phrases(rest, d.notes))
            return text
        if action is Action.UPDATE and diff.zero_paths:
            zero = [p for p in diff.paths if p.path in diff.zero_paths]
            return _join(phrases(diff.paths, d.notes)) + f" (pool is at 0 nodes){_codes(zero)}"
        return _join(phrases(diff.paths, d.notes))


def _codes(paths: Sequence[PathChange]) -> str:
    """`` [U12]``: the codes of the update rules that forced an action (docs/apply.md)."""
    codes = sorted({p.code for p in paths if p.code}, key=lambda c: (len(c), c))
    return f" [{', '.join(codes)}]" if codes else ""


_DELETE_ORDER = {
    Kind.POOL: 0,
    Kind.VERSION: 1,
    Kind.MANAGED_IMAGE: 2,
    Kind.IMAGE: 3,
    Kind.GALLERY: 4,
}


def _is_owner_mark(path: str) -> bool:
    return path in (
        f"tags.{OWNER_TAG}",
        f"tags.{OWNER_NAME_TAG}",
        f"metadata.{OWNER_METADATA_KEY}",
        f"metadata.{OWNER_NAME_METADATA_KEY}",
    )


def _at_zero(pool: LiveResource) -> bool:
    """A pool Steady with no nodes and zero targets: at-zero-nodes fields change directly.

    An autoscale pool idle at zero nodes counts too (its formula is its target): apply
    cannot scale one to zero, so this is the only way its image ever moves (R7). Should the
    formula grow it before apply writes, Azure refuses the write and apply says so.
    """
    props = pool.properties
    return (
        (pool.allocation_state or "").lower() == "steady"
        and pool.current_dedicated == 0
        and (pool.current_low_priority or 0) == 0
        and int_at(props, "scale.fixed.dedicated") == 0
        and int_at(props, "scale.fixed.lowPriority") == 0
    )


def _account_of(pool_id: str) -> str:
    """The (normalised) id of the Batch account a pool id lives under."""
    return pool_id.lower().rsplit("/pools/", 1)[0]


def _subscription(resource_id: str) -> str:
    parts = [p for p in resource_id.split("/") if p]
    return parts[1].lower() if len(parts) > 1 else ""


def _dedupe(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Drop a planner diagnostic the spec already reported for the same address."""
    seen: set[tuple[str, str | None]] = set()
    out = []
    for d in diagnostics:
        key = (d.code, d.address)
        if key in seen:
            continue
        seen.add(key)
        out.append(d)
    return out
