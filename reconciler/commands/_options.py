"""What `plan`, `drift` and `apply` share: target options, spec loading, live reads, errors.

- `target_options`: one decorator adding ``--sandbox`` (default ``$RECONCILE_SANDBOX``),
  ``--cloud`` and ``--endpoint``, handed to the command as one `TargetOptions` value;
  `sandbox_option` (the ``--sandbox`` definition, shared with `reconcile sandbox`),
  `prune_option`, `target_filter_option` (``--target``) and `format_option` for the
  other options the commands have in common.
- `load_spec_or_exit` → `TargetOptions.target` → `read_live` → `compute`: the path from
  spec files to a plan (`make_plan_for`, its last step, is shared with apply). A broken
  spec prints its diagnostics; a bad target, a missing credential or a failed read is one
  sentence (plus hint) — all exit 1, no traceback.
- `require_sandbox`: every command but `sandbox init` refuses a sandbox file that does
  not exist, so a mistyped path never becomes a new, empty world.
- `append_step_summary` copies Markdown to GitHub's job summary (rendered only then);
  `use_color`, `fail`.

Nothing here imports `azure.*` or `reconciler.azure` at module import: `--help` and a
broken spec never pay for the SDK. `read_live` is the seam tests replace.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler.errors import ReconcileError
from reconciler.startup import collector_paused

DEFAULT_PATH = "specs/"
ENV_STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


@dataclass(frozen=True, slots=True)
class TargetOptions:
    """Where a command talks to: a sandbox state file, a named cloud or an ARM endpoint."""

    sandbox: str | None = None
    cloud: str | None = None
    endpoint: str | None = None

    def target(self) -> Any:
        """The `reconciler.azure.Target`; an impossible combination is one sentence, exit 1."""
        from reconciler.azure.target import Target

        try:
            target = Target.from_options(
                sandbox=self.sandbox, cloud=self.cloud, endpoint=self.endpoint
            )
        except (ValueError, KeyError) as exc:
            fail(str(exc).strip("'\""))
        if target.sandbox is not None:
            require_sandbox(target.sandbox)
        return target


def require_sandbox(path: str | os.PathLike[str]) -> None:
    """Exit 1 unless `path` is an existing sandbox file; never create anything.

    Opening a missing SQLite file would create it (and apply its parent directories): a
    typo would silently become an empty world whose every resource reads as missing.
    """
    if not os.path.lexists(path):
        fail(
            f"no sandbox world at {path}",
            hint=f"run `reconcile sandbox init --sandbox {path}` to create one, "
            "or check the path",
        )
    if not os.path.isfile(path):
        fail(
            f"{path} is not a sandbox state file",
            hint=f"run `reconcile sandbox init --sandbox PATH` with a file path, not {path}",
        )
    problem = not_a_world(path)
    if problem:
        fail(
            f"{path} is not a sandbox state file ({problem})",
            hint="check the path; `reconcile sandbox init --sandbox PATH` creates a world "
            "in a new file",
        )


def not_a_world(path: str | os.PathLike[str]) -> str:
    """Why the existing file `path` holds no sandbox world ("" when it does, or is empty:
    SQLite makes an empty file a new database, as `mktemp` leaves one for `sandbox init`).

    Opening it as the sandbox would fail with SQLite's own traceback (a spec file, a
    plan) or write the sandbox's tables into someone else's database; here SQLite only
    reads its table list. Never through a plain `open()`: closing such a descriptor
    drops every POSIX lock this process holds on the file, including those of a world
    already open in it, and SQLite then loses writes.
    """
    import sqlite3
    from contextlib import closing

    if os.path.getsize(path) == 0:
        return ""
    try:
        with closing(sqlite3.connect(path)) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'resources'"
            ).fetchone()
    except sqlite3.Error as exc:
        if "not a database" in str(exc):
            return "it is not an SQLite database"
        return f"SQLite cannot read it: {exc}"
    return "" if found else "an SQLite database without a sandbox world in it"


def sandbox_option(help: str) -> Callable[..., Any]:
    """`--sandbox PATH` (parameter ``sandbox``, a str or None); `help` says what the default is."""
    return click.option(
        "--sandbox",
        default=None,
        type=click.Path(dir_okay=False),
        metavar="PATH",
        help=help,
    )


_TARGET_OPTIONS = (
    sandbox_option(
        help="Use the embedded sandbox's state file instead of Azure "
        "(default: $RECONCILE_SANDBOX when set)."
    ),
    click.option(
        "--cloud",
        default=None,
        metavar="NAME",
        help="AzureCloud (default), AzureChinaCloud or AzureUSGovernment.",
    ),
    click.option(
        "--endpoint",
        default=None,
        metavar="URL",
        help="A custom ARM endpoint (Azure Stack, a proxy).",
    ),
)


def target_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`--sandbox`, `--cloud`, `--endpoint`, passed to `fn` as ``target: TargetOptions``."""

    @functools.wraps(fn)
    def command(
        *args: Any, sandbox: str | None, cloud: str | None, endpoint: str | None, **kwargs: Any
    ) -> Any:
        return fn(*args, target=TargetOptions(sandbox, cloud, endpoint), **kwargs)

    # Applied last-first, so --help lists them in the order written above.
    for option in reversed(_TARGET_OPTIONS):
        command = option(command)
    return command


