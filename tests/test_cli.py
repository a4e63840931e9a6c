"""The command-line surface: help, version and lazy loading."""

import subprocess
import sys

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
        "assert names == ['validate', 'schema', 'plan', 'apply', 'drift', 'sandbox', 'comment'], names\n"
        "loaded = [m for m in sys.modules if m.startswith(('azure', 'reconciler.commands.'))]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
