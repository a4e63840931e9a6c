"""The command-line surface: help, version and lazy loading."""

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
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
    assert result.exit_code == 1
    typed = next(a for a in args if a.startswith("-")).partition("=")[0]
    assert f"Error: No such option '{typed}': options take two dashes here; {expected}" in (
        result.output
    )


def test_unknown_short_option_keeps_clicks_message() -> None:
    """A one-letter option that matches nothing keeps click's own short message."""
    result = CliRunner().invoke(cli, ["plan", "-x"])
    assert result.exit_code == 1
    assert "Error: No such option '-x'." in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "--format", "yaml"], "Invalid value for '--format'"),
        (["plan", "--detailed-exitcode", "--bogus"], "No such option '--bogus'"),
        (["drift", "--format", "markdwn"], "Invalid value for '--format'"),
        (["drift", "--detailed-exitcode", "--bogus"], "No such option '--bogus'"),
        (["apply", "no-such-dir/"], "Path 'no-such-dir/' does not exist"),
        (["apply", "--parallelism", "0"], "Invalid value for '--parallelism'"),
        (["sandbox", "show", "--nope"], "No such option '--nope'"),
        (["nosuch"], "No such command 'nosuch'"),
    ],
)
def test_usage_errors_exit_1_never_the_findings_code_2(args: list[str], message: str) -> None:
    """A usage error exits 1, so CI never reads it as plan's "changes" or drift's "drift" (2)."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output


# Run as the console script does, then list what the process imported.
_IMPORTS_OF = (
    "import sys\n"
    "from reconciler.cli import main\n"
    "sys.argv = ['reconcile', *sys.argv[1:]]\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exit:\n"
    "    code = exit.code\n"
    "azure = sorted(m for m in sys.modules if m == 'azure' or m.startswith('azure.'))\n"
    "print('HTTPX', 'httpx' in sys.modules, file=sys.stderr)\n"
    "print('EXIT', code, 'AZURE', ','.join(azure), file=sys.stderr)\n"
)
_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class _Imported:
    """What one `reconcile` run exited with and imported."""

    exit: str
    azure: list[str]  # azure.* modules
    httpx: bool
    stderr: str


def _imports_of(argv: list[str]) -> _Imported:
    """Run `reconcile *argv` in a fresh interpreter, as the console script does."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS_OF, *argv],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("EXIT ") and lines[-2].startswith("HTTPX "), done.stderr
    code, _, azure = lines[-1].removeprefix("EXIT ").partition(" AZURE")
    modules = [m for m in azure.strip().split(",") if m]
    return _Imported(code, modules, lines[-2] == "HTTPX True", done.stderr)


def _reconcile(*args: str) -> None:
    """Run `reconcile *args` (set-up), which must exit 0."""
    done = subprocess.run(
        [sys.executable, "-m", "reconciler.cli", *args],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["validate", "specs/"],
        ["schema", "--output", "-"],
        ["show", "{plan}"],
        ["show", "{plan}", "--format", "json"],
    ],
    ids=["help", "validate", "schema", "show", "show-json"],
)
def test_offline_commands_never_import_the_azure_sdk(args: list[str], tmp_path) -> None:
    """`--help`, `validate`, `schema` and `show` run to exit 0 without importing any azure.* module."""
    plan = tmp_path / "plan.json"
    if "{plan}" in args:
        world = tmp_path / "w.sqlite"
        _reconcile("sandbox", "init", "--sandbox", str(world))
        _reconcile("plan", "specs/minimal", "--sandbox", str(world), "--out", str(plan))
    run = _imports_of([a.replace("{plan}", str(plan)) for a in args])
    assert run.exit == "0", run.stderr
    assert run.azure == []


_SUB = "00000000-0000-0000-0000-000000000001"  # the default sandbox world's subscription


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "specs/minimal", "--sandbox", "{world}"],
        ["plan", "specs/", "--sandbox", "{world}", "--format", "json"],
        ["drift", "specs/", "--sandbox", "{world}"],
        [
            "export",
            *("--subscription", _SUB, "--resource-group", "rg-images"),
            *("--resource-group", "rg-batch", "--account", "batchprodweu"),
            *("--sandbox", "{world}", "--out", "{out}"),
        ],
    ],
    ids=["plan-minimal", "plan-json", "drift", "export"],
)
def test_reads_never_import_the_generated_clients(args: list[str], tmp_path) -> None:
    """`plan`, `drift` and `export` read through azure-mgmt-core alone: no azure.mgmt.compute / azure.mgmt.batch module, and against the sandbox no httpx, is imported."""
    world = tmp_path / "w.sqlite"
    _reconcile("sandbox", "init", "--sandbox", str(world))
    argv = [a.replace("{world}", str(world)).replace("{out}", str(tmp_path / "out")) for a in args]
    run = _imports_of(argv)
    assert run.exit == "0", run.stderr  # plan and drift without --detailed-exitcode
    assert "azure.mgmt.core" in run.azure  # the read went through the SDK's ARM pipeline
    generated = [m for m in run.azure if m.startswith(("azure.mgmt.compute", "azure.mgmt.batch"))]
    assert generated == []
    # The sandbox is called in-process without an HTTP client (reconciler.azure.inprocess).
    assert run.httpx is False


def _every_command() -> list[tuple[str, click.Command]]:
    """(`reconcile …` name, command) of every command and sandbox subcommand."""
    from reconciler.cli import COMMANDS, LazyGroup

    group = cli
    assert isinstance(group, LazyGroup)
    ctx = click.Context(group)
    out: list[tuple[str, click.Command]] = []
    for name in COMMANDS:
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            out += [(f"{name} {sub}", command.commands[sub]) for sub in command.commands]
        else:
            out.append((name, command))
    return out


@pytest.mark.parametrize(("name", "command"), _every_command(), ids=lambda v: str(v))
def test_every_option_in_help_says_what_it_does(name: str, command: click.Command) -> None:
    """Each option of each command has its own help text in `--help`."""
    silent = [
        param.opts[0]
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()
    ]
    assert silent == [], f"reconcile {name}: options without help: {silent}"
