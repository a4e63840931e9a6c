"""Saved plans (`reconcile plan --out FILE`) and the staleness check apply runs on them.

A plan file is the plan's JSON form (`reconciler.plan.serialize`) with ``kind:
reconcile-plan``, the spec hash, the target, every change (secret *references* kept,
no secret values) and what was observed per resource id (ETag, else content
fingerprint, else ``absent``). `check_stale` refuses a plan whose spec or observed
resources moved since, naming each one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcileError, StalePlanError
from reconciler.plan.desired import desired_state
from reconciler.plan.model import ABSENT, FORMAT_VERSION, Plan
from reconciler.plan.planner import observation, spec_address
from reconciler.plan.serialize import PLAN_FILE_KIND, plan_from_dict, plan_to_dict
from reconciler.state.model import Kind, LiveState


def spec_hash(spec: Any) -> str:
    """The hash a plan records for a resolved spec: SHA-256 of its canonical desired content.

    Formatting, comments and file layout do not change it; any value the plan would
    send to Azure does.
    """
    return desired_state(spec).spec_hash


def dumps_plan(plan: Plan) -> str:
    """The plan file's text (stable: sorted paths, two-space indent, trailing newline)."""
    return json.dumps(plan_to_dict(plan, for_file=True), indent=2, ensure_ascii=False) + "\n"


def save_plan(plan: Plan, path: str | Path) -> None:
    """Write `plan` to `path`."""
    Path(path).write_text(dumps_plan(plan), encoding="utf-8")


def load_plan(path: str | Path) -> Plan:
    """Read a plan file; a file that is not one (or of a newer format) is a clear error."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReconcileError(f"cannot read plan file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ReconcileError(f"{path} is not a plan file (invalid JSON: {exc.msg})") from None
    return plan_from_file(data, path)


def plan_from_file(data: Any, path: str | Path) -> Plan:
    """The plan in a plan file's parsed JSON (`path` names it in errors), as `load_plan` checks it."""
    if not isinstance(data, dict) or data.get("kind") != PLAN_FILE_KIND:
        raise ReconcileError(
            f"{path} is not a plan file",
            hint="create one with `reconcile plan --out FILE`",
        )
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise ReconcileError(
            f"{path} has plan format {version}; this reconcile reads format {FORMAT_VERSION}",
            hint="plan again with this version of reconcile",
        )
    return plan_from_dict(data)


def check_stale(plan: Plan, spec_hash: str, live: LiveState) -> None:
    """Raise `StalePlanError` when the spec or any observed resource changed since `plan`.

    `moved` names ``spec`` and the address of every resource whose ETag/fingerprint
    differs, that vanished, or that appeared where the plan saw none.
    """
    moved: list[str] = []
    details: list[str] = []
    if spec_hash != plan.spec_hash:
        moved.append("spec")
        details.append("the spec changed")
    live_by_id = {r.id: r for r in live.resources.values()}
    names = {c.resource_id.lower(): c.address for c in plan.changes}
    for resource_id, seen in sorted(plan.observed.items()):
        current = live_by_id.get(resource_id)
        now = observation(current)
        if now == seen:
            continue
        address = names.get(resource_id) or (
            current.address if current else _guess_address(resource_id)
        )
        moved.append(address)
        if seen == ABSENT:
            details.append(f"{address} appeared")
        elif current is None:
            details.append(f"{address} is gone")
        else:
            details.append(f"{address} changed")
    if moved:
        raise StalePlanError(
            "the saved plan is stale: " + "; ".join(details),
            moved=tuple(moved),
            hint="run `reconcile plan --out FILE` again and review the new plan",
        )


def _guess_address(resource_id: str) -> str:
    segment_kinds = {
        "versions": Kind.VERSION,
        "images": Kind.IMAGE,
        "galleries": Kind.GALLERY,
        "pools": Kind.POOL,
    }
    parts = resource_id.split("/")
    kind = segment_kinds.get(parts[-2] if len(parts) > 1 else "", Kind.MANAGED_IMAGE)
    if kind is Kind.IMAGE and "/galleries/" not in resource_id:
        kind = Kind.MANAGED_IMAGE
    return spec_address(kind, resource_id)
