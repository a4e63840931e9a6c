"""GitHub REST: find our comment by marker across pages, edit it, else create; drift issues."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from reconciler.errors import ReconcileError
from reconciler.gitops.body import marker
from reconciler.gitops.context import GitHubContext
from reconciler.gitops.github import GitHub
from reconciler.gitops.http import CommentTooLongError
from tests.gitops.recorded import (
    GHES_API,
    GITHUB_API,
    REPO,
    github_comment,
    github_error,
    github_issue,
    github_link,
)

COMMENTS = f"{GITHUB_API}/repos/{REPO}/issues/7/comments"
OURS = marker("prod") + "\n## reconcile plan: old"


def _client(api: str = GITHUB_API) -> GitHub:
    return GitHub(GitHubContext(api, REPO, "ghs_token", 7, None))


@respx.mock
def test_without_our_comment_a_new_one_is_created():
    """No comment carries the marker: one POST creates it, with the token and API version."""
    respx.get(COMMENTS).respond(200, json=[github_comment(1, "LGTM")])
    create = respx.post(COMMENTS).respond(201, json=github_comment(2, "new"))
    posted = _client().upsert_comment(7, "prod", "new body")
    assert (posted.action, posted.id) == ("created", 2)
    assert posted.url.endswith("#issuecomment-2")
    request = create.calls.last.request
    assert json.loads(request.content) == {"body": "new body"}
    assert request.headers["Authorization"] == "Bearer ghs_token"
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"


@respx.mock
def test_our_comment_on_a_later_page_is_found_and_edited_in_place():
    """The marker is looked for on every page (Link rel=next); the match is PATCHed, not re-posted."""
    first = [github_comment(i, f"comment {i}") for i in range(1, 101)]
    page2 = respx.get(COMMENTS, params={"page": "2"}).respond(
        200, json=[github_comment(150, OURS), github_comment(151, marker("staging"))]
    )
    page1 = respx.get(COMMENTS).respond(
        200, json=first, headers={"Link": github_link(COMMENTS, next_page=2, last_page=2)}
    )
    create = respx.post(COMMENTS)
    edit = respx.patch(f"{GITHUB_API}/repos/{REPO}/issues/comments/150").respond(
        200, json=github_comment(150, "edited")
    )
    posted = _client().upsert_comment(7, "prod", "edited")
    assert posted.action == "updated"
    assert page1.call_count == 1 and page2.call_count == 1
    assert page1.calls.last.request.url.params["per_page"] == "100"
    assert not create.called
    assert json.loads(edit.calls.last.request.content) == {"body": "edited"}


@respx.mock
def test_an_identical_body_is_not_sent_again():
    """When our comment already says exactly this, nothing is written."""
    respx.get(COMMENTS).respond(200, json=[github_comment(5, OURS)])
    patch = respx.patch(url__regex=r".*/issues/comments/\d+")
    assert _client().upsert_comment(7, "prod", OURS).action == "unchanged"
    assert not patch.called


@respx.mock
def test_github_enterprise_server_is_addressed_under_its_api_url():
    """With GITHUB_API_URL=https://HOST/api/v3 every request goes there."""
    route = respx.get(f"{GHES_API}/repos/{REPO}/issues/7/comments").respond(200, json=[])
    respx.post(f"{GHES_API}/repos/{REPO}/issues/7/comments").respond(
        201, json=github_comment(3, "x")
    )
    assert _client(GHES_API).upsert_comment(7, "prod", "x").action == "created"
    assert route.called


@pytest.mark.parametrize(
    ("status", "method", "message", "hint"),
    [
        (401, "get", "401 Bad credentials", "github.token"),
        (403, "post", "403 Resource not accessible by integration", "pull-requests: write"),
        (404, "get", "404 Not Found", "GITHUB_REPOSITORY (contoso/images)"),
        (500, "post", "500", "run the job again"),
    ],
)
@respx.mock
def test_http_errors_become_one_sentence_with_a_hint(status, method, message, hint):
    """401, 403, 404 and 5xx name what GitHub said and what to change."""
    if method == "get":
        respx.get(COMMENTS).respond(status, json=github_error(status) if status < 500 else {})
    else:
        respx.get(COMMENTS).respond(200, json=[])
        respx.post(COMMENTS).respond(status, json=github_error(status) if status < 500 else {})
    with pytest.raises(ReconcileError) as info:
        _client().upsert_comment(7, "prod", "body")
    assert message in info.value.message
    assert hint in info.value.hint


