"""The `reconcile` command line: the group, its lazily loaded commands and exit codes.

Each command lives in its own module under `reconciler.commands` and is imported only
when invoked, so `reconcile validate` never pays for (or imports) the Azure SDK.
"""

from __future__ import annotations

import importlib
import sys

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
    "drift": (
        "reconciler.commands.drift",
        "drift",
        "Report live state that differs from the specs.",
    ),
    "sandbox": (
        "reconciler.commands.sandbox",
        "sandbox",
        "Run and manage the local Azure emulator.",
    ),
    "comment": (
        "reconciler.commands.comment",
        "comment",
        "Post the plan as the pull request's comment, edited in place.",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

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
    sys.exit(cli.main(prog_name="reconcile", standalone_mode=True))


if __name__ == "__main__":
    main()
