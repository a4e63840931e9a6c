"""The plan as plain data: a closed set of actions and the changes that carry them.

A `Plan` is what `plan` computes, `render` shows, `--out` saves and `apply` executes.
It is a value: frozen dataclasses, tuples, read-only mappings. People read `reason`;
code never branches on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from reconciler.state.model import Kind

FORMAT_VERSION = 1


class Action(StrEnum):
    """What a change does to one resource. Values are stable: JSON and plan files use them."""

    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"  # in place
    REPLACE = "replace"  # delete, then create again (same name)
    DELETE = "delete"
    RESIZE = "resize"  # pool target nodes only
    SCALE_TO_ZERO_UPDATE = "scale-to-zero-then-update"  # pool vmSize/image at 0 nodes

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "before", _freeze(self.before))
        object.__setattr__(self, "after", _freeze(self.after))


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class PlanDiagnostic:
    """A problem found while planning (or carried over from validation)."""

    code: str
    severity: Severity
    message: str
    address: str | None = None
    hint: str = ""


@dataclass(frozen=True, slots=True)
class DriftItem:
    """Live state that differs from the spec although the spec did not change."""

    address: str
    kind: str  # "changed" | "missing" | "unexpected"
    paths: tuple[str, ...] = ()
    message: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """An ordered set of changes, with what was observed and why."""

    spec_hash: str
    target: str
    changes: tuple[Change, ...] = ()
    drift: tuple[DriftItem, ...] = ()
    diagnostics: tuple[PlanDiagnostic, ...] = ()
    sizing: Mapping[str, Any] = field(default_factory=dict)
    observed: Mapping[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def actionable(self) -> tuple[Change, ...]:
        """Every change that does something (no no-ops)."""
        return tuple(c for c in self.changes if c.action is not Action.NOOP)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)

    def summary(self) -> dict[str, int]:
        """Counts per action value, every action present (zeros included)."""
        counts = {action.value: 0 for action in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        return counts
