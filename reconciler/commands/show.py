"""`reconcile show PLANFILE`: render a saved plan as text, JSON or Markdown, offline.

No spec, no target, no Azure: the file is read, checked against the plan schema (a
broken file is one sentence, exit 1) and shown the way `reconcile plan` showed it —
the JSON form masks secret references like `plan --format json` does.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.commands._options import REPORT_FORMATS, fail, format_option, use_color
from reconciler.errors import ReconcileError


@click.command("show")
@click.argument("plan_file", metavar="PLANFILE", type=click.Path(path_type=Path))
@format_option(
    *REPORT_FORMATS,
    help="text for people, json for tools, markdown for pull-request comments.",
)
def show(plan_file: Path, fmt: str) -> None:
    """Show the plan saved in PLANFILE by `reconcile plan --out` (no Azure access)."""
    from reconciler.commands._saved_plan import read_plan_file
    from reconciler.render import render

    try:
        plan = read_plan_file(plan_file)
    except ReconcileError as error:
        fail(error.message, error.hint)
    click.echo(render(plan, fmt, color=use_color()), nl=False)
