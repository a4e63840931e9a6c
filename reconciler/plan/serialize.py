"""The plan's JSON form: one shape for `--format json` and for saved plan files.

`plan_to_dict` is the contract documented by ``schemas/plan.schema.json``. Its size
follows what the plan *does*, not the size of the estate: `changes` carries the changes
with their before/after, while resources that stay as they are (no-ops) are listed in
`unchanged` by address, kind, resource id and location only (format 2; format 1 carried
before/after for every resource, ≈3 KB each), and `sizing` keeps the rows that explain
the changes. Shown plans mask every secret reference
(``***``). A saved plan (`for_file=True`) additionally keeps
the ``${env:NAME}`` *references* in `after` (a reference names a variable, it is not a
secret; apply resolves it from its own environment), records what was observed and
its `origin` (spec paths and target, so `apply PLANFILE` needs nothing else). A partial
plan (``--target``) says so in both forms: ``partial: true`` and its ``targets``; full
plans carry neither key.
Live values that may be secrets are masked by the planner before they ever reach a
`Change`, so no form carries a secret value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.diagnostics import Diagnostic, Severity, split_where
from reconciler.plan.model import (
    FORMAT_VERSION,
    UNCHANGED_REASON,
    Action,
    Change,
    DriftItem,
    Plan,
    PlanOrigin,
)
from reconciler.secrets import mask
from reconciler.state.model import Kind

PLAN_FILE_KIND = "reconcile-plan"


def _value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _props(props: Mapping[str, Any] | None, *, masked: bool) -> dict[str, Any] | None:
    if props is None:
        return None
    return {k: _value(mask(v) if masked else v) for k, v in sorted(props.items())}


def change_to_dict(change: Change, *, for_file: bool = False) -> dict[str, Any]:
    """One change as JSON."""
    out: dict[str, Any] = {
        "id": change.id,
        "address": change.address,
        "kind": change.kind.value,
        "action": change.action.value,
        "destructive": change.action.is_destructive,
        "reason": change.reason,
        "resource_id": change.resource_id,
        "location": change.location,
        "changed_paths": list(change.changed_paths),
        "replace_paths": list(change.replace_paths),
        "before": _props(change.before, masked=True),
        "after": _props(change.after, masked=not for_file),
        "depends_on": list(change.depends_on),
        "cause": change.cause,
    }
    if for_file:
        out["observed"] = change.observed
    return out


def unchanged_to_dict(change: Change) -> dict[str, Any]:
    """One no-op as JSON: what names it (a saved plan's `observed` has its observation)."""
    return {
        "address": change.address,
        "kind": change.kind.value,
        "resource_id": change.resource_id,
        "location": change.location,
    }


def drift_to_dict(item: DriftItem) -> dict[str, Any]:
    return {
        "address": item.address,
        "kind": item.kind,
        "paths": list(item.paths),
        "message": item.message,
        "before": _props(item.before, masked=True),
        "after": _props(item.after, masked=True),
    }


def diagnostic_to_dict(d: Diagnostic) -> dict[str, Any]:
    """A diagnostic as plan JSON has it: its position as one ``where`` string."""
    return {
        "code": d.code,
        "severity": d.severity.value,
        "address": d.address,
        "message": d.message,
        "hint": d.hint,
        "where": d.where,
    }


def _diagnostic(d: Mapping[str, Any]) -> Diagnostic:
    """`diagnostic_to_dict` read back: ``where`` split into file, line and column."""
    file, line, col = split_where(d.get("where"))
    return Diagnostic(
        code=d["code"],
        severity=Severity(d["severity"]),
        message=d["message"],
        hint=d.get("hint", ""),
        address=d.get("address"),
        file=file,
        line=line,
        col=col,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _sizing(plan: Plan) -> dict[str, Any]:
    """The sizing rows that explain this plan's changes (format 2), not the whole estate's.

    A replicas row is kept when its version or one of its pools has a change, a
    resize-timeout row when its pool has one; `reconcile validate --format json` shows
    every row.
    """
    changed = {c.address for c in plan.changes if c.action is not Action.NOOP}
    out: dict[str, Any] = {"replicas": [], "resize_timeouts": []}
    for key, value in plan.sizing.items():
        if key == "replicas":
            value = [
                row
                for row in value
                if row.get("version") in changed
                or any(p.get("pool") in changed for p in row.get("pools", ()))
            ]
        elif key == "resize_timeouts":
            value = [row for row in value if row.get("pool") in changed]
        out[key] = _jsonable(value)
    return out


def plan_to_dict(plan: Plan, *, for_file: bool = False) -> dict[str, Any]:
    """The plan as JSON (see module doc); keys in a stable order."""
    out: dict[str, Any] = {
        "format_version": plan.format_version,
        "target": plan.target,
        "spec_hash": plan.spec_hash,
        "prune": plan.prune,
        "adopt": plan.adopt,
        "owner": plan.owner,
        **({"partial": True, "targets": list(plan.targets)} if plan.partial else {}),
        "summary": plan.summary(),
        "changes": [
            change_to_dict(c, for_file=for_file)
            for c in plan.changes
            if c.action is not Action.NOOP
        ],
        "unchanged": [unchanged_to_dict(c) for c in plan.changes if c.action is Action.NOOP],
        "drift": [drift_to_dict(d) for d in plan.drift],
        "diagnostics": [diagnostic_to_dict(d) for d in plan.diagnostics],
        # A plan with no pools still says so: both tables are always present.
        "sizing": _sizing(plan),
    }
    if for_file:
        out = {"kind": PLAN_FILE_KIND, **out, "observed": dict(plan.observed)}
        if plan.origin is not None:
            out["origin"] = origin_to_dict(plan.origin)
    return out


def shown_document(saved: Mapping[str, Any]) -> dict[str, Any]:
    """``plan_to_dict(plan)`` derived from ``plan_to_dict(plan, for_file=True)``.

    `plan --format json --out FILE` builds the plan's document once and shows this:
    the saved plan's bookkeeping (kind, observations, origin) dropped, and the secret
    references it keeps in `after` masked.
    """
    out = {k: v for k, v in saved.items() if k not in ("kind", "observed", "origin")}
    out["changes"] = [
        {
            **{k: v for k, v in change.items() if k != "observed"},
            "after": None
            if change["after"] is None
            else {k: mask(v) for k, v in change["after"].items()},
        }
        for change in saved["changes"]
    ]
    return out


def origin_to_dict(origin: PlanOrigin) -> dict[str, Any]:
    """A saved plan's ``origin``: base, spec paths and exactly one target key."""
    out: dict[str, Any] = {"base": origin.base, "spec_paths": list(origin.spec_paths)}
    for key in ("sandbox", "endpoint", "cloud"):
        value = getattr(origin, key)
        if value is not None:
            out[key] = value
    return out


def origin_from_dict(data: Mapping[str, Any] | None) -> PlanOrigin | None:
    if data is None:
        return None
    return PlanOrigin(
        base=data["base"],
        spec_paths=tuple(data["spec_paths"]),
        sandbox=data.get("sandbox"),
        cloud=data.get("cloud"),
        endpoint=data.get("endpoint"),
    )


def _tuple_props(props: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if props is None:
        return None
    return {k: tuple(v) if isinstance(v, list) else v for k, v in props.items()}


def plan_from_dict(data: Mapping[str, Any]) -> Plan:
    """The `Plan` a (saved) JSON form describes.

    No-ops come back from `unchanged` without before/after (the file does not carry
    them), their observation from `observed`; `reconciler.plan.saved.check_matches`
    compares them in that form.
    """
    observed = data.get("observed", {})
    changes = tuple(
        Change(
            id=c["id"],
            address=c["address"],
            kind=Kind(c["kind"]),
            action=Action(c["action"]),
            resource_id=c["resource_id"],
            location=c["location"],
            reason=c["reason"],
            before=_tuple_props(c.get("before")),
            after=_tuple_props(c.get("after")),
            changed_paths=tuple(c.get("changed_paths", ())),
            replace_paths=tuple(c.get("replace_paths", ())),
            depends_on=tuple(c.get("depends_on", ())),
            observed=c.get("observed"),
            cause=c.get("cause"),
        )
        for c in data.get("changes", ())
    ) + tuple(
        Change(
            id=u["address"],
            address=u["address"],
            kind=Kind(u["kind"]),
            action=Action.NOOP,
            resource_id=u["resource_id"],
            location=u["location"],
            reason=UNCHANGED_REASON,
            observed=observed.get(u["resource_id"]),
        )
        for u in data.get("unchanged", ())
    )
    drift = tuple(
        DriftItem(
            address=d["address"],
            kind=d["kind"],
            paths=tuple(d.get("paths", ())),
            message=d.get("message", ""),
            before=_tuple_props(d.get("before")),
            after=_tuple_props(d.get("after")),
        )
        for d in data.get("drift", ())
    )
    diagnostics = tuple(_diagnostic(d) for d in data.get("diagnostics", ()))
    return Plan(
        spec_hash=data["spec_hash"],
        target=data["target"],
        changes=changes,
        drift=drift,
        diagnostics=diagnostics,
        sizing=data.get("sizing", {}),
        observed=observed,
        format_version=int(data.get("format_version", FORMAT_VERSION)),
        prune=bool(data.get("prune", False)),
        adopt=bool(data.get("adopt", False)),
        owner=str(data.get("owner", "")),
        targets=tuple(data.get("targets", ())),
        origin=origin_from_dict(data.get("origin")),
    )
