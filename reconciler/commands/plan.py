"""`reconcile plan [PATH...]`: load the spec, read live state, show the ordered changes.

Wiring only: `reconciler.commands._options` loads the spec, builds the target and reads
live state (the SDK is imported only once the spec is valid, so a broken spec never pays
for it), `reconciler.plan` decides and `reconciler.render` shows. Exit codes follow
Terraform's ``-detailed-exitcode``: 0 nothing to do (or changes without the flag), 1
error, 2 changes. ``--out`` saves the plan with its origin (spec paths, target) so
`reconcile apply FILE` needs nothing else; ``--target`` makes a partial plan.
"""

from __future__ import annotations

import click

from reconciler.commands._options import (
    REPORT_FORMATS,
    TargetOptions,
    adopt_option,
    append_step_summary,
    compute,
    fail,
    format_option,
    prune_option,
    target_filter_option,
    target_options,
    use_color,
)
from reconciler.startup import collector_paused


@click.command("plan")
@click.argument("paths", nargs=-1, type=click.Path())
@target_options
@format_option(
    *REPORT_FORMATS,
    help="text for people, json for tools, markdown for pull-request comments.",
)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Save the plan here.")
@prune_option
@adopt_option
@target_filter_option
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when nothing changes, 2 when something does, 1 on error.",
)
def plan(
    paths: tuple[str, ...],
    target: TargetOptions,
    fmt: str,
    out: str | None,
    prune: bool | None,
    adopt: bool | None,
    detailed_exitcode: bool,
    targets: tuple[str, ...],
) -> None:
    """Compare the specs in PATH... (default: specs/) with live state and show the changes."""
    from dataclasses import replace
    from pathlib import Path

    with collector_paused():  # importing the planner and renderers: nothing to collect
        from reconciler.commands._saved_plan import origin_for
        from reconciler.plan.saved import dumps_document
        from reconciler.plan.serialize import plan_to_dict, shown_document
        from reconciler.render import render, render_markdown

    result = compute(paths, target, prune=prune, adopt=adopt, targets=targets)
    saved = None
    if out:
        # The document is built once: the file is it, the JSON shown is derived from it.
        saved = plan_to_dict(
            replace(result, origin=origin_for(paths, target.target())), for_file=True
        )
    if fmt == "json" and saved is not None:
        click.echo(dumps_document(shown_document(saved)), nl=False)
    else:
        click.echo(render(result, fmt, color=use_color()), nl=False)
    append_step_summary(lambda: render_markdown(result))
    if out and saved is not None:
        try:
            Path(out).write_text(dumps_document(saved), encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write the plan to {out}: {exc.strerror or exc}")
        click.echo(f"Saved the plan to {out}; apply it with `reconcile apply {out}`.", err=True)
    if result.has_errors:
        raise SystemExit(1)
    if detailed_exitcode and result.actionable:
        raise SystemExit(2)
