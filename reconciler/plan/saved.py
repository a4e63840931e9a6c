"""Saved plans (`reconcile plan --out FILE`) and the checks apply runs before trusting one.

A plan file is the plan's JSON form (`reconciler.plan.serialize`) with ``kind:
reconcile-plan``, the spec hash, the target, every change (secret *references* kept,
no secret values), what was observed per resource id (ETag, else content
fingerprint, else ``absent``) and its origin (spec paths, target).

A plan file is a text anyone can edit, so apply trusts nothing in it until:

1. `plan_from_file`: it is valid against ``schemas/plan.schema.json`` (a copy ships in
   this package) — malformed files are one sentence, never a traceback;
2. `check_stale`: neither the spec nor any observed resource moved since, naming each;
3. `check_matches`: every change in it is exactly what a fresh plan of the same spec on
   the same live state produces, and nothing that fresh plan would do is missing —
   an edited action, ``after`` value, resource id or observation is refused, naming it;
   every resource it lists as unchanged is unchanged in the fresh plan too, with the
   same id and observation (`with_fresh_unchanged` then gives apply the fresh no-ops,
   which carry the before/after a file leaves out).
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from reconciler import jsontext
from reconciler.errors import PlanMismatchError, ReconcileError, StalePlanError
from reconciler.plan.desired import desired_state
from reconciler.plan.model import ABSENT, FORMAT_VERSION, Action, Plan
from reconciler.plan.planner import observation
from reconciler.plan.serialize import (
    PLAN_FILE_KIND,
    change_to_dict,
    diagnostic_to_dict,
    plan_from_dict,
    plan_to_dict,
    unchanged_to_dict,
)
from reconciler.state.model import Kind, LiveState
from reconciler.state.scope import address_for, kind_of_id

SCHEMA_RESOURCE = "plan.schema.json"  # the same text as schemas/plan.schema.json
_MAX_SCHEMA_ERRORS = 3
# Fields of a change compared with a fresh plan: everything apply acts on or shows.
_COMPARED = (
    "kind",
    "address",
    "action",
    "resource_id",
    "location",
    "after",
    "before",
    "changed_paths",
    "replace_paths",
    "depends_on",
    "observed",
    "reason",
)


def spec_hash(spec: Any) -> str:
    """The hash a plan records for a resolved spec: SHA-256 of its canonical desired content.

    Formatting, comments and file layout do not change it; any value the plan would
    send to Azure does.
    """
    return desired_state(spec).spec_hash


def dumps_plan(plan: Plan) -> str:
    """The plan file's text (stable: sorted paths, two-space indent, trailing newline)."""
    return dumps_document(plan_to_dict(plan, for_file=True))


def dumps_document(document: Mapping[str, Any]) -> str:
    """A plan document's text, shown or saved: two-space indent, trailing newline."""
    return jsontext.dumps(document) + "\n"


def save_plan(plan: Plan, path: str | Path) -> None:
    """Write `plan` to `path`."""
    Path(path).write_text(dumps_plan(plan), encoding="utf-8")


