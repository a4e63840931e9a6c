"""The plan as plain data: a closed set of actions and the changes that carry them.

A `Plan` is what `plan` computes, `render` shows, `--out` saves and `apply` executes.
It is a value: frozen dataclasses, tuples, read-only mappings. People read `reason`;
code never branches on it.

`Plan.observed` maps the normalised resource id of everything the plan looked at
(declared or owned) to the resource's ETag, else its content fingerprint, else
``ABSENT`` when Azure had none (ids, not addresses: they are what Azure matches on);
`reconciler.plan.saved.check_stale` compares it with fresh live state.

A plan made with ``--target`` is *partial* (`Plan.targets`): only the changes of the
matching resources and what they wait for; everything else is left as it is.
`Plan.origin` (saved plans) says where the plan was made, so `apply PLANFILE` needs
no other argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from reconciler.diagnostics import Diagnostic
from reconciler.state.model import Kind

# 2: no-ops are listed in `unchanged` (address, kind, id, location), without before/after.
FORMAT_VERSION = 2
ABSENT = "absent"  # Plan.observed token for "Azure had no such resource"
UNCHANGED_REASON = "matches the spec"  # the reason of every no-op (plan files omit it)

# Steps after the first of a multi-write action (see `reconciler.plan.graph`): the
# summary counts the action once, on its first step.
CONTINUATION_STEPS = frozenset({"create-replacement", "update-at-zero", "scale-back"})


class Action(StrEnum):
    """What a change does to one resource. Values are stable: JSON and plan files use them."""

    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"  # in place
    REPLACE = "replace"  # delete, then create again (same name)
    DELETE = "delete"
    RESIZE = "resize"  # pool target nodes only
    SCALE_TO_ZERO_UPDATE = "scale-to-zero-then-update"  # pool properties changed at 0 nodes
    # Writes nothing: waits until Azure finishes what is in flight (a version replicating,
    # a pool resizing) so the changes that need it start on a settled resource.
    WAIT = "wait"
    # Writes only the ownership marks (and the applied record) on a resource that exists
    # unowned and is declared: nothing else about it changes (`--adopt`).
    ADOPT = "adopt"

    @property
    def is_destructive(self) -> bool:
        """Removes a resource (or all of a pool's nodes) that exists now."""
        return self in (Action.DELETE, Action.REPLACE, Action.SCALE_TO_ZERO_UPDATE)

    @property
    def symbol(self) -> str:
        """Terraform-like marker used by the text and Markdown renderers."""
        return _SYMBOLS[self]


_SYMBOLS = {
    Action.NOOP: " ",
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.RESIZE: "~",
    Action.SCALE_TO_ZERO_UPDATE: "-/~",
    Action.WAIT: "..",
    Action.ADOPT: "<=",
}


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if mapping is None or isinstance(mapping, MappingProxyType):
        return mapping
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Change:
    """One step of a plan.

    `before`/`after` are flat property mappings (vocabulary of `reconciler.state.fields`);
    `after` keeps secret references (``${env:NAME}``) unresolved. `depends_on` lists the
    ids of changes that must finish first; apply starts this change the moment they have.
    `observed` is the ETag (or content fingerprint) of the live resource the plan saw.
    `cause` says why it is needed, from the resource's applied record
    (`reconciler.plan.applied`): ``spec`` (a spec change not yet applied), ``drift``
    (Azure changed behind the tool's back), ``spec+drift``, ``unrecorded`` (no record:
    counted as drift); None where no difference is behind it (a no-op).
    """

    id: str
    address: str
    kind: Kind
    action: Action
    resource_id: str
    location: str
    reason: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    changed_paths: tuple[str, ...] = ()
    replace_paths: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    observed: str | None = None
    cause: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "before", _freeze(self.before))
        object.__setattr__(self, "after", _freeze(self.after))

    @property
    def step(self) -> str:
        """The step name for one of several steps of a resource (``scale-down``), else ""."""
        return self.id.split("#", 1)[1] if "#" in self.id else ""


