"""`reconcile apply [PATH...]` and `reconcile apply PLANFILE [PATH...]`: wiring, prompts, exit codes.

Two modes. With spec paths (default ``specs/``), apply plans first — reads live state
through the SDK, computes the plan, shows it and asks for confirmation. With a plan file
written by `reconcile plan --out FILE` as the first argument, it applies exactly that
plan — on the target and spec it was made from unless others are named — after
checking that it follows the plan schema, that neither the spec nor any resource the
plan observed has moved since, and that every change in it is what a fresh plan makes
now (`reconciler.commands._saved_plan`); otherwise it is refused, naming what differs.
``--target`` cuts a plan made here down to some resources (`reconciler.plan.targets`);
a partial plan is applied with a warning that the rest is not reconciled.

Everything happens under the target's apply lock; the journal of an interrupted earlier
apply is reported before re-planning. Exit 0 on success (or nothing to do), 1 on any
failure or refusal — the summary names the root cause.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from reconciler.commands import _options, _saved_plan
from reconciler.commands._options import (
    TargetOptions,
    fail,
    format_option,
    load_spec_or_exit,
    prune_option,
    target_filter_option,
    target_options,
    use_color,
)
from reconciler.errors import PlanMismatchError, ReconcileError, StalePlanError

SANDBOX_POLL_INTERVAL = 0.25  # real seconds: the sandbox's clock runs hundreds of times faster


def _echo_plan(plan: Any, fmt: str) -> None:
    """Show the plan that is about to be applied."""
    if fmt == "json":
        from reconciler.plan import plan_to_dict

        click.echo(json.dumps({"event": "plan", "plan": plan_to_dict(plan)}, default=str))
        return
    from reconciler.render import render_text

    click.echo(render_text(plan, color=use_color()), nl=False)


@click.command(name="apply")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@target_options
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
@prune_option
@target_filter_option
@format_option("text", "json")
@click.option("--auto-approve", is_flag=True, help="Apply without asking (CI).")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the journal and lock live (default: next to the sandbox file, else .reconcile/).",
)
def apply(paths: tuple[Path, ...], target: TargetOptions, **options: Any) -> None:
    """Carry out a plan against Azure (or the sandbox), in dependency order, in parallel.

    PATHS are spec files or directories (default specs/). When the first PATH is a plan
    file from `reconcile plan --out`, that exact plan is applied (on the spec and target it
    was made from unless others are given) after checking it against a fresh plan.
    """
    try:
        code = _run(paths, target, **options)  # the options `_run` declares, by name
    except StalePlanError as error:
        moved = ", ".join(error.moved)
        fail(f"{error.message} (moved: {moved})", error.hint)
    except PlanMismatchError as error:
        fail(error.message, error.hint)
    except ReconcileError as error:
        fail(error.message, error.hint)
    sys.exit(code)


def _run(
    paths: tuple[Path, ...],
    options: TargetOptions,
    *,
    parallelism: int,
    allow_disruptive: bool,
    prune: bool | None,
    fmt: str,
    auto_approve: bool,
    state_dir: Path | None,
    targets: tuple[str, ...],
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
    from reconciler.azure import AzureClients, AzureOperations
    from reconciler.plan import make_plan, plan_from_file
    from reconciler.plan.targets import select

    # The first path is read once: to tell a plan file from a spec, and for the plan itself.
    saved = None
    spec_paths = [str(p) for p in paths]
    plan_data = _saved_plan.plan_file_data(paths[0]) if paths else None
    if plan_data is not None:
        if targets:
            raise ReconcileError(
                "--target cannot be combined with a saved plan",
                hint="a saved plan keeps the targets it was made with; plan again with --target",
            )
        saved = plan_from_file(plan_data, paths[0])
        spec_paths, options = _saved_plan.inputs_for(saved, paths[0], paths[1:], options)

    target = options.target()
    spec, diagnostics = load_spec_or_exit(spec_paths, nothing="nothing was applied")
    if state_dir is None and target.sandbox is not None:
        state_dir = target.sandbox.parent
    journal_path, lock_path = default_paths(target.describe(), state_dir=state_dir)

    with ApplyLock(lock_path):
        previous = Journal.read_last_run(journal_path)
        if previous is not None and not previous.complete:
            click.echo(f"Note: {previous.describe()}", err=True)
        clients = AzureClients(target)
        try:
            # Looked up at call time: the seam tests replace is `_options.read_live`.
            live = _options.read_live(target, spec, clients=clients)
            if saved is not None:
                plan = _saved_plan.verify(
                    saved,
                    spec,
                    live,
                    diagnostics=diagnostics,
                    interrupted=previous is not None and not previous.complete,
                )
            else:
                plan = make_plan(
                    spec,
                    live,
                    target=target.describe(),
                    prune=prune,
                    diagnostics=diagnostics,
                )
                plan = select(plan, targets)
            _echo_plan(plan, fmt)
            if plan.partial:
                click.echo(_saved_plan.partial_warning(plan), err=True)
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
    if plan.partial:
        click.echo(_saved_plan.partial_warning(plan), err=True)
    return 0 if result.ok else 1
