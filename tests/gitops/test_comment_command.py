"""`reconcile comment`: the saved plan as the PR's one comment, created once, then edited."""

from __future__ import annotations

import json

import pytest
import respx
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.gitops.body import COMMENT_LIMIT, marker
from reconciler.plan import Action, Change, Plan, save_plan
from reconciler.render import render_markdown
from reconciler.state.model import Kind
from tests.gitops.recorded import (
    ADO_COLLECTION,
    ADO_PR_URL,
    ADO_PROJECT,
    ADO_REPO_ID,
    GITHUB_API,
    REPO,
    ado_list,
    ado_thread,
    github_comment,
    github_error,
)

COMMENTS = f"{GITHUB_API}/repos/{REPO}/issues/7/comments"


def _plan(n: int = 2) -> Plan:
    changes = tuple(
        Change(
            id=f"pool:batchprod/p{i:05d}",
            address=f"pool:batchprod/p{i:05d}",
            kind=Kind.POOL,
            action=Action.CREATE,
            resource_id=f"/subscriptions/s/resourcegroups/rg/providers/microsoft.batch/"
            f"batchaccounts/batchprod/pools/p{i:05d}",
            location="westeurope",
            reason="the pool does not exist yet; it boots image " + "render-ubuntu " * 3,
            after={"vmSize": "standard_d8s_v5", "scale.fixed.dedicated": i},
            changed_paths=("scale.fixed.dedicated", "vmSize"),
        )
        for i in range(n)
    )
    return Plan(spec_hash="sha256:" + "ab" * 32, target="sandbox:world", changes=changes)


@pytest.fixture
def github_env(tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "pull_request": {"number": 7}}))
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_TOKEN": "ghs_token",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "1234",
        "GITHUB_API_URL": GITHUB_API,
        "TF_BUILD": "",
    }


def _invoke(args, env):
    return CliRunner().invoke(cli, ["comment", *args], env=env, catch_exceptions=False)


@respx.mock
def test_the_saved_plan_is_posted_as_marked_markdown_then_edited_on_the_next_push(
    tmp_path, github_env
):
    """First run creates the comment (marker + the plan's Markdown); the next run PATCHes it."""
    plan_file = tmp_path / "plan.json"
    save_plan(_plan(), plan_file)
    respx.get(COMMENTS).respond(200, json=[])
    create = respx.post(COMMENTS).respond(201, json=github_comment(11, "x"))
    first = _invoke([str(plan_file), "--key", "prod"], github_env)
    assert first.exit_code == 0, first.output
    assert "Created the plan comment on pull request #7" in first.output
    body = json.loads(create.calls.last.request.content)["body"]
    assert body.startswith(marker("prod") + "\n")
    assert render_markdown(_plan()) in body
    assert "https://github.com/contoso/images/actions/runs/1234" in body

    respx.get(COMMENTS).respond(200, json=[github_comment(11, body)])
    edit = respx.patch(f"{GITHUB_API}/repos/{REPO}/issues/comments/11").respond(
        200, json=github_comment(11, "y")
    )
    save_plan(_plan(3), plan_file)
    github_env["GITHUB_RUN_ID"] = "1235"
    second = _invoke([str(plan_file), "--key", "prod"], github_env)
    assert second.exit_code == 0, second.output
    assert "Updated the plan comment" in second.output
    assert create.call_count == 1
    assert "p00002" in json.loads(edit.calls.last.request.content)["body"]


@respx.mock
def test_a_plan_too_large_for_one_comment_is_summarised_under_the_limit(tmp_path, github_env):
    """Thousands of changes still make one comment below 65,536 characters."""
    plan_file = tmp_path / "plan.json"
    save_plan(_plan(3_000), plan_file)
    respx.get(COMMENTS).respond(200, json=[])
    create = respx.post(COMMENTS).respond(201, json=github_comment(11, "x"))
    assert _invoke([str(plan_file)], github_env).exit_code == 0
    body = json.loads(create.calls.last.request.content)["body"]
    assert len(body) <= COMMENT_LIMIT
    assert "Summarised to stay under GitHub's comment limit" in body


@respx.mock
def test_when_github_still_finds_the_body_too_long_it_is_folded_harder_once(tmp_path, github_env):
    """A 422 'too long' is retried once with half the limit, then succeeds."""
    markdown = tmp_path / "plan.md"
    markdown.write_text("".join(f"- line {i}\n" for i in range(20_000)))
    respx.get(COMMENTS).respond(200, json=[])
    create = respx.post(COMMENTS).mock(
        side_effect=[
            respx.MockResponse(422, json=github_error(422)),
            respx.MockResponse(201, json=github_comment(12, "x")),
        ]
    )
    result = _invoke(["--markdown", str(markdown)], github_env)
    assert result.exit_code == 0, result.output
    sizes = [len(json.loads(c.request.content)["body"]) for c in create.calls]
    assert sizes[0] > COMMENT_LIMIT // 2 >= sizes[1]
    assert (
        "_… folded to stay under the comment size limit"
        in json.loads(create.calls.last.request.content)["body"]
    )


