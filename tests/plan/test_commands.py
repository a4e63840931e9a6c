"""`reconcile plan` and `reconcile drift`: output formats, exit codes, plan files, CI summaries."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.errors import CredentialError


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_plan_exit_codes_follow_detailed_exitcode(world):
    """Changes exit 0 without the flag and 2 with it; no changes exit 0 either way."""
    world("grow_replicas_before_pools")
    assert run("plan", "spec.yaml", "--sandbox", "w.sqlite").exit_code == 0
    result = run("plan", "spec.yaml", "--sandbox", "w.sqlite", "--detailed-exitcode")
    assert result.exit_code == 2
    assert (
        "Plan: 0 to create, 2 to update, 1 to resize, 0 to scale to zero and update, "
        "0 to replace, 0 to delete." in result.output
    )
    world("no_changes")
    assert run("plan", "spec.yaml", "--sandbox", "w.sqlite", "--detailed-exitcode").exit_code == 0


def test_plan_with_errors_exits_1(world):
    """A plan with error diagnostics (here: not owned) exits 1 after showing them at the spec line."""
    world("not_owned_is_reported")
    result = run("plan", "spec.yaml", "--sandbox", "w.sqlite", "--detailed-exitcode")
    assert result.exit_code == 1
    assert (
        "  spec.yaml:10:3: RC506 gallery gal exists in Azure but was not created by reconcile; "
        "it is left untouched [gallery:gal]\n" in result.output
    )
    assert (
        "  spec.yaml:34:5: RC506 pool render exists in Azure but was not created by reconcile; "
        "it is left untouched [pool:batchprodweu/render]\n" in result.output
    )


def test_plan_json_and_markdown_formats(world):
    """--format json prints the contract; --format markdown the PR comment."""
    world("split_grow_and_shrink")
    data = json.loads(run("plan", "spec.yaml", "--sandbox", "w.sqlite", "--format", "json").output)
    assert data["format_version"] == 2 and len(data["changes"]) == 4
    assert [u["address"] for u in data["unchanged"]] == [
        "gallery:gal",
        "image:gal/render",
    ]
    md = run("plan", "spec.yaml", "--sandbox", "w.sqlite", "--format", "markdown").output
    assert md.startswith("## reconcile plan")


def test_plan_out_saves_a_loadable_plan(world, tmp_path):
    """--out writes a plan file that load_plan reads back."""
    from reconciler.plan import load_plan

    world("grow_replicas_before_pools")
    out = tmp_path / "p.json"
    assert run("plan", "spec.yaml", "--sandbox", "w.sqlite", "--out", str(out)).exit_code == 0
    assert len(load_plan(out).actionable) == 3


def test_plan_appends_markdown_to_the_github_step_summary(world, tmp_path, monkeypatch):
    """With GITHUB_STEP_SUMMARY set, the Markdown is appended there too."""
    world("grow_replicas_before_pools")
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run("plan", "spec.yaml", "--sandbox", "w.sqlite")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    md = run("plan", "spec.yaml", "--sandbox", "w.sqlite", "--format", "markdown").output
    assert md.startswith("## reconcile plan")
    assert summary.read_text() == "earlier step\n" + md + "\n"


def test_spec_errors_are_diagnostics_not_tracebacks(tmp_path, monkeypatch):
    """A broken spec prints file:line diagnostics and exits 1 without reading Azure."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text(
        "apiVersion: reconcile/v1\ngalleries: [{name: 'bad name!'}]\n"
    )

    def boom(target, spec):
        raise AssertionError("must not read live state")

    monkeypatch.setattr("reconciler.commands._options.read_live", boom)
    result = CliRunner().invoke(cli, ["plan", "bad.yaml", "--sandbox", "w.sqlite"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.startswith(
        "bad.yaml:2:20: RC011 invalid value string 'bad name!' for galleries[0].name: "
    )
    assert result.output.endswith("error: the spec has 1 error(s); nothing was planned\n")


def test_credential_errors_are_one_sentence(world, monkeypatch):
    """A missing credential is one line (plus hint) and exit 1."""
    world("no_changes")

    def no_credential(target, spec):
        raise CredentialError("no Azure credential worked", hint="run `az login`")

    monkeypatch.setattr("reconciler.commands._options.read_live", no_credential)
    result = CliRunner().invoke(cli, ["plan", "spec.yaml"])
    assert result.exit_code == 1
    assert "error: no Azure credential worked\n  hint: run `az login`" in result.output
    assert "Traceback" not in result.output


def test_drift_exit_codes(world):
    """drift exits 2 and names the field when live differs, 0 when it does not."""
    world("update_in_place")
    result = run("drift", "spec.yaml", "--sandbox", "w.sqlite")
    assert result.exit_code == 2
    assert "metadata.team" in result.output and "render-ops" in result.output
    world("no_changes")
    assert run("drift", "spec.yaml", "--sandbox", "w.sqlite").exit_code == 0
    data = json.loads(run("drift", "spec.yaml", "--sandbox", "w.sqlite", "--format", "json").output)
    assert data["drift"] == []


@pytest.mark.parametrize("command", ["plan", "drift", "apply"])
def test_target_options_are_one_surface(command, world):
    """plan, drift and apply share --sandbox/--cloud/--endpoint: same help, same one-line errors."""
    world("no_changes")
    help_text = run(command, "--help").output
    assert "$RECONCILE_SANDBOX" in help_text and "AzureChinaCloud" in help_text
    both = CliRunner().invoke(
        cli, [command, "spec.yaml", "--sandbox", "w.sqlite", "--cloud", "AzureCloud"]
    )
    assert both.exit_code == 1 and "Traceback" not in both.output
    assert "error: --sandbox cannot be combined with --cloud or --endpoint" in both.output
    unknown = CliRunner().invoke(cli, [command, "spec.yaml", "--cloud", "Mars"])
    assert unknown.exit_code == 1 and "error: unknown Azure cloud 'Mars'" in unknown.output


# -- reconcile show PLANFILE ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_show_renders_a_saved_plan_as_plan_showed_it(world, tmp_path, fmt):
    """`show PLANFILE --format F` prints exactly what `plan --format F` printed."""
    world("split_grow_and_shrink")
    out = tmp_path / "p.json"
    shown = run("plan", "spec.yaml", "--sandbox", "w.sqlite", "--format", fmt, "--out", str(out))
    assert shown.exit_code == 0
    result = run("show", str(out), "--format", fmt)
    assert result.exit_code == 0
    assert result.output == shown.output.replace(
        f"Saved the plan to {out}; apply it with `reconcile apply {out}`.\n", ""
    )


def test_show_needs_no_azure_and_no_spec(world, tmp_path, monkeypatch):
    """A saved plan is shown with no live read and no spec on disk, and says it is partial."""
    world("split_grow_and_shrink")
    out = tmp_path / "p.json"
    made = run(
        "plan", "spec.yaml", "--sandbox", "w.sqlite", "--target", "pool:*", "--out", str(out)
    )
    assert made.exit_code == 0

    def no_azure(*args, **kwargs):
        raise AssertionError("show must not read live state")

    monkeypatch.setattr("reconciler.commands._options.read_live", no_azure)
    monkeypatch.chdir(tmp_path)
    result = run("show", str(out))
    assert result.exit_code == 0
    assert "Partial plan: only pool:* and what they depend on;" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "error: cannot read plan file {path}: No such file or directory\n"),
        ("{", "error: {path} is not a plan file (invalid JSON: Expecting property name"),
        (b"\xff\xfe{}", "error: {path} is not a plan file (invalid JSON: not UTF-8 text)\n"),
        ("[]", "error: {path} is not a plan file\n"),
        (
            '{"kind": "reconcile-plan", "format_version": 2}',
            "error: {path} is not a valid plan file: the document: ",
        ),
        (
            '{"kind": "reconcile-plan", "format_version": 1}',
            "error: {path} has plan format 1; this reconcile reads format 2\n",
        ),
    ],
    ids=["missing", "invalid JSON", "not UTF-8", "not a plan", "incomplete", "older format"],
)
def test_show_of_a_bad_file_is_one_clear_error(tmp_path, content, message):
    """A missing, broken or incomplete plan file is one sentence, a hint and exit 1."""
    path = tmp_path / "p.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = CliRunner().invoke(cli, ["show", str(path)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert message.format(path=path) in result.output
    assert result.output.count("error: ") == 1 and "\n  hint: " in result.output


