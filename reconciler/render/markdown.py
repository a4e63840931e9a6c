"""Markdown for pull-request comments and GitHub step summaries. Pure: it decides nothing.

Header (target, spec hash), counts, a note when the plan is partial (``--target``), a warning block for destructive or disruptive
changes, one collapsible ``<details>`` per resource, a Mermaid flowchart of the
ordered changes with their dependency edges, drift in its own section, diagnostics.
The whole comment stays under GitHub's 65,536-character limit: when it would not,
the tail of the change list is summarised in one line per change (then counted only),
and the comment says so.
"""

from __future__ import annotations

from reconciler.plan.model import Action, Change, DriftItem, DriftKind, Plan
from reconciler.render.text import CAUSE_LABEL, fmt_value, partial_note, path_lines, summary_counts

GITHUB_COMMENT_LIMIT = 65_536
# Leave room for a bot's own wrapper text around the comment.
DEFAULT_LIMIT = GITHUB_COMMENT_LIMIT - 1_536
MERMAID_MAX_NODES = 60
PLAN_DRIFT_ROWS = 100

_ICON = {
    Action.CREATE: "➕",
    Action.UPDATE: "✏️",
    Action.RESIZE: "↕️",
    Action.REPLACE: "♻️",
    Action.SCALE_TO_ZERO_UPDATE: "⏬",
    Action.DELETE: "🗑️",
    Action.WAIT: "⏳",
    Action.ADOPT: "📥",
    Action.NOOP: "·",
}


def _cell(text: str) -> str:
    import html  # here, not at the top: text and JSON plans never load it (start-up time)

    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def _counts(plan: Plan) -> str:
    counts = plan.summary()
    parts = [f"**{n}** {words}" for n, words in summary_counts(counts)]
    return ", ".join(parts) + f", {counts[Action.NOOP.value]} unchanged"


def _warning(plan: Plan) -> list[str]:
    risky = plan.destructive
    if not risky:
        return []
    lines = [
        "> [!WARNING]",
        f"> This plan has {len(risky)} destructive or disruptive change(s):",
    ]
    for c in risky:
        lines.append(
            f"> - `{c.action.symbol}` `{c.address}` **{c.action.value}**: {_cell(c.reason)}"
        )
    return [*lines, ""]


def _details(change: Change) -> list[str]:
    import html

    summary = (
        f"<code>{html.escape(change.action.symbol)} {html.escape(change.id)}</code> "
        f"{_ICON[change.action]} <b>{change.action.value}</b>"
    )
    if change.cause in CAUSE_LABEL:
        summary += f" · <i>{CAUSE_LABEL[change.cause]}</i>"
    lines = [
        "<details>",
        f"<summary>{summary}</summary>",
        "",
        f"**Why:** {_cell(change.reason)}",
        "",
    ]
    rows = path_lines(change)
    if rows:
        lines += ["| | path | before | after |", "|---|---|---|---|"]
        for symbol, path, before, after in rows:
            forced = " ⚠️ forces replacement" if path in change.replace_paths else ""
            lines.append(
                f"| `{symbol}` | `{_cell(path)}`{forced} | {_cell(before)} | {_cell(after)} |"
            )
        lines.append("")
    if change.depends_on:
        lines += ["After: " + ", ".join(f"`{d}`" for d in change.depends_on), ""]
    lines += ["</details>", ""]
    return lines


def _one_line(change: Change) -> str:
    label = f" _{CAUSE_LABEL[change.cause]}_" if change.cause in CAUSE_LABEL else ""
    return (
        f"- `{change.action.symbol}` `{change.id}` **{change.action.value}**{label}: "
        f"{_cell(change.reason)}"
    )


def mermaid(plan: Plan, *, max_nodes: int = MERMAID_MAX_NODES) -> list[str]:
    """A Mermaid flowchart of the actionable changes in order, edges = dependencies."""
    changes = plan.actionable[:max_nodes]
    if not changes:
        return []
    ids = {c.id: f"c{i}" for i, c in enumerate(changes)}
    lines = ["```mermaid", "flowchart TD"]
    for i, c in enumerate(changes, 1):
        label = f"{i}. {c.action.symbol} {c.id}".replace('"', "'")
        lines.append(f'  {ids[c.id]}["{label}"]')
    for c in changes:
        for dep in c.depends_on:
            if dep in ids:
                lines.append(f"  {ids[dep]} --> {ids[c.id]}")
    styles = {
        Action.CREATE: "fill:#e6ffed,stroke:#28a745",
        Action.DELETE: "fill:#ffeef0,stroke:#d73a49",
        Action.REPLACE: "fill:#f5f0ff,stroke:#6f42c1",
        Action.SCALE_TO_ZERO_UPDATE: "fill:#f5f0ff,stroke:#6f42c1",
    }
    for c in changes:
        if c.action in styles:
            lines.append(f"  style {ids[c.id]} {styles[c.action]}")
    lines.append("```")
    if len(plan.actionable) > max_nodes:
        lines.append(
            f"_The diagram shows the first {max_nodes} of {len(plan.actionable)} changes._"
        )
    return [*lines, ""]


def _unhealthy(items: tuple[DriftItem, ...]) -> list[str]:
    """Resources whose fields match but which do not work as declared: their own section."""
    sick = [i for i in items if i.kind == DriftKind.UNHEALTHY.value]
    if not sick:
        return []
    lines = ["### Unhealthy", "", "| resource | what Azure reports |", "|---|---|"]
    lines += [f"| `{i.address}` | {_cell(i.message)} |" for i in sick]
    return [*lines, ""]


