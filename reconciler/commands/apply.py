"""`reconcile apply [PATH...]` and `reconcile apply PLANFILE [PATH...]`: wiring, prompts, exit codes.

Two modes. With spec paths (default ``specs/``), apply plans first — reads live state
through the SDK, computes the plan, shows it and asks for confirmation. With a plan file
written by `reconcile plan --out FILE` as the first argument, it applies exactly that
plan after checking that neither the spec (the remaining paths, default ``specs/``) nor
any resource the plan observed has moved since; a stale plan is refused, naming what moved.

Everything happens under the target's apply lock; the journal of an interrupted earlier
apply is reported before re-planning. Exit 0 on success (or nothing to do), 1 on any
failure or refusal — the summary names the root cause.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from reconciler.errors import ReconcileError, StalePlanError

DEFAULT_PATH = "specs/"
SANDBOX_POLL_INTERVAL = 0.25  # real seconds: the sandbox's clock runs hundreds of times faster


def _is_plan_file(path: Path) -> bool:
    """A saved plan is JSON with ``"kind": "reconcile-plan"``; specs are YAML."""
    if not path.is_file():
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and data.get("kind") == "reconcile-plan"


def _fail(message: str, hint: str = "") -> None:
    click.echo(f"Error: {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    sys.exit(1)


def _use_color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _echo_plan(plan: Any, fmt: str) -> None:
    """Show the plan that is about to be applied (the planner's renderers, when present)."""
    if fmt == "json":
        from reconciler.plan import plan_to_dict

        click.echo(json.dumps({"event": "plan", "plan": plan_to_dict(plan)}, default=str))
        return
    try:
        from reconciler.render import render_text
    except ImportError:  # renderers not installed: a compact list does
        click.echo(f"Plan for {plan.target}:")
        for change in plan.actionable:
            click.echo(f"  {change.action.symbol:>3} {change.address}  ({change.reason})")
        if not plan.actionable:
            click.echo("No changes. Live state matches the spec.")
        return
    click.echo(render_text(plan, color=_use_color()), nl=False)


@click.command(name="apply")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--sandbox",
    "sandbox_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Apply to the sandbox in this state file (env RECONCILE_SANDBOX).",
)
@click.option("--cloud", default=None, help="Azure cloud name (default AzureCloud).")
@click.option("--endpoint", default=None, help="Custom ARM endpoint (Azure Stack, tests).")
@click.option(
    "--parallelism",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="Most changes in flight at once.",
)
@click.option(
    "--allow-disruptive",
    is_flag=True,
    help="Approve scaling pools to zero nodes where vmSize/image must change.",
)
@click.option(
    "--prune/--no-prune",
    default=None,
    help="Delete owned resources the spec no longer declares (default: the spec's setting).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--auto-approve", is_flag=True, help="Apply without asking (CI).")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the journal and lock live (default: next to the sandbox file, else .reconcile/).",
)
def apply(
    paths: tuple[Path, ...],
    sandbox_path: Path | None,
    cloud: str | None,
    endpoint: str | None,
    parallelism: int,
    allow_disruptive: bool,
    prune: bool | None,
    fmt: str,
    auto_approve: bool,
    state_dir: Path | None,
) -> None:
    """Carry out a plan against Azure (or the sandbox), in dependency order, in parallel.

    PATHS are spec files or directories (default specs/). When the first PATH is a plan
    file from `reconcile plan --out`, that exact plan is applied after a staleness check.
    """
    try:
        code = _run(
            paths,
            sandbox_path=sandbox_path,
            cloud=cloud,
            endpoint=endpoint,
            parallelism=parallelism,
            allow_disruptive=allow_disruptive,
            prune=prune,
            fmt=fmt,
            auto_approve=auto_approve,
            state_dir=state_dir,
        )
    except StalePlanError as error:
        moved = ", ".join(error.moved)
        _fail(f"{error.message} (moved: {moved})", error.hint)
    except ReconcileError as error:
        _fail(error.message, error.hint)
    sys.exit(code)


