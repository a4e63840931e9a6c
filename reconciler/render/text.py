"""Terraform-like text view of a plan (and of drift). Pure: it decides nothing.

Destructive changes are called out before anything else, then every change in plan
order with its symbol (``+`` create, ``~`` update/resize, ``-/+`` replace, ``-/~``
scale to zero then update, ``-`` delete), its changed paths (before → after) and its
reason, then diagnostics, then one summary line. A partial plan (``--target``) says so
right under the header. Colour only when the caller says so
(the CLI decides: a TTY and no ``NO_COLOR``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.diagnostics import Diagnostic
from reconciler.plan.model import Action, Change, DriftItem, DriftKind, Plan
from reconciler.secrets import mask

_COLOURS = {
    "green": "\x1b[32m",
    "yellow": "\x1b[33m",
    "red": "\x1b[31m",
    "magenta": "\x1b[35m",
    "cyan": "\x1b[36m",
    "bold": "\x1b[1m",
    "dim": "\x1b[2m",
}
_RESET = "\x1b[0m"
_ACTION_COLOUR = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.RESIZE: "yellow",
    Action.REPLACE: "magenta",
    Action.SCALE_TO_ZERO_UPDATE: "magenta",
    Action.DELETE: "red",
    Action.WAIT: "cyan",
    Action.ADOPT: "cyan",
    Action.NOOP: "dim",
}
_VERB = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in place",
    Action.RESIZE: "will be resized",
    Action.REPLACE: "must be replaced (deleted, then created again)",
    Action.SCALE_TO_ZERO_UPDATE: "will be scaled to 0 nodes, updated, and scaled back",
    Action.DELETE: "will be deleted",
    Action.WAIT: "is waited on (Azure is still working on it)",
    Action.ADOPT: "will be adopted (only reconcile's ownership marks are written)",
    Action.NOOP: "is unchanged",
}
# Why a change is needed (`Change.cause`), as the plan labels it.
CAUSE_LABEL = {
    "spec": "spec change",
    "drift": "drift",
    "spec+drift": "spec change + drift",
    "unrecorded": "drift? no applied record",
}
SUMMARY_WORDS = (
    (Action.CREATE, "to create"),
    (Action.UPDATE, "to update"),
    (Action.RESIZE, "to resize"),
    (Action.SCALE_TO_ZERO_UPDATE, "to scale to zero and update"),
    (Action.REPLACE, "to replace"),
    (Action.DELETE, "to delete"),
)
# Counted only when the plan has some.
_OPTIONAL_WORDS = ((Action.WAIT, "to wait on"), (Action.ADOPT, "to adopt"))


class _Paint:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, *styles: str) -> str:
        if not self.color or not styles:
            return text
        return "".join(_COLOURS[s] for s in styles) + text + _RESET


def fmt_value(value: Any) -> str:
    """A flat property value as shown (secrets masked, strings quoted)."""
    value = mask(value)
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value == "***" else f'"{value}"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(fmt_value(v) for v in value) + "]"
    return str(value)


def partial_note(plan: Plan) -> str:
    """The sentence every view of a partial plan shows."""
    return (
        f"Partial plan: only {', '.join(plan.targets)} and what they depend on; "
        "the rest of the spec is not reconciled."
    )


def summary_counts(counts: Mapping[str, int]) -> list[tuple[int, str]]:
    """(count, words) from `Plan.summary()` counts: every action of `SUMMARY_WORDS`, then
    waits and adoptions when there are any (every view counts alike)."""
    return [(counts[a.value], words) for a, words in SUMMARY_WORDS] + [
        (counts[a.value], words) for a, words in _OPTIONAL_WORDS if counts[a.value]
    ]


def summary_line(plan: Plan) -> str:
    """``Plan: 2 to create, 1 to update, … 0 to delete. 3 unchanged.``"""
    counts = plan.summary()
    parts = [f"{n} {words}" for n, words in summary_counts(counts)]
    return f"Plan: {', '.join(parts)}. {counts[Action.NOOP.value]} unchanged."


def path_lines(change: Change) -> list[tuple[str, str, str, str]]:
    """``(symbol, path, before, after)`` per changed path (all after paths for a create)."""
    before: Mapping[str, Any] = change.before or {}
    after: Mapping[str, Any] = change.after or {}
    rows = []
    paths = change.changed_paths
    if change.action is Action.DELETE:
        paths = tuple(sorted(before))
    for path in paths:
        b = before.get(path) if change.action is not Action.CREATE else None
        a = after.get(path) if change.action is not Action.DELETE else None
        symbol = "+" if b is None else "-" if a is None else "~"
        rows.append((symbol, path, fmt_value(b), fmt_value(a)))
    return rows


def _change_block(change: Change, paint: _Paint) -> list[str]:
    colour = _ACTION_COLOUR[change.action]
    head = f"  # {change.address} {_VERB[change.action]}"
    if change.step:
        head += f" (step {change.step})"
    if change.cause in CAUSE_LABEL:
        head += f" [{CAUSE_LABEL[change.cause]}]"
    lines = [paint(head, "bold"), paint(f"  {change.action.symbol} {change.address}", colour)]
    for symbol, path, before, after in path_lines(change):
        forces = "  # forces replacement" if path in change.replace_paths else ""
        if symbol == "+":
            text = f"      + {path} = {after}"
        elif symbol == "-":
            text = f"      - {path} = {before}"
        else:
            text = f"      ~ {path}: {before} → {after}"
        lines.append(paint(text, {"+": "green", "-": "red", "~": "yellow"}[symbol]) + forces)
    lines.append(f"      reason: {change.reason}")
    if change.depends_on:
        lines.append(paint(f"      after: {', '.join(change.depends_on)}", "dim"))
    return lines


def _diagnostic_lines(d: Diagnostic, paint: _Paint) -> list[str]:
    colour = "red" if d.is_error else "yellow"
    head, *rest = d.format(indent="  ").split("\n")
    return [paint(head, colour), *rest]


def _listing(heading: str, blocks: list[list[str]], empty: str) -> list[str]:
    """`heading` and each block followed by a blank line; `empty` alone when none."""
    if not blocks:
        return [empty, ""]
    return [heading, ""] + [line for block in blocks for line in (*block, "")]


def _diagnostics(plan: Plan, paint: _Paint) -> list[str]:
    if not plan.diagnostics:
        return []
    lines = ["Diagnostics:"]
    for d in plan.diagnostics:
        lines.extend(_diagnostic_lines(d, paint))
    return [*lines, ""]


def render_text(plan: Plan, *, color: bool = False) -> str:
    """The plan as people read it in a terminal or a CI log."""
    paint = _Paint(color)
    out = [f"reconcile plan for {plan.target} (spec {plan.spec_hash})", *_owner(plan), ""]
    if plan.partial:
        out += [paint(partial_note(plan), "yellow"), ""]
    destructive = plan.destructive
    if destructive:
        out.append(
            paint(f"Warning: {len(destructive)} destructive change(s) in this plan:", "red", "bold")
        )
        for c in destructive:
            out.append(paint(f"  {c.action.symbol} {c.address} ({c.action.value})", "red"))
            out.append(f"      {c.reason}")
        out.append("")
    out += _listing(
        "Changes, in the order they are applied:",
        [_change_block(change, paint) for change in plan.actionable],
        "No changes to make.",
    )
    out += _diagnostics(plan, paint)
    out.append(paint(summary_line(plan), "bold"))
    return "\n".join(out) + "\n"


def _owner(plan: Plan) -> list[str]:
    """The owner line, shown when the name was derived (explicit names are in the spec)."""
    if not plan.owner_derived or not plan.owner:
        return []
    return [
        f"Owner: {plan.owner} (the spec folder's name; set settings.owner to keep it if "
        "the folder is renamed)"
    ]


def _drift_block(item: DriftItem, paint: _Paint) -> list[str]:
    symbol = {"changed": "~", "missing": "+", "unexpected": "-"}.get(item.kind, "?")
    colour = {"~": "yellow", "+": "green", "-": "red"}.get(symbol, "bold")
    lines = [paint(f"  {symbol} {item.address} ({item.kind})", colour), f"      {item.message}"]
    before = item.before or {}
    after = item.after or {}
    for path in item.paths:
        lines.append(
            f"      ~ {path}: Azure {fmt_value(before.get(path))}, spec {fmt_value(after.get(path))}"
        )
    return lines


def _unhealthy_block(item: DriftItem, paint: _Paint) -> list[str]:
    return [paint(f"  ! {item.address}", "red"), f"      {item.message}"]


def render_drift_text(plan: Plan, *, color: bool = False) -> str:
    """Drift as a report: what differs from the spec, per resource, then what is unhealthy."""
    paint = _Paint(color)
    drifted = tuple(i for i in plan.drift if i.kind != DriftKind.UNHEALTHY.value)
    unhealthy = tuple(i for i in plan.drift if i.kind == DriftKind.UNHEALTHY.value)
    out = [f"reconcile drift for {plan.target} (spec {plan.spec_hash})", *_owner(plan), ""]
    out += _listing(
        f"{len(drifted)} resource(s) changed in Azure since reconcile applied them:",
        [_drift_block(item, paint) for item in drifted],
        "No drift: Azure matches what reconcile applied."
        if not unhealthy
        else "No field differs from what reconcile applied.",
    )
    pending = plan.pending
    if pending:
        out += [
            f"{len(pending)} spec change(s) not yet applied (not drift; "
            "`reconcile plan` shows them).",
            "",
        ]
    if unhealthy:
        # Matching fields are not health: a pool at 0 of 1,500 nodes is never "No drift".
        out += _listing(
            f"{len(unhealthy)} resource(s) are unhealthy (apply waits on, repairs or "
            "re-issues them):",
            [_unhealthy_block(item, paint) for item in unhealthy],
            "",
        )
    out += _diagnostics(plan, paint)
    counts: dict[str, int] = {"changed": 0, "missing": 0, "unexpected": 0}
    for item in drifted:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    tail = f", {len(unhealthy)} unhealthy" if unhealthy else ""
    out.append(
        paint(
            f"Drift: {counts['changed']} changed, {counts['missing']} missing, "
            f"{counts['unexpected']} unexpected{tail}.",
            "bold",
        )
    )
    return "\n".join(out) + "\n"
