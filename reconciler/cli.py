"""The `reconcile` command line: the group, its lazily loaded commands and exit codes.

Each command lives in its own module under `reconciler.commands` and is imported only
when invoked, so `reconcile validate` never pays for (or imports) the Azure SDK.
"""

from __future__ import annotations

import importlib
import signal
import sys
from collections.abc import Sequence
from typing import Any

import click

from reconciler import __version__

# name -> (module, attribute, one-line help shown by `reconcile --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": (
        "reconciler.commands.validate",
        "validate",
        "Check specs against Batch rules and show computed sizing.",
    ),
    "schema": (
        "reconciler.commands.schema",
        "schema",
        "Write the JSON Schema of the spec to schemas/.",
    ),
    "plan": (
        "reconciler.commands.plan",
        "plan",
        "Compare specs with live Azure state and show the ordered changes.",
    ),
    "apply": (
        "reconciler.commands.apply",
        "apply",
        "Carry out a plan against Azure (or the sandbox).",
    ),
    "show": (
        "reconciler.commands.show",
        "show",
        "Show a plan saved by `reconcile plan --out` (no Azure access).",
    ),
    "drift": (
        "reconciler.commands.drift",
        "drift",
        "Report live state that differs from the specs.",
    ),
    "export": (
        "reconciler.commands.export",
        "export",
        "Write the spec of the galleries, images and pools that exist.",
    ),
    "sandbox": (
        "reconciler.commands.sandbox",
        "sandbox",
        "Run and manage the local Azure emulator.",
    ),
    "migrate": (
        "reconciler.commands.migrate",
        "migrate",
        "Move managed-image pools onto a gallery image version (writes the spec).",
    ),
    "comment": (
        "reconciler.commands.comment",
        "comment",
        "Post the plan as the pull request's comment, edited in place.",
    ),
}


_RAW_ARGS = "reconcile.raw_args"
# Not click's 2: `plan --detailed-exitcode` and `drift` exit 2 for "changes" / "drift",
# so a mistyped option in CI must not read as a finding. Every error exits 1.
USAGE_EXIT = 1
# Shells report death by signal N as 128 + N (apply's `STOP_SIGNALS` says the same).
INTERRUPTED_EXIT = 128 + signal.SIGINT


def double_dash_hint(exc: click.NoSuchOption, raw_args: Sequence[str]) -> click.UsageError:
    """Click's "No such option '-t'" for ``-target``, told to use ``--target`` instead.

    Terraform spells every option with one dash (``-out=p.json``, ``-auto-approve``);
    click reads ``-target`` as the short options ``-t -a -r …`` and names only the
    first letter. The word as typed is found again in the arguments.
    """
    name = exc.option_name
    if name.startswith("--") or not name.startswith("-"):
        return exc
    typed = next(
        (a for a in raw_args if a.startswith(name) and not a.startswith("--")),
        name,
    )
    word, eq, value = typed[1:].partition("=")
    command = exc.ctx.command if exc.ctx is not None else None
    longs = sorted(
        {
            opt
            for param in (command.params if command is not None else ())
            for opt in (*param.opts, *param.secondary_opts)
            if opt.startswith("--")
        }
    )
    wanted = f"--{word}"
    if wanted in longs:
        guesses = [wanted]
    elif len(word) == 1:
        guesses = [o for o in longs if o.startswith(wanted)]
        if not guesses:
            return exc  # a plain unknown short option: click's own message says it all
    else:
        import difflib  # only for a mistyped option: never on the way to a command

        guesses = difflib.get_close_matches(wanted, longs, n=2, cutoff=0.7)
    message = f"No such option '{typed.partition('=')[0]}': options take two dashes here"
    if guesses:
        shown = [f"'{g}{eq}{value}'" for g in guesses]
        message += f"; did you mean {' or '.join(shown)}?"
    else:
        message += "; see --help for the options"
    return click.UsageError(message, ctx=exc.ctx)


def _usage_error(exc: click.UsageError, raw_args: Sequence[str]) -> click.UsageError:
    """`exc` (with the two-dash hint for a single-dash option), exiting `USAGE_EXIT`."""
    error = double_dash_hint(exc, raw_args) if isinstance(exc, click.NoSuchOption) else exc
    # Per instance: click reads `exit_code` from the raised error, and its classes stay as
    # they are for anything else that uses click in the same process.
    error.exit_code = USAGE_EXIT  # type: ignore[misc]
    return error


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use.

    It also turns Terraform-style single-dash options (``-target``) into a hint to use
    two dashes, and makes every usage error exit `USAGE_EXIT`, for every command at once.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        raw = ctx.meta[_RAW_ARGS] = tuple(args)  # the parser consumes `args`
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise _usage_error(exc, raw) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _usage_error(exc, ctx.meta.get(_RAW_ARGS, ())) from None
        except KeyboardInterrupt:
            # Ctrl-C outside apply's own handling: the shell's code for SIGINT, as apply
            # exits, not click's "Aborted!" and 1, which CI cannot tell from a failure.
            click.echo("\nStopped by SIGINT.", err=True)
            ctx.exit(INTERRUPTED_EXIT)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr, short_help = entry
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        command.short_help = command.short_help or short_help
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help must not import every command module.
        rows = [(name, help_) for name, (_, _, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="reconcile")
def cli() -> None:
    """Reconcile Azure Batch pools and their custom images with YAML specs.

    Typical flow: `reconcile validate` locally, `reconcile plan` on every pull
    request, `reconcile apply` on merge, `reconcile drift` on a schedule.
    """


def main() -> None:
    """Console-script entry point."""
    from reconciler.startup import prepare

    prepare()  # skip imports and look-ups no command needs (start-up time)
    sys.exit(cli.main(prog_name="reconcile", standalone_mode=True))


if __name__ == "__main__":
    main()