def load_plan(path: str | Path) -> Plan:
    """Read a plan file; a file that is not one (or of a newer format) is a clear error."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReconcileError(
            f"cannot read plan file {path}: {exc.strerror or exc}",
            hint="check the path; `reconcile plan --out FILE` writes one",
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise ReconcileError(
            f"{path} is not a plan file (invalid JSON: {detail})",
            hint="create one with `reconcile plan --out FILE`",
        ) from None
    return plan_from_file(data, path)


def plan_from_file(data: Any, path: str | Path) -> Plan:
    """The plan in a plan file's parsed JSON (`path` names it in errors), as `load_plan` checks it.

    A file that does not follow the schema is refused with its first few problems named.
    """
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
    problems = schema_problems(data)
    if problems:
        raise ReconcileError(
            f"{path} is not a valid plan file: " + "; ".join(problems),
            hint="plan files are written by `reconcile plan --out FILE` and must not be "
            "edited; make a new one",
        )
    return plan_from_dict(data)


@functools.cache
def _validator() -> Any:
    import jsonschema  # a runtime dependency, imported only when a plan file is read

    text = resources.files("reconciler.plan").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "the document"


def schema_problems(data: Any) -> list[str]:
    """Up to three ``where: what`` problems of `data` against the plan schema (none: valid)."""
    import jsonschema

    problems = []
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.path)))
    for error in errors[:_MAX_SCHEMA_ERRORS]:
        # For oneOf/anyOf the most relevant sub-error says more than "not valid under any".
        best = jsonschema.exceptions.best_match(error.context) if error.context else error
        where = _where(best.absolute_path if best is not None else error.absolute_path)
        problems.append(f"{where}: {(best or error).message}")
    if len(errors) > _MAX_SCHEMA_ERRORS:
        problems.append(f"and {len(errors) - _MAX_SCHEMA_ERRORS} more")
    return problems


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


def check_matches(saved: Plan, fresh: Plan) -> None:
    """Raise `PlanMismatchError` unless `saved` is exactly what `fresh` plans now.

    `fresh` is a plan of the same spec on fresh live state, with the saved plan's prune
    setting and targets. Compared: each change's fields that apply acts on or shows
    (`_COMPARED`), the set of changes (none added, dropped or duplicated), the resources
    observed, and the error diagnostics (apply refuses a plan with errors). Run after
    `check_stale`, so a difference here is an edit of the file, not a moved world.
    """
    differing: list[str] = []
    saved_ids = [c.id for c in saved.changes]
    repeats = Counter(saved_ids)
    for change_id in sorted(i for i, n in repeats.items() if n > 1):
        differing.append(f"{change_id} appears more than once")
    now = {c.id: c for c in fresh.changes}
    for change in saved.changes:
        current = now.get(change.id)
        if current is None:
            differing.append(f"{change.id} ({change.action.value}) is not in a fresh plan")
            continue
        if Action.NOOP in (change.action, current.action):
            # A file lists a no-op by what names it and what was observed (format 2):
            # that is what can be edited, so that is what is compared.
            mine = {
                **unchanged_to_dict(change),
                "action": change.action,
                "observed": change.observed,
            }
            theirs = {
                **unchanged_to_dict(current),
                "action": current.action,
                "observed": current.observed,
            }
            fields = [f for f in mine if mine[f] != theirs[f]]
            if change.observed is None and "observed" in fields:
                fields.remove("observed")  # not in `observed` at all: reported once, below
        else:
            mine = change_to_dict(change, for_file=True)
            theirs = change_to_dict(current, for_file=True)
            fields = [f for f in _COMPARED if mine[f] != theirs[f]]
        if "action" in fields:
            differing.append(
                f"{change.id}: the plan says {change.action.value}, "
                f"a fresh plan says {current.action.value}"
            )
        elif fields:
            differing.append(f"{change.id}: {', '.join(fields)} differ from a fresh plan")
    listed = set(saved_ids)
    missing = [c for c in fresh.actionable if c.id not in listed]
    differing.extend(f"{c.id} ({c.action.value}) is missing from the plan" for c in missing)
    if set(saved.observed) != set(fresh.observed):
        differing.append("the resources it observed are not the ones a fresh plan observes")
    if _errors(saved) != _errors(fresh):
        differing.append("its error diagnostics are not a fresh plan's")
    if differing:
        raise PlanMismatchError(
            "the saved plan is not what the spec and live state produce now: "
            + "; ".join(differing),
            differing=tuple(differing),
            hint="the file was edited after `reconcile plan --out`; make a new plan "
            "with `reconcile plan --out FILE` and review it",
        )


def with_fresh_unchanged(saved: Plan, fresh: Plan) -> Plan:
    """`saved` with its no-ops taken from `fresh`, once `check_matches` found them equal.

    A plan file lists no-ops without before/after; apply's own checks (R6: an image
    outlives the pools that keep booting it) read the pools' images from them.
    """
    now = {c.id: c for c in fresh.changes if c.action is Action.NOOP}
    return replace(
        saved,
        changes=tuple(now.get(c.id, c) if c.action is Action.NOOP else c for c in saved.changes),
    )


def _errors(plan: Plan) -> list[Mapping[str, Any]]:
    return sorted(
        (diagnostic_to_dict(d) for d in plan.errors),
        key=lambda d: (d["code"], d["address"] or "", d["message"]),
    )


def _guess_address(resource_id: str) -> str:
    """The address of an observed resource the plan has no record of, from its id."""
    return address_for(kind_of_id(resource_id) or Kind.MANAGED_IMAGE, resource_id)