@pytest.mark.parametrize("content", ["{}", "[]", '{"kind": "terraform-plan"}'])
def test_apply_of_a_json_file_that_is_no_plan_says_so(tmp_path, content):
    """A *.json that is neither a plan nor a spec is "not a plan file", not a spec error."""
    path = tmp_path / "p.json"
    path.write_text(content)
    result = CliRunner().invoke(cli, ["apply", str(path), "--sandbox", str(tmp_path / "w")])
    assert result.exit_code == 1
    assert result.output == (
        f'error: {path} is not a plan file (no "kind": "reconcile-plan")\n'
        "  hint: create one with `reconcile plan --out FILE`\n"
    )


def test_plan_target_is_partial_and_a_mistyped_one_is_an_error(world):
    """`plan --target` shows a partial plan; a target matching nothing exits 1 with a suggestion."""
    world("split_grow_and_shrink")
    result = run("plan", "spec.yaml", "--sandbox", "w.sqlite", "--target", "pool:batchprodweu/*")
    assert result.exit_code == 0
    assert "Partial plan: only pool:batchprodweu/* and what they depend on" in result.output
    assert "pool:batchprodeus/sim" not in result.output
    typo = CliRunner().invoke(
        cli, ["plan", "spec.yaml", "--sandbox", "w.sqlite", "--target", "pool:batchprodweu/rendr"]
    )
    assert typo.exit_code == 1
    assert "did you mean pool:batchprodweu/render" in typo.output


