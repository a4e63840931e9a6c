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

Everything happens under the target's apply lock (`--lock-timeout` waits for it); the
journal of an interrupted earlier apply is reported before re-planning. The first SIGINT
or SIGTERM during apply says at once what is still running and lets it finish, starting
nothing new; a second stops waiting on Azure (`reconciler.apply.stop`). Exit 0 on success
(or nothing to do, or a signal after everything was done), 1 on any failure or refusal —
the summary names the root cause — and 130 / 143 when SIGINT / SIGTERM stopped it.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from reconciler.commands import _options, _saved_plan
from reconciler.commands._options import (
    TargetOptions,
    adopt_option,
    fail,
    format_option,
    load_spec_or_exit,
    make_plan_for,
    prune_option,
    target_filter_option,
    target_options,
    use_color,
)
from reconciler.errors import ReconcileError, StalePlanError

SANDBOX_POLL_INTERVAL = 0.25  # real seconds: the sandbox's clock runs hundreds of times faster
# Shells report death by signal N as 128 + N; a stopped apply says which signal stopped it.
STOP_SIGNALS = {"SIGINT": 128 + signal.SIGINT, "SIGTERM": 128 + signal.SIGTERM}


class _StoppedBeforeApply(BaseException):
    """A signal arrived before any change started: leave at once, nothing was changed.

    A BaseException, so no `except Exception` on the way out (the SDK's included) eats it.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _LockTimeout(click.ParamType):
    """A duration such as ``0s``, ``30s``, ``5m`` or ``1h``, in seconds."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | float):
            return float(value)
        from reconciler.apply.journal import parse_duration

        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


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
    help="Approve scaling pools to zero nodes where a property that changes only at zero "
    "nodes (vmSize, image, network, ...) must change.",
)
@prune_option
@adopt_option
@target_filter_option
@format_option(
    "text",
    "json",
    help="text for people; json: one JSON object per line (the plan, each event, the summary).",
)
@click.option("--auto-approve", is_flag=True, help="Apply without asking (CI).")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the journal lives (default: .reconcile/ beside the sandbox file, else "
    "$XDG_STATE_HOME/reconcile). The lock never moves with it.",
)
@click.option(
    "--lock-timeout",
    type=_LockTimeout(),
    default="0s",
    show_default=True,
    help="How long to wait for another apply on the same target to release its lock "
    "(e.g. 30s, 5m); 0s fails at once.",
)
def apply(paths: tuple[Path, ...], target: TargetOptions, **options: Any) -> None:
    """Carry out a plan against Azure (or the sandbox), in dependency order, in parallel.

    PATHS are spec files or directories (default specs/). When the first PATH is a plan
    file from `reconcile plan --out`, that exact plan is applied (on the spec and target it
    was made from unless others are given) after checking it against a fresh plan.
    """
    try:
        code = _run(paths, target, **options)  # the options `_plan_and_apply` declares, by name
    except _StoppedBeforeApply as stopped:
        click.echo(
            f"Interrupted ({stopped.name}) before any change started; nothing was changed.",
            err=True,
        )
        code = STOP_SIGNALS.get(stopped.name, 1)
    except StalePlanError as error:
        moved = ", ".join(error.moved)
        fail(f"{error.message} (moved: {moved})", error.hint)
    except ReconcileError as error:  # PlanMismatchError included
        fail(error.message, error.hint)
    sys.exit(code)


def _run(paths: tuple[Path, ...], options: TargetOptions, **settings: Any) -> int:
    """`_plan_and_apply` with SIGINT/SIGTERM turned into a stop; `settings` are its options."""
    from reconciler.apply import StopSignal

    stop = StopSignal()
    applying = threading.Event()
    with _stop_on_signals(stop, applying):
        return _plan_and_apply(paths, options, stop=stop, applying=applying, **settings)


