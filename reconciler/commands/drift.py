"""`reconcile drift [PATH...]`: what changed in Azure behind the tool's back, for scheduled runs.

The same plan, read as a report (`Plan.drift`): fields whose live value differs from
what apply last wrote (its applied record), or from the spec where a resource has no
record. Spec changes not yet applied (a new resource, an edited field, a resource the
spec dropped) are pending, not drift: the report counts them and `plan` shows them.
Exit 0 no drift, 2 drift, 1 error — always, as `plan --detailed-exitcode` does;
`--detailed-exitcode` is accepted so scheduled jobs can spell both commands alike.
"""

from __future__ import annotations

import click

from reconciler.commands._options import (
    REPORT_FORMATS,
    TargetOptions,
    append_step_summary,
    compute,
    format_option,
    target_options,
    use_color,
)


@click.command("drift")
@click.argument("paths", nargs=-1, type=click.Path())
@target_options
@format_option(
    *REPORT_FORMATS,
    help="text for people, json for tools, markdown for issues and job summaries.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 without drift, 2 with drift, 1 on error (drift always exits so; accepted "
    "for symmetry with plan).",
)
def drift(paths: tuple[str, ...], target: TargetOptions, fmt: str, detailed_exitcode: bool) -> None:
    """Report what changed in Azure since apply, for the specs in PATH... (default: specs/)."""
    from reconciler.render import render_drift, render_drift_markdown

    del detailed_exitcode  # the exit codes below are always the detailed ones
    result = compute(paths, target, prune=None)
    click.echo(render_drift(result, fmt, color=use_color()), nl=False)
    append_step_summary(lambda: render_drift_markdown(result))
    if result.has_errors:
        raise SystemExit(1)
    if result.drift:
        raise SystemExit(2)
