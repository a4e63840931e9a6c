"""Reading the CI's environment: which service, which pull request, which token."""

from __future__ import annotations

import json

import pytest

from reconciler.errors import ReconcileError
from reconciler.gitops.context import (
    AzureDevOpsContext,
    GitHubContext,
    Provider,
    detect_provider,
)
from tests.gitops.recorded import ADO_COLLECTION, ADO_PR_URL, ADO_PROJECT, ADO_REPO_ID


@pytest.mark.parametrize(
    ("env", "provider"),
    [
        ({"GITHUB_ACTIONS": "true"}, Provider.GITHUB),
        ({"TF_BUILD": "True"}, Provider.AZURE_DEVOPS),
        ({"GITHUB_REPOSITORY": "o/r"}, Provider.GITHUB),
        ({"SYSTEM_COLLECTIONURI": ADO_COLLECTION}, Provider.AZURE_DEVOPS),
    ],
)
def test_the_provider_is_read_from_the_variables_each_ci_sets(env, provider):
    """GitHub Actions and Azure Pipelines are told apart by their own variables."""
    assert detect_provider(env) is provider


def test_outside_any_ci_the_provider_cannot_be_guessed():
    """No CI variables is a clear error that names --provider."""
    with pytest.raises(ReconcileError, match="cannot tell") as info:
        detect_provider({})
    assert "--provider" in info.value.hint


def _event(tmp_path, payload):
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return str(path)


def test_github_context_reads_repository_token_and_pull_request_from_the_event(tmp_path):
    """The pull request number comes from the pull_request event payload."""
    env = {
        "GITHUB_REPOSITORY": "contoso/images",
        "GITHUB_TOKEN": "ghs_x",
        "GITHUB_EVENT_PATH": _event(
            tmp_path, {"action": "synchronize", "number": 7, "pull_request": {"number": 7}}
        ),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "99",
    }
    ctx = GitHubContext.from_env(env)
    assert (ctx.api_url, ctx.repository, ctx.pull_request) == (
        "https://api.github.com",
        "contoso/images",
        7,
    )
    assert ctx.run_url == "https://github.com/contoso/images/actions/runs/99"


def test_github_enterprise_api_url_is_honoured(tmp_path):
    """GITHUB_API_URL (GitHub Enterprise Server) replaces api.github.com."""
    env = {
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_TOKEN": "t",
        "GITHUB_API_URL": "https://github.contoso.example/api/v3/",
    }
    assert GitHubContext.from_env(env).api_url == "https://github.contoso.example/api/v3"


def test_a_pull_request_comment_event_also_names_the_pull_request(tmp_path):
    """issue_comment events on a pull request carry the number under issue."""
    env = {
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_TOKEN": "t",
        "GITHUB_EVENT_PATH": _event(tmp_path, {"issue": {"number": 12, "pull_request": {}}}),
    }
    assert GitHubContext.from_env(env).require_pull_request() == 12


@pytest.mark.parametrize(
    ("env", "message", "hint"),
    [
        ({"GITHUB_REPOSITORY": "o/r"}, "GITHUB_TOKEN is not set", "github.token"),
        ({"GITHUB_TOKEN": "t"}, "GITHUB_REPOSITORY is not set", "owner/name"),
        ({"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "just-a-name"}, "not owner/name", "contoso"),
    ],
)
def test_missing_github_settings_are_one_sentence_with_a_hint(env, message, hint):
    """A missing token or repository says which variable and how to provide it."""
    with pytest.raises(ReconcileError, match=message) as info:
        GitHubContext.from_env(env)
    assert hint in info.value.hint


def test_a_push_or_schedule_event_has_no_pull_request(tmp_path):
    """Without a pull request in the event, asking for one is a clear error."""
    env = {
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_TOKEN": "t",
        "GITHUB_EVENT_PATH": _event(tmp_path, {"schedule": "23 5 * * *"}),
    }
    ctx = GitHubContext.from_env(env)
    with pytest.raises(ReconcileError, match="not for a pull request") as info:
        ctx.require_pull_request()
    assert "--pr" in info.value.hint


def _ado_env(**extra):
    return {
        "SYSTEM_COLLECTIONURI": ADO_COLLECTION,
        "SYSTEM_TEAMPROJECT": ADO_PROJECT,
        "BUILD_REPOSITORY_ID": ADO_REPO_ID,
        "SYSTEM_PULLREQUEST_PULLREQUESTID": "42",
        "SYSTEM_ACCESSTOKEN": "eyJ0eXAi",
        "BUILD_BUILDID": "314",
        **extra,
    }


def test_azure_devops_context_builds_the_pull_request_url():
    """Collection, project (URL-quoted), repository and PR make the REST URL."""
    ctx = AzureDevOpsContext.from_env(_ado_env())
    assert ctx.pull_request_url == ADO_PR_URL
    assert ctx.run_url == f"{ADO_COLLECTION}Image%20Factory/_build/results?buildId=314"


@pytest.mark.parametrize(
    ("override", "message", "hint"),
    [
        ({"SYSTEM_ACCESSTOKEN": ""}, "SYSTEM_ACCESSTOKEN is not set", "$(System.AccessToken)"),
        (
            {"SYSTEM_ACCESSTOKEN": "$(System.AccessToken)"},
            "SYSTEM_ACCESSTOKEN is not set",
            "map it",
        ),
        ({"SYSTEM_PULLREQUEST_PULLREQUESTID": ""}, "not for a pull request", "--pr"),
        ({"SYSTEM_PULLREQUEST_PULLREQUESTID": "abc"}, "not a number", "--pr"),
        ({"BUILD_REPOSITORY_ID": ""}, "BUILD_REPOSITORY_ID is not set", "Azure Pipelines"),
    ],
)
def test_missing_azure_devops_settings_are_one_sentence_with_a_hint(override, message, hint):
    """An unmapped token or a non-PR build says what is missing and how to fix it."""
    with pytest.raises(ReconcileError, match=message) as info:
        AzureDevOpsContext.from_env(_ado_env(**override))
    assert hint in info.value.hint
