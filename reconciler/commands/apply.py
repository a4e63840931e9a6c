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
import sys
from pathlib import Path
from typing import Any

import click

from reconciler.commands import _options
from reconciler.commands._options import (
    TargetOptions,
    fail,
    format_option,
    load_spec_or_exit,
    prune_option,
    target_options,
    use_color,
)
from reconciler.errors import ReconcileError, StalePlanError

SANDBOX_POLL_INTERVAL = 0.25  # real seconds: the sandbox's clock runs hundreds of times faster


def _plan_file_data(path: Path) -> dict[str, Any] | None:
    """The parsed JSON of a saved plan (``"kind": "reconcile-plan"``), else None; specs are YAML."""
    from reconciler.plan.serialize import PLAN_FILE_KIND

    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("kind") == PLAN_FILE_KIND else None


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
    file from `reconcile plan --out`, that exact plan is applied after a staleness check.
    """
    try:
        code = _run(paths, target, **options)  # the options `_run` declares, by name
    except StalePlanError as error:
        moved = ", ".join(error.moved)
        fail(f"{error.message} (moved: {moved})", error.hint)
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
    from reconciler.plan import check_stale, make_plan, plan_from_file, spec_hash

    # The first path is read once: to tell a plan file from a spec, and for the plan itself.
    plan_file: Path | None = None
    plan_data = _plan_file_data(paths[0]) if paths else None
    if plan_data is not None:
        plan_file, paths = paths[0], paths[1:]

    target = options.target()
    spec, diagnostics = load_spec_or_exit([str(p) for p in paths], nothing="nothing was applied")
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
            if plan_file is not None:
                plan = plan_from_file(plan_data, plan_file)
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
                    diagnostics=diagnostics,
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