@respx.mock
def test_a_rate_limited_403_says_to_wait():
    """403 with x-ratelimit-remaining: 0 is the rate limit, not a permission."""
    respx.get(COMMENTS).respond(
        403,
        json={"message": "API rate limit exceeded for installation ID 1."},
        headers={"x-ratelimit-remaining": "0"},
    )
    with pytest.raises(ReconcileError) as info:
        _client().upsert_comment(7, "prod", "body")
    assert "rate limit" in info.value.hint


@respx.mock
def test_a_body_too_long_is_its_own_error_so_the_caller_can_fold_harder():
    """422 'body is too long' raises CommentTooLongError quoting GitHub's reason."""
    respx.get(COMMENTS).respond(200, json=[])
    respx.post(COMMENTS).respond(422, json=github_error(422))
    with pytest.raises(CommentTooLongError, match=r"maximum is 65536 characters"):
        _client().upsert_comment(7, "prod", "x" * 70_000)


@respx.mock
def test_an_unreachable_api_names_the_url_and_the_variable():
    """A connection failure is one sentence naming GITHUB_API_URL."""
    respx.get(COMMENTS).mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(ReconcileError, match="cannot reach GitHub") as info:
        _client().upsert_comment(7, "prod", "body")
    assert "GITHUB_API_URL" in info.value.hint


ISSUES = f"{GITHUB_API}/repos/{REPO}/issues"
DRIFT = marker("drift-prod") + "\n## reconcile drift"


@respx.mock
def test_drift_opens_one_labelled_issue_when_none_is_open():
    """No open issue with our marker: one is opened with the title, body and label."""
    listing = respx.get(ISSUES).respond(
        200, json=[github_issue(3, "Drift", DRIFT, pull_request=True)]
    )
    create = respx.post(ISSUES).respond(201, json=github_issue(9, "Drift in prod", DRIFT))
    posted = _client().upsert_issue("drift-prod", title="Drift in prod", body=DRIFT)
    assert (posted.action, posted.id) == ("created", 9)
    assert listing.calls.last.request.url.params["labels"] == "reconcile-drift"
    assert listing.calls.last.request.url.params["state"] == "open"
    assert json.loads(create.calls.last.request.content) == {
        "title": "Drift in prod",
        "body": DRIFT,
        "labels": ["reconcile-drift"],
    }


@respx.mock
def test_drift_edits_the_open_issue_instead_of_opening_another():
    """An open issue with our marker is PATCHed with the new body."""
    respx.get(ISSUES).respond(200, json=[github_issue(9, "Drift in prod", DRIFT)])
    create = respx.post(ISSUES)
    edit = respx.patch(f"{ISSUES}/9").respond(200, json=github_issue(9, "Drift in prod", "new"))
    posted = _client().upsert_issue("drift-prod", title="Drift in prod", body="new")
    assert posted.action == "updated" and not create.called
    assert json.loads(edit.calls.last.request.content)["body"] == "new"


@respx.mock
def test_drift_gone_closes_the_issue_with_a_last_comment():
    """Closing comments on the issue, then sets state=closed (completed)."""
    respx.get(ISSUES).respond(200, json=[github_issue(9, "Drift in prod", DRIFT)])
    note = respx.post(f"{ISSUES}/9/comments").respond(
        201, json=github_comment(77, "gone", number=9)
    )
    close = respx.patch(f"{ISSUES}/9").respond(200, json=github_issue(9, "Drift in prod", DRIFT))
    assert _client().close_issue("drift-prod", comment="gone").action == "closed"
    assert note.called
    assert json.loads(close.calls.last.request.content) == {
        "state": "closed",
        "state_reason": "completed",
    }


@respx.mock
def test_closing_without_an_open_issue_does_nothing():
    """No open drift issue: nothing is written."""
    respx.get(ISSUES).respond(200, json=[])
    patch = respx.patch(url__regex=r".*/issues/\d+")
    assert _client().close_issue("drift-prod", comment="gone").action == "none"
    assert not patch.called