@contextmanager
def _stop_on_signals(stop: Any, applying: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM stop the apply: at once before it starts, gracefully after."""

    def handler(signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        if not applying.is_set():
            raise _StoppedBeforeApply(name)
        _announce(stop, stop.request(name))

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _announce(stop: Any, count: int) -> None:
    """Say at once, on stderr, what stopping means now (runs inside the signal handler)."""
    running = stop.report()
    if count == 1 and running:
        lines = [
            f"Stopping ({stop.reason}): no new change will start; "
            f"{len(running)} change(s) still running will finish first:",
            *(f"  {line}" for line in running),
            "Interrupt again to stop waiting on Azure (nothing is cut off half-sent; "
            "Azure finishes what it was sent, and the next apply re-plans from live state).",
        ]
    elif count == 1:
        lines = [f"Stopping ({stop.reason}): no new change will start; nothing is running."]
    else:
        lines = [
            f"Stopping now ({stop.reason} again): no longer waiting on Azure"
            + (f" for {len(running)} change(s)" if running else "")
            + "; writing the journal and the summary."
        ]
    try:
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()
    except (OSError, RuntimeError, ValueError):
        pass  # a closed or busy stderr must not turn a stop into a crash


def _plan_and_apply(
    paths: tuple[Path, ...],
    options: TargetOptions,
    *,
    stop: Any,
    applying: threading.Event,
    parallelism: int,
    allow_disruptive: bool,
    prune: bool | None,
    adopt: bool | None,
    fmt: str,
    auto_approve: bool,
    state_dir: Path | None,
    lock_timeout: float,
    targets: tuple[str, ...],
) -> int:
    from reconciler.apply import (
        CarryStore,
        ExecutorSettings,
        Journal,
        apply_plan,
        make_progress,
        preflight,
    )
    from reconciler.azure import AzureOperations
    from reconciler.plan import plan_from_file
    from reconciler.wiring import azure_clients

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
    where = _state_paths(target, spec, state_dir)
    journal_path = where.journal

    with _held(where, lock_timeout):
        _require_writable(journal_path.parent)
        try:
            previous = Journal.read_last_run(journal_path)
        except OSError as exc:
            raise ReconcileError(
                f"cannot read the apply journal {journal_path}: {exc.strerror or exc}",
                hint="make it readable by you, or pass --state-dir another directory",
            ) from None
        if previous is not None and not previous.complete:
            click.echo(f"Note: {previous.describe()}", err=True)
        clients = azure_clients(target)
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
                plan = make_plan_for(
                    spec,
                    live,
                    target,
                    diagnostics=diagnostics,
                    prune=prune,
                    adopt=adopt,
                    targets=targets,
                )
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
            applying.set()  # from here on a signal drains instead of leaving at once
            result = apply_plan(
                plan,
                AzureOperations(clients),
                parallelism=parallelism,
                allow_disruptive=allow_disruptive,
                journal=Journal(journal_path),
                progress=make_progress(fmt),
                settings=settings,
                stop=stop,
                # Beside the journal: what a pool replacement keeps survives a crash.
                carried=CarryStore(journal_path.with_suffix(".carried")),
            )
        finally:
            clients.close()
    if plan.partial:
        click.echo(_saved_plan.partial_warning(plan), err=True)
    if result.ok:
        return 0  # a signal that came after everything was done changes nothing
    if result.interrupted and not result.failed:
        return STOP_SIGNALS.get(result.stopped_by, 1)
    return 1


def _state_paths(target: Any, spec: Any, state_dir: Path | None) -> Any:
    """Journal and lock locations, keyed by the target's identity (not its spelling)."""
    from reconciler.apply import state_for_azure, state_for_sandbox
    from reconciler.state.scope import parse_id, scope_for

    if target.sandbox is not None:
        return state_for_sandbox(target.sandbox, state_dir=state_dir)
    scope = scope_for(spec)
    subscriptions = {s for s, _ in (*scope.gallery_groups, *scope.image_groups)}
    subscriptions |= {parse_id(a).subscription for a in scope.batch_accounts}
    return state_for_azure(target.describe(), subscriptions, state_dir=state_dir)


def _require_writable(directory: Path) -> None:
    """Refuse, before anything is read or changed, a journal directory apply cannot write.

    The journal is opened for writing only once the first change is about to start;
    finding out there would end the apply with the OS's traceback instead of a sentence.
    """
    import tempfile

    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise ReconcileError(
            f"cannot write the apply journal in {directory}: {exc.strerror or exc}; "
            "nothing was changed",
            hint="pass --state-dir a directory you can write to (or leave it out for "
            "the default)",
        ) from None


@contextmanager
def _held(where: Any, timeout: float) -> Iterator[None]:
    """Hold the target's lock(s) for the block; an unusable lock file is one sentence."""
    locks = where.lock()
    try:
        locks.acquire(timeout, on_wait=lambda message: click.echo(message, err=True))
    except OSError as exc:
        raise ReconcileError(
            f"cannot take the apply lock {exc.filename or where.locks[0]}: "
            f"{exc.strerror or exc}",
            hint="check that the directory is writable by you",
        ) from None
    try:
        yield
    finally:
        locks.release()