prune_option = click.option(
    "--prune/--no-prune",
    default=None,
    help="Delete owned resources no longer in the spec (default: settings.prune).",
)

adopt_option = click.option(
    "--adopt/--no-adopt",
    default=None,
    help="Adopt declared resources that exist without reconcile's ownership marks: write "
    "only the marks on them; other differences are shown as their own changes "
    "(default: settings.adopt).",
)


target_filter_option = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="ADDRESS",
    help="Only this resource and what it depends on (repeatable; globs like "
    "'pool:batchprodweu/*'). The plan is partial: the rest is not reconciled.",
)


REPORT_FORMATS = ("text", "json", "markdown")  # reconciler.render.FORMATS, not imported


def format_option(*choices: str, help: str | None = None) -> Callable[..., Any]:
    """`--format` (parameter ``fmt``) with `choices`, ``text`` by default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default="text",
        show_default=True,
        help=help,
    )


def use_color(stream: Any = None) -> bool:
    """Colour only on a terminal and never with NO_COLOR."""
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def fail(message: str, hint: str = "") -> NoReturn:
    """One clear sentence on stderr and exit 1 (no traceback)."""
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    raise SystemExit(1)


def load_spec_or_exit(
    paths: Sequence[str], *, nothing: str = "nothing was planned"
) -> tuple[Any, tuple[Any, ...]]:
    """The resolved spec and its diagnostics; a spec with errors prints them and exits 1.

    The diagnostics include RC303 for secret references unset in this environment, so
    plan, drift and apply all show them (as warnings: planning needs no secret value).
    """
    with collector_paused():  # importing the spec's modules: nothing to collect
        from reconciler.spec import load_spec
        from reconciler.spec.secrets import unset_references

    result = load_spec(list(paths) or [DEFAULT_PATH])
    if result.spec is None:
        for d in result.diagnostics:
            click.echo(d.format(), err=True)
        fail(f"the spec has {len(result.errors)} error(s); {nothing}")
    return result.spec, (*result.diagnostics, *unset_references(result.spec))


def read_live(target: Any, spec: Any, *, clients: Any = None) -> Any:
    """Live state for the spec's scope, through `clients` when given (the seam tests replace)."""
    with collector_paused():  # importing the SDK (and the sandbox): nothing to collect
        from reconciler.azure.read import read_live_state
        from reconciler.state.scope import scope_for
        from reconciler.wiring import azure_clients

        own = azure_clients(target) if clients is None else None
    if own is None:
        return read_live_state(clients, scope_for(spec))
    with own:
        return read_live_state(own, scope_for(spec))


def compute(
    paths: Sequence[str],
    options: TargetOptions,
    *,
    prune: bool | None,
    adopt: bool | None = None,
    targets: Sequence[str] = (),
) -> Any:
    """Load, read and plan (cut down to `targets` when given); any failure is one sentence and exit 1."""
    spec, diagnostics = load_spec_or_exit(paths)
    target = options.target()
    try:
        live = read_live(target, spec)
        return make_plan_for(
            spec,
            live,
            target,
            diagnostics=diagnostics,
            prune=prune,
            adopt=adopt,
            targets=targets,
        )
    except ReconcileError as exc:
        fail(exc.message, exc.hint)


def make_plan_for(
    spec: Any,
    live: Any,
    target: Any,
    *,
    diagnostics: Sequence[Any],
    prune: bool | None,
    adopt: bool | None,
    targets: Sequence[str],
) -> Any:
    """The plan of `spec` against `live` on `target`, cut down to `targets` when given.

    Raises `ReconcileError` when a `targets` pattern matches nothing.
    """
    from reconciler.plan import make_plan
    from reconciler.plan.targets import select

    plan = make_plan(
        spec,
        live,
        target=target.describe(),
        prune=prune,
        adopt=adopt,
        diagnostics=diagnostics,
    )
    return select(plan, targets)


def append_step_summary(markdown: Callable[[], str]) -> None:
    """Also write `markdown()` to GitHub's job summary when running in Actions.

    A callable, so the Markdown is rendered only when there is a summary to write to.
    """
    path = os.environ.get(ENV_STEP_SUMMARY)
    if not path:
        return
    text = markdown()
    try:
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    except OSError as exc:
        click.echo(f"warning: cannot write {ENV_STEP_SUMMARY} ({path}): {exc}", err=True)
