"""`reconcile validate [PATH...]`: diagnostics plus the computed sizing, as text or JSON.

Exit 0 when the spec has no error (warnings allowed), 1 otherwise. Plain text with
optional ANSI colour (only on a terminal and when NO_COLOR is unset); `rich` is not
imported so the command starts fast. Imports nothing from the Azure SDK.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import click

from reconciler import jsontext
from reconciler.commands._options import DEFAULT_PATH, format_option, use_color
from reconciler.diagnostics import sort_key
from reconciler.spec import LoadResult, ResolvedSpec, load_spec
from reconciler.spec.loader import gc_paused
from reconciler.spec.resolved import AutoScale
from reconciler.spec.secrets import unset_references


def with_unset_secrets(result: LoadResult) -> LoadResult:
    """`result` plus RC303 warnings for ``${env:NAME}`` unset here (validate stays exit 0)."""
    spec = result.spec or result.draft
    if spec is None:
        return result
    extra = unset_references(spec)
    if not extra:
        return result
    return replace(result, diagnostics=tuple(sorted((*result.diagnostics, *extra), key=sort_key)))


def summary(spec: ResolvedSpec | None) -> dict[str, Any]:
    """The computed numbers, JSON-ready: replicas per version/region, resize timeouts."""
    if spec is None:
        return {"replicas": [], "resizeTimeouts": [], "autoscalePools": []}
    replicas = []
    for version in spec.versions.values():
        for region, target in version.target_regions.items():
            s = target.sizing
            replicas.append(
                {
                    "address": version.address,
                    "region": region,
                    "nodes": s.nodes,
                    "pools": [
                        {"address": c.pool, "nodes": c.nodes, "how": c.how} for c in s.contributions
                    ],
                    "vmsPerReplica": s.vms_per_replica,
                    "computed": s.computed,
                    "declared": s.declared,
                    "final": s.final,
                    "explanation": s.explanation,
                }
            )
    timeouts = []
    autoscale = []
    for pool in spec.pools.values():
        if pool.resize_timeout is not None:
            r = pool.resize_timeout
            timeouts.append(
                {
                    "address": pool.address,
                    "nodes": r.nodes,
                    "managedImage": r.managed_image,
                    "computedMinutes": r.computed_minutes,
                    "declared": r.declared,
                    "final": r.final,
                    "explanation": r.explanation,
                }
            )
        elif isinstance(pool.scale, AutoScale):
            autoscale.append({"address": pool.address, "maxNodes": pool.scale.max_nodes})
    return {"replicas": replicas, "resizeTimeouts": timeouts, "autoscalePools": autoscale}


def to_json(result: LoadResult) -> dict[str, Any]:
    """The whole report as one JSON document (the contract `--format json` prints)."""
    spec = result.spec or result.draft
    return {
        "valid": result.ok,
        "files": list(result.files),
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "diagnostics": [d.to_dict() for d in result.diagnostics],
        "summary": summary(spec),
    }


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=False)]
        lines.append(indent + "  ".join([*cells, row[-1]]).rstrip())
    return lines


def render_text(result: LoadResult, *, colour: bool = False) -> str:
    """Diagnostics, then the sizing summary, then a one-line verdict."""

    def style(text: str, **kw: Any) -> str:
        return click.style(text, **kw) if colour else text

    lines: list[str] = []
    for d in result.diagnostics:
        text = d.format()
        head, _, rest = text.partition("\n")
        head = style(head, fg="red" if d.is_error else "yellow", bold=d.is_error)
        lines.append(head + ("\n" + rest if rest else ""))
    data = summary(result.spec or result.draft)
    if data["replicas"]:
        if lines:
            lines.append("")
        lines.append(style("Gallery replicas (per image version and region):", bold=True))
        rows = [("VERSION", "REGION", "REPLICAS", "WHY")]
        for r in data["replicas"]:
            rows.append((r["address"], r["region"], str(r["final"]), r["explanation"]))
        lines.extend(_table(rows))
    if data["resizeTimeouts"] or data["autoscalePools"]:
        lines.append("")
        lines.append(style("Pool resize timeouts (fixed-scale pools):", bold=True))
        rows = [("POOL", "NODES", "RESIZE", "WHY")]
        for t in data["resizeTimeouts"]:
            rows.append((t["address"], str(t["nodes"]), t["final"], t["explanation"]))
        for a in data["autoscalePools"]:
            rows.append((a["address"], f"≤{a['maxNodes']}", "-", "autoscale: no resizeTimeout"))
        lines.extend(_table(rows))
    errors, warnings = len(result.errors), len(result.warnings)
    verdict = (
        f"{'valid' if result.ok else 'invalid'}: {errors} error(s), {warnings} warning(s) "
        f"in {len(result.files)} file(s)"
    )
    if lines:
        lines.append("")
    lines.append(style(verdict, fg="green" if result.ok else "red", bold=True))
    return "\n".join(lines) + "\n"


@click.command(name="validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@format_option("text", "json", help="Output format.")
def validate(paths: tuple[str, ...], fmt: str) -> None:
    """Check specs against Batch rules and show the computed sizing.

    PATHS are spec files or directories (read recursively for *.yaml/*.yml);
    default: specs/. Exit status 0 when valid (warnings allowed), 1 on errors.
    """
    result = with_unset_secrets(load_spec(list(paths) or [DEFAULT_PATH]))
    out = sys.stdout
    with gc_paused():
        if fmt == "json":
            text = jsontext.dumps(to_json(result)) + "\n"
        else:
            text = render_text(result, colour=use_color(out))
    out.write(text)
    out.flush()
    sys.exit(0 if result.ok else 1)
