"""Azure DevOps REST: one PR thread found by its property or marker, its comment edited in place."""

from __future__ import annotations

import json

import pytest
import respx

from reconciler.errors import ReconcileError
from reconciler.gitops.azure_devops import AzureDevOps
from reconciler.gitops.body import marker
from reconciler.gitops.context import AzureDevOpsContext
from tests.gitops.recorded import (
    ADO_COLLECTION,
    ADO_PR,
    ADO_PR_URL,
    ADO_PROJECT,
    ADO_REPO_ID,
    ado_comment,
    ado_error,
    ado_list,
    ado_thread,
)

THREADS = f"{ADO_PR_URL}/threads"
OURS = marker("prod") + "\n## reconcile plan: old"


def _client() -> AzureDevOps:
    return AzureDevOps(
        AzureDevOpsContext(ADO_COLLECTION, ADO_PROJECT, ADO_REPO_ID, ADO_PR, "tok", None)
    )


@respx.mock
def test_without_our_thread_one_is_started_closed_and_tagged_with_the_key():
    """A new thread carries the body, the reconcile.key property and status closed."""
    listing = respx.get(THREADS).respond(200, json=ado_list([ado_thread(1, "Looks fine")]))
    create = respx.post(THREADS).respond(
        200, json=ado_thread(7, "new", key="prod", status="closed")
    )
    posted = _client().upsert_comment("prod", "new")
    assert (posted.action, posted.id) == ("created", 7)
    assert posted.url.endswith(f"/pullrequest/{ADO_PR}?discussionId=7")
    assert listing.calls.last.request.url.params["api-version"] == "7.1"
    sent = json.loads(create.calls.last.request.content)
    assert sent["comments"] == [{"parentCommentId": 0, "content": "new", "commentType": "text"}]
    assert sent["status"] == "closed"
    assert sent["properties"]["reconcile.key"] == {"$type": "System.String", "$value": "prod"}
    assert create.calls.last.request.headers["Authorization"] == "Bearer tok"


@pytest.mark.parametrize(
    "ours",
    [
        ado_thread(5, "edited by hand, marker lost", key="prod", comment_id=3),
        ado_thread(5, OURS, comment_id=3),
    ],
    ids=["by-property", "by-marker"],
)
@respx.mock
def test_our_thread_is_found_and_its_first_comment_edited(ours):
    """The thread is found by its reconcile.key property or by the marker; PATCH, no POST."""
    others = [ado_thread(1, "LGTM"), ado_thread(2, marker("staging"), key="staging")]
    respx.get(THREADS).respond(200, json=ado_list([*others, ours]))
    create = respx.post(THREADS)
    edit = respx.patch(f"{THREADS}/5/comments/3").respond(200, json=ado_comment(3, "edited"))
    posted = _client().upsert_comment("prod", "edited")
    assert posted.action == "updated" and not create.called
    assert json.loads(edit.calls.last.request.content) == {"content": "edited"}


@respx.mock
def test_deleted_threads_do_not_count():
    """A deleted thread with our marker is ignored and a new one started."""
    gone = {**ado_thread(5, OURS), "isDeleted": True}
    respx.get(THREADS).respond(200, json=ado_list([gone]))
    create = respx.post(THREADS).respond(200, json=ado_thread(8, "new", key="prod"))
    assert _client().upsert_comment("prod", "new").action == "created"
    assert create.called


@respx.mock
def test_threads_are_read_across_continuation_tokens():
    """When the service pages with x-ms-continuationtoken, the next page is asked for."""
    second = respx.get(THREADS, params={"continuationToken": "abc"}).respond(
        200, json=ado_list([ado_thread(9, OURS)])
    )
    first = respx.get(THREADS).respond(
        200, json=ado_list([ado_thread(1, "hi")]), headers={"x-ms-continuationtoken": "abc"}
    )
    respx.patch(f"{THREADS}/9/comments/1").respond(200, json=ado_comment(1, "x"))
    assert _client().upsert_comment("prod", "x").action == "updated"
    assert first.call_count == 1 and second.call_count == 1


@respx.mock
def test_an_identical_body_is_not_sent_again():
    """When our comment already says exactly this, nothing is written."""
    respx.get(THREADS).respond(200, json=ado_list([ado_thread(5, OURS)]))
    edit = respx.patch(url__regex=r".*/comments/\d+")
    assert _client().upsert_comment("prod", OURS).action == "unchanged"
    assert not edit.called


@pytest.mark.parametrize(
    ("status", "message", "hint"),
    [
        (403, "TF401027", "Contribute to pull requests"),
        (404, "TF401180", "SYSTEM_TEAMPROJECT"),
    ],
)
@respx.mock
def test_http_errors_quote_azure_devops_and_say_what_to_fix(status, message, hint):
    """403 and 404 carry the TF message and a hint naming the permission or variables."""
    respx.get(THREADS).respond(status, json=ado_error(status))
    with pytest.raises(ReconcileError) as info:
        _client().upsert_comment("prod", "x")
    assert message in info.value.message
    assert hint in info.value.hint


@respx.mock
def test_a_sign_in_page_instead_of_json_means_the_token_was_not_mapped():
    """Azure DevOps answers 203 with HTML to a missing token: say to map System.AccessToken."""
    respx.get(THREADS).respond(
        203, html="<html><head><title>Azure DevOps Services | Sign In</title></head></html>"
    )
    with pytest.raises(ReconcileError, match="did not accept the token") as info:
        _client().upsert_comment("prod", "x")
    assert "$(System.AccessToken)" in info.value.hint
