"""`reconcile drift [PATH...]`: what in Azure differs from the spec, for scheduled runs.

The same plan, read as a report (`Plan.drift`): changed fields, declared resources
that are missing, owned resources that appeared. Exit 0 no drift, 2 drift, 1 error.
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
def drift(paths: tuple[str, ...], target: TargetOptions, fmt: str) -> None:
    """Report live state that differs from the specs in PATH... (default: specs/)."""
    from reconciler.render import render_drift, render_drift_markdown

    result = compute(paths, target, prune=None)
    click.echo(render_drift(result, fmt, color=use_color()), nl=False)
    append_step_summary(lambda: render_drift_markdown(result))
    if result.has_errors:
        raise SystemExit(1)
    if result.drift:
        raise SystemExit(2)