@pytest.mark.parametrize(
    ("fmt", "shown"),
    [
        ("text", "spec.yaml:34:5: RC303 warning: environment variable LICENSE_KEY is not set here"),
        ("json", '"code": "RC303"'),
        ("markdown", "`spec.yaml:34:5` **RC303** environment variable LICENSE_KEY is not set here"),
    ],
)
def test_unset_secret_is_a_warning_in_every_plan_format(world, monkeypatch, fmt, shown):
    """A ${env:NAME} unset where plan runs is an RC303 warning in text, JSON and Markdown; exit 0."""
    world("create_from_empty_world")
    monkeypatch.delenv("LICENSE_KEY", raising=False)
    result = run("plan", "spec.yaml", "--sandbox", "w.sqlite", "--format", fmt)
    assert result.exit_code == 0
    assert shown in result.output
    if fmt == "json":
        (warning,) = [d for d in json.loads(result.output)["diagnostics"] if d["code"] == "RC303"]
        assert warning["severity"] == "warning" and warning["where"] == "spec.yaml:34:5"
        assert "LICENSE_KEY" in warning["message"]


def test_set_secret_gives_no_warning_and_its_value_is_never_shown(world, monkeypatch):
    """With the variable exported, plan has no RC303, and the value appears nowhere."""
    world("create_from_empty_world")
    monkeypatch.setenv("LICENSE_KEY", "s3cr3t-value")
    for fmt in ("text", "json", "markdown"):
        result = run("plan", "spec.yaml", "--sandbox", "w.sqlite", "--format", fmt)
        assert "RC303" not in result.output
        assert "s3cr3t-value" not in result.output
