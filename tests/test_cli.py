"""The command-line surface: help, version and lazy loading."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from reconciler import __version__
from reconciler.cli import cli


def test_version_prints_the_package_version():
    """`reconcile --version` prints the installed version."""
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"reconcile, version {__version__}\n"


def test_help_lists_every_command_without_importing_them():
    """`reconcile --help` lists all commands and imports no command module or Azure SDK."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from reconciler.cli import cli\n"
        "r = CliRunner().invoke(cli, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "commands = r.output.split('Commands:\\n', 1)[1].splitlines()\n"
        "names = [line.split()[0] for line in commands if line[:3].strip() and line[:2] == '  ']\n"
        "assert names == ['validate', 'schema', 'plan', 'apply', 'show', 'drift', 'export', 'sandbox', 'migrate', 'comment'], names\n"
        "loaded = [m for m in sys.modules if m.startswith(('azure', 'reconciler.commands.'))]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "-detailed-exitcode"], "did you mean '--detailed-exitcode'?"),
        (["plan", "-out=p.json"], "did you mean '--out=p.json'?"),
        (["plan", "-o", "p.json"], "did you mean '--out'?"),
        (["apply", "-auto-approve"], "did you mean '--auto-approve'?"),
        (["apply", "-allow-disruptive"], "did you mean '--allow-disruptive'?"),
        (["drift", "-format=json"], "did you mean '--format=json'?"),
        (["validate", "-f", "json"], "did you mean '--format'?"),
        (["sandbox", "show", "-sandbox", "w.sqlite"], "did you mean '--sandbox'?"),
        (["-version"], "did you mean '--version'?"),
        (["plan", "-nonsense"], "see --help for the options"),
    ],
)
def test_single_dash_options_suggest_two_dashes(args: list[str], expected: str) -> None:
    """A Terraform-style single-dash option names the option as typed and its two-dash form."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    typed = next(a for a in args if a.startswith("-")).partition("=")[0]
    assert f"Error: No such option '{typed}': options take two dashes here; {expected}" in (
        result.output
    )


def test_unknown_short_option_keeps_clicks_message() -> None:
    """A one-letter option that matches nothing keeps click's own short message."""
    result = CliRunner().invoke(cli, ["plan", "-x"])
    assert result.exit_code == 2
    assert "Error: No such option '-x'." in result.output