def _run(
    paths: tuple[Path, ...],
    *,
    sandbox_path: Path | None,
    cloud: str | None,
    endpoint: str | None,
    parallelism: int,
    allow_disruptive: bool,
    prune: bool | None,
    fmt: str,
    auto_approve: bool,
    state_dir: Path | None,
) -> int:
    from reconciler.apply import (
        ApplyLock,
        ExecutorSettings,
        Journal,
        apply_plan,
        default_paths,
        make_progress,
        preflight,
    )
    from reconciler.azure import AzureClients, AzureOperations, Target, read_live_state
    from reconciler.plan import check_stale, load_plan, make_plan, spec_hash
    from reconciler.spec import load_spec
    from reconciler.state.scope import scope_for

    plan_file: Path | None = None
    if paths and _is_plan_file(paths[0]):
        plan_file, paths = paths[0], paths[1:]
    spec_paths = [str(p) for p in paths] or [DEFAULT_PATH]

    try:
        target = Target.from_options(sandbox=sandbox_path, cloud=cloud, endpoint=endpoint)
    except ValueError as error:
        raise ReconcileError(str(error)) from None
    loaded = load_spec(spec_paths)
    errors = [d for d in loaded.diagnostics if d.severity.value == "error"]
    if loaded.spec is None or errors:
        for d in errors:
            click.echo(d.format(), err=True)
        raise ReconcileError(
            f"the spec has {len(errors)} error(s); nothing was applied",
            hint="run `reconcile validate` for details",
        )
    spec = loaded.spec
    if state_dir is None and target.sandbox is not None:
        state_dir = target.sandbox.parent
    journal_path, lock_path = default_paths(target.describe(), state_dir=state_dir)

    with ApplyLock(lock_path):
        previous = Journal.read_last_run(journal_path)
        if previous is not None and not previous.complete:
            click.echo(f"Note: {previous.describe()}", err=True)
        clients = AzureClients(target)
        try:
            live = read_live_state(clients, scope_for(spec))
            if plan_file is not None:
                plan = load_plan(plan_file)
                if plan.target != target.describe():
                    raise ReconcileError(
                        f"{plan_file} was planned for {plan.target}, not {target.describe()}",
                        hint="apply it with the same --sandbox / --cloud it was planned with",
                    )
                try:
                    check_stale(plan, spec_hash(spec), live)
                except StalePlanError as error:
                    if previous is not None and not previous.complete:
                        error.hint = (
                            "an interrupted apply changed these resources; "
                            "run `reconcile apply` with the spec to re-plan from live state"
                        )
                    raise
            else:
                plan = make_plan(
                    spec,
                    live,
                    target=target.describe(),
                    prune=prune,
                    diagnostics=loaded.diagnostics,
                )
            _echo_plan(plan, fmt)
            if not plan.actionable:
                return 0
            preflight(plan, allow_disruptive=allow_disruptive)
            if not auto_approve:
                if not sys.stdin.isatty():
                    raise ReconcileError(
                        "refusing to prompt for confirmation: stdin is not a terminal",
                        hint="pass --auto-approve to apply without confirmation (CI), "
                        "after reviewing `reconcile plan`",
                    )
                if not click.confirm(
                    f"Apply {len(plan.actionable)} change(s) to {target.describe()}?",
                    default=False,
                ):
                    click.echo("Apply cancelled; nothing was changed.")
                    return 1
            settings = (
                ExecutorSettings(
                    poll_interval=SANDBOX_POLL_INTERVAL,
                    max_poll_interval=5.0,
                    progress_interval=SANDBOX_POLL_INTERVAL,
                )
                if target.is_sandbox
                else ExecutorSettings()
            )
            result = apply_plan(
                plan,
                AzureOperations(clients),
                parallelism=parallelism,
                allow_disruptive=allow_disruptive,
                journal=Journal(journal_path),
                progress=make_progress(fmt),
                settings=settings,
            )
        finally:
            clients.close()
    return 0 if result.ok else 1