class DriftKind(StrEnum):
    """How live state departs from the spec."""

    CHANGED = "changed"  # exists and owned, but fields differ
    MISSING = "missing"  # declared, not in Azure
    UNEXPECTED = "unexpected"  # owned by the tool, in Azure, no longer declared
    UNHEALTHY = "unhealthy"  # matches the spec on paper, but is not working as declared


@dataclass(frozen=True, slots=True)
class DriftItem:
    """Live state that differs from what apply last wrote although the spec did not change.

    Only `changed` items are made since applied records exist: a declared resource not in
    Azure is a pending create, an owned one the spec dropped a pending delete.

    `before` is what Azure reports and `after` what the spec wants, for `paths` only
    (secret values masked), so a drift report names the field and both values.
    """

    address: str
    kind: str  # a DriftKind value
    paths: tuple[str, ...] = ()
    message: str = ""
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "before", _freeze(self.before))
        object.__setattr__(self, "after", _freeze(self.after))


@dataclass(frozen=True, slots=True)
class PlanOrigin:
    """Where a saved plan was made: enough for `reconcile apply PLANFILE` to find it all again.

    `spec_paths` are relative to `base` (the absolute directory `plan --out` ran in), so a
    checkout elsewhere finds them relative to its own working directory and any other
    directory finds them under `base`. The target is one of `sandbox` (the real path of
    the state file: its canonical identity, however it was spelled), `endpoint` (a custom
    ARM endpoint) or `cloud` (a named Azure cloud).
    """

    base: str
    spec_paths: tuple[str, ...]
    sandbox: str | None = None
    cloud: str | None = None
    endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """An ordered set of changes, with what was observed and why."""

    spec_hash: str
    target: str
    changes: tuple[Change, ...] = ()
    drift: tuple[DriftItem, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    sizing: Mapping[str, Any] = field(default_factory=dict)
    observed: Mapping[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    prune: bool = False
    adopt: bool = False  # declared resources that exist unowned are adopted (`--adopt`)
    owner: str = ""  # the spec's owner name (settings.owner, or derived)
    owner_derived: bool = False  # True when `owner` came from the spec folder's name
    targets: tuple[str, ...] = ()  # the --target patterns of a partial plan
    origin: PlanOrigin | None = None  # saved plans: where the plan was made

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizing", _freeze(self.sizing))
        object.__setattr__(self, "observed", _freeze(self.observed))

    def change(self, change_id: str) -> Change | None:
        """The change with id `change_id`, or None."""
        for change in self.changes:
            if change.id == change_id:
                return change
        return None

    @property
    def partial(self) -> bool:
        """Made with ``--target``: resources outside the targets are not reconciled."""
        return bool(self.targets)

    @property
    def destructive(self) -> tuple[Change, ...]:
        """Changes that remove something that exists now (shown first, warned about)."""
        # A multi-step change is listed once, by its first step.
        return tuple(
            c for c in self.changes if c.action.is_destructive and c.step not in CONTINUATION_STEPS
        )

    @property
    def actionable(self) -> tuple[Change, ...]:
        """Every change that does something (no no-ops)."""
        return tuple(c for c in self.changes if c.action is not Action.NOOP)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        """The diagnostics that are errors."""
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def has_errors(self) -> bool:
        """True when any diagnostic is an error (exit 1; apply refuses the plan)."""
        return bool(self.errors)

    @property
    def pending(self) -> tuple[Change, ...]:
        """Changes a spec edit asks for (cause spec or spec+drift): not drift."""
        return tuple(c for c in self.actionable if c.cause in ("spec", "spec+drift"))

    def summary(self) -> dict[str, int]:
        """Counts per action value, every action present (zeros included)."""
        counts = {action.value: 0 for action in Action}
        for change in self.changes:
            # A replacement or a scale-to-zero is several steps but one change to count.
            if change.step not in CONTINUATION_STEPS:
                counts[change.action.value] += 1
        return counts