def _drift(items: tuple[DriftItem, ...], rows: int) -> list[str]:
    unhealthy = _unhealthy(items)
    items = tuple(i for i in items if i.kind != DriftKind.UNHEALTHY.value)
    fields = _drift_fields(items, min(rows, len(items)))
    if unhealthy and not items:
        # Matching fields are not health: a pool at 0 of 1,500 nodes is never "No drift".
        fields = ["### Drift", "", "No field differs from the spec.", ""]
    return fields + unhealthy


def _drift_fields(items: tuple[DriftItem, ...], rows: int) -> list[str]:
    lines = ["### Drift", ""]
    if not items:
        return [*lines, "No drift: Azure matches what reconcile applied.", ""]
    lines += ["| resource | drift | fields (Azure → spec) |", "|---|---|---|"]
    for item in items[:rows]:
        before = item.before or {}
        after = item.after or {}
        fields = "<br>".join(
            f"`{_cell(p)}`: {_cell(fmt_value(before.get(p)))} → {_cell(fmt_value(after.get(p)))}"
            for p in item.paths
        )
        lines.append(f"| `{item.address}` | {item.kind} | {fields or _cell(item.message)} |")
    if len(items) > rows:
        lines += [
            "",
            f"_… and {len(items) - rows} more drifted resource(s), summarised to stay under "
            "GitHub's comment limit; see `reconcile drift --format json`._",
        ]
    return [*lines, ""]


def _diagnostics(plan: Plan) -> list[str]:
    if not plan.diagnostics:
        return []
    lines = ["### Diagnostics", ""]
    for d in plan.diagnostics:
        icon = "❌" if d.is_error else "⚠️"
        at = f" (`{d.address}`)" if d.address else ""
        where = f"`{d.where}` " if d.where else ""
        lines.append(f"- {icon} {where}**{d.code}** {_cell(d.message)}{at}")
        if d.hint:
            lines.append(f"  - hint: {_cell(d.hint)}")
    return [*lines, ""]


def _assemble(
    plan: Plan, detailed: int, listed: int, *, drift_only: bool, drift_rows: int | None = None
) -> str:
    title = "reconcile drift" if drift_only else "reconcile plan"
    out = [
        f"## {title}: `{plan.target}`",
        "",
        f"Spec `{plan.spec_hash}` · {_counts(plan)}",
        "",
    ]
    if plan.owner_derived and plan.owner:
        out += [
            f"Owner `{plan.owner}` (the spec folder's name; set `settings.owner` to keep it "
            "if the folder is renamed)",
            "",
        ]
    if not drift_only:
        if plan.partial:
            out += ["> [!NOTE]", f"> {_cell(partial_note(plan))}", ""]
        out += _warning(plan)
        actionable = plan.actionable
        out += ["### Changes", ""]
        if not actionable:
            out += ["No changes to make.", ""]
        for change in actionable[:detailed]:
            out += _details(change)
        rest = actionable[detailed:]
        if rest:
            out.append(
                f"_Summarised to stay under GitHub's comment limit: {len(rest)} more change(s)"
                " below in one line each; the full plan is in `reconcile plan --format json`._"
            )
            out.append("")
            out += [_one_line(c) for c in rest[:listed]]
            if len(rest) > listed:
                out.append(f"- … and {len(rest) - listed} more change(s) not shown.")
            out.append("")
        if actionable:
            out += ["### Order", "", *mermaid(plan)]
    if drift_rows is None:
        # In a plan comment the changes come first: drift gets a bounded table.
        drift_rows = len(plan.drift) if drift_only else min(len(plan.drift), PLAN_DRIFT_ROWS)
    out += _drift(plan.drift, drift_rows)
    if drift_only and plan.pending:
        out += [
            f"_{len(plan.pending)} spec change(s) not yet applied (not drift; "
            "`reconcile plan` shows them)._",
            "",
        ]
    out += _diagnostics(plan)
    return "\n".join(out).rstrip("\n") + "\n"


def render_markdown(plan: Plan, *, limit: int = DEFAULT_LIMIT, drift_only: bool = False) -> str:
    """The PR comment; never longer than `limit` characters."""
    n = len(plan.actionable)
    text = _assemble(plan, n, n, drift_only=drift_only)
    if len(text) <= limit:
        return text
    # Fewest detailed entries first to find what fits, then as many as fit.
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(_assemble(plan, mid, n, drift_only=drift_only)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    text = _assemble(plan, lo, n, drift_only=drift_only)
    if len(text) <= limit:
        return text
    # Then the drift table (changes matter more in a plan comment), then the one-liners.
    rows = len(plan.drift) if drift_only else min(len(plan.drift), PLAN_DRIFT_ROWS)
    while rows > 0 and len(text) > limit:
        rows //= 2
        text = _assemble(plan, 0, n, drift_only=drift_only, drift_rows=rows)
    listed = n
    while listed > 0 and len(text) > limit:
        listed //= 2
        text = _assemble(plan, 0, listed, drift_only=drift_only, drift_rows=rows)
    if len(text) > limit:
        cut = text[: limit - 80].rsplit("\n", 1)[0]
        text = cut + "\n\n_… truncated to stay under GitHub's comment limit._\n"
    return text


def render_drift_markdown(plan: Plan, *, limit: int = DEFAULT_LIMIT) -> str:
    """Drift as Markdown (header, drift table, diagnostics)."""
    return render_markdown(plan, limit=limit, drift_only=True)