@respx.mock
def test_markdown_from_stdin_is_posted(github_env):
    """--markdown - reads the body from standard input."""
    respx.get(COMMENTS).respond(200, json=[])
    create = respx.post(COMMENTS).respond(201, json=github_comment(11, "x"))
    result = CliRunner().invoke(
        cli, ["comment", "--markdown", "-"], input="## hello\n", env=github_env
    )
    assert result.exit_code == 0, result.output
    assert "## hello\n" in json.loads(create.calls.last.request.content)["body"]


@pytest.mark.parametrize(
    ("args", "env_change", "message"),
    [
        (["PLAN"], {"GITHUB_TOKEN": ""}, "error: GITHUB_TOKEN is not set"),
        (["PLAN"], {"GITHUB_EVENT_PATH": ""}, "error: this run is not for a pull request"),
        (["PLAN"], {"GITHUB_ACTIONS": "", "GITHUB_REPOSITORY": ""}, "error: cannot tell"),
        ([], {}, "error: nothing to post"),
        (["PLAN", "--markdown", "x.md"], {}, "error: give either PLANFILE or --markdown"),
        (["--close"], {}, "error: --close closes a drift issue"),
        (["PLAN", "--key", "a b"], {}, "error: --key 'a b' is not a valid comment key"),
        (["missing.json"], {}, "error: cannot read plan file missing.json"),
    ],
)
def test_missing_context_or_bad_options_exit_1_with_one_sentence(
    tmp_path, github_env, args, env_change, message
):
    """Each problem is an `error:` line (plus hint), exit 1, no traceback, no request."""
    plan_file = tmp_path / "plan.json"
    save_plan(_plan(), plan_file)
    args = [str(plan_file) if a == "PLAN" else a for a in args]
    with respx.mock(assert_all_called=False) as mock:
        result = CliRunner().invoke(cli, ["comment", *args], env={**github_env, **env_change})
        assert not mock.calls
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


@respx.mock
def test_a_forbidden_answer_exits_1_with_the_permission_to_add(tmp_path, github_env):
    """GitHub's 403 becomes one sentence and the permissions hint, exit 1."""
    plan_file = tmp_path / "plan.json"
    save_plan(_plan(), plan_file)
    respx.get(COMMENTS).respond(200, json=[])
    respx.post(COMMENTS).respond(403, json=github_error(403))
    result = CliRunner().invoke(cli, ["comment", str(plan_file)], env=github_env)
    assert result.exit_code == 1
    assert "403 Resource not accessible by integration" in result.output
    assert "pull-requests: write" in result.output
    assert "Traceback" not in result.output


@respx.mock
def test_in_azure_pipelines_the_plan_goes_to_a_pull_request_thread(tmp_path):
    """With Azure Pipelines' variables the body is posted as a thread on the PR."""
    plan_file = tmp_path / "plan.json"
    save_plan(_plan(), plan_file)
    env = {
        "TF_BUILD": "True",
        "GITHUB_ACTIONS": "",
        "SYSTEM_COLLECTIONURI": ADO_COLLECTION,
        "SYSTEM_TEAMPROJECT": ADO_PROJECT,
        "BUILD_REPOSITORY_ID": ADO_REPO_ID,
        "SYSTEM_PULLREQUEST_PULLREQUESTID": "42",
        "SYSTEM_ACCESSTOKEN": "tok",
    }
    respx.get(f"{ADO_PR_URL}/threads").respond(200, json=ado_list([]))
    create = respx.post(f"{ADO_PR_URL}/threads").respond(200, json=ado_thread(4, "x", key="prod"))
    result = _invoke([str(plan_file), "--key", "prod"], env)
    assert result.exit_code == 0, result.output
    assert "Created the plan thread on pull request 42" in result.output
    content = json.loads(create.calls.last.request.content)["comments"][0]["content"]
    assert content.startswith(marker("prod")) and render_markdown(_plan()) in content


def test_drift_issues_are_refused_on_azure_devops(tmp_path):
    """--issue on Azure DevOps is a clear error: it has no issues."""
    md = tmp_path / "drift.md"
    md.write_text("## drift\n")
    env = {"TF_BUILD": "True", "GITHUB_ACTIONS": ""}
    result = CliRunner().invoke(
        cli, ["comment", "--issue", "Drift", "--markdown", str(md)], env=env
    )
    assert result.exit_code == 1
    assert "Azure DevOps has no issues" in result.output
