"""`reconcile plan [PATH...]`: load the spec, read live state, show the ordered changes.

Wiring only: `reconciler.spec` loads, `reconciler.azure` reads (imported only once the
spec is valid, so a broken spec never pays for the SDK), `reconciler.plan` decides and
`reconciler.render` shows. Exit codes follow Terraform's ``-detailed-exitcode``: 0
nothing to do (or changes without the flag), 1 error, 2 changes. `drift` reuses this.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from reconciler.errors import ReconcileError

DEFAULT_PATH = "specs/"
ENV_STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


@dataclass(frozen=True, slots=True)
class TargetOptions:
    """The options every command that talks to Azure (or the sandbox) shares."""

    sandbox: str | None
    cloud: str | None
    endpoint: str | None


def target_options(fn: Any) -> Any:
    """`--sandbox`, `--cloud`, `--endpoint` (shared by plan and drift)."""
    fn = click.option(
        "--endpoint",
        default=None,
        metavar="URL",
        help="A custom ARM endpoint (Azure Stack, a proxy).",
    )(fn)
    fn = click.option(
        "--cloud",
        default=None,
        metavar="NAME",
        help="AzureCloud (default), AzureChinaCloud or AzureUSGovernment.",
    )(fn)
    fn = click.option(
        "--sandbox",
        default=None,
        metavar="PATH",
        help="Use the embedded sandbox's state file instead of Azure "
        "(default: $RECONCILE_SANDBOX when set).",
    )(fn)
    return fn


def use_color(stream: Any = None) -> bool:
    """Colour only on a terminal and never with NO_COLOR."""
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def fail(message: str, hint: str = "") -> None:
    """One clear sentence on stderr and exit 1 (no traceback)."""
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    raise SystemExit(1)


def load(paths: Sequence[str]) -> tuple[Any, tuple[Any, ...]]:
    """The resolved spec and its diagnostics; spec errors are printed and exit 1."""
    from reconciler.spec import load_spec

    result = load_spec(list(paths) or [DEFAULT_PATH])
    if result.spec is None:
        for d in result.diagnostics:
            click.echo(d.format(), err=True)
        errors = len(result.errors)
        click.echo(f"error: the spec has {errors} error(s); nothing was planned", err=True)
        raise SystemExit(1)
    return result.spec, tuple(result.diagnostics)


def make_target(options: TargetOptions) -> Any:
    from reconciler.azure.target import Target

    try:
        return Target.from_options(
            sandbox=options.sandbox, cloud=options.cloud, endpoint=options.endpoint
        )
    except (ValueError, KeyError) as exc:
        fail(str(exc).strip("'\""))


def read_live(target: Any, spec: Any) -> Any:
    """Live state for the spec's scope (the seam tests replace)."""
    from reconciler.azure.clients import AzureClients
    from reconciler.azure.read import read_live_state
    from reconciler.state.scope import scope_for

    with AzureClients(target) as clients:
        return read_live_state(clients, scope_for(spec))


def compute(paths: Sequence[str], options: TargetOptions, *, prune: bool | None) -> Any:
    """Load, read and plan; any failure is one sentence and exit 1."""
    from reconciler.plan import make_plan

    spec, diagnostics = load(paths)
    target = make_target(options)
    try:
        live = read_live(target, spec)
    except ReconcileError as exc:
        fail(exc.message, exc.hint)
    return make_plan(spec, live, target=target.describe(), prune=prune, diagnostics=diagnostics)


def append_step_summary(markdown: str) -> None:
    """Also write the Markdown to GitHub's job summary when running in Actions."""
    path = os.environ.get(ENV_STEP_SUMMARY)
    if not path:
        return
    try:
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")
    except OSError as exc:
        click.echo(f"warning: cannot write {ENV_STEP_SUMMARY} ({path}): {exc}", err=True)


@click.command("plan")
@click.argument("paths", nargs=-1, type=click.Path())
@target_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, markdown for pull-request comments.",
)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Save the plan here.")
@click.option(
    "--prune/--no-prune",
    default=None,
    help="Delete owned resources no longer in the spec (default: settings.prune).",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when nothing changes, 2 when something does, 1 on error.",
)
def plan(
    paths: tuple[str, ...],
    sandbox: str | None,
    cloud: str | None,
    endpoint: str | None,
    fmt: str,
    out: str | None,
    prune: bool | None,
    detailed_exitcode: bool,
) -> None:
    """Compare the specs in PATH... (default: specs/) with live state and show the changes."""
    from reconciler.plan import save_plan
    from reconciler.render import render, render_markdown

    result = compute(paths, TargetOptions(sandbox, cloud, endpoint), prune=prune)
    click.echo(render(result, fmt, color=use_color()), nl=False)
    append_step_summary(render_markdown(result))
    if out:
        try:
            save_plan(result, out)
        except OSError as exc:
            fail(f"cannot write the plan to {out}: {exc.strerror or exc}")
        click.echo(f"Saved the plan to {out}; apply it with `reconcile apply {out}`.", err=True)
    if result.has_errors:
        raise SystemExit(1)
    if detailed_exitcode and result.actionable:
        raise SystemExit(2)
