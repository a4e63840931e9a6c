"""Azure DevOps' REST API (Git pull request threads) for the one plan comment per PR.

A comment lives in a thread: list the pull request's threads (following the
``x-ms-continuationtoken`` header when the service pages), edit the first comment of
the thread that carries our marker (in its ``reconcile.key`` property or in the text),
else create a thread. The thread is created ``closed``: it informs, it asks nobody to
resolve anything, so a "comments must be resolved" branch policy never blocks on it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from reconciler.errors import ReconcileError
from reconciler.gitops.body import has_marker
from reconciler.gitops.context import AzureDevOpsContext
from reconciler.gitops.http import (
    Client,
    CommentTooLongError,
    Posted,
    error_message,
    json_or_none,
    network_error,
)

API_VERSION = "7.1"
KEY_PROPERTY = "reconcile.key"
_TOO_LONG_WORDS = ("too long", "too large", "exceeds", "maximum length")


class AzureDevOps(Client):
    """A small client over one pull request; `transport` is the seam tests replace."""

    def __init__(
        self, context: AzureDevOpsContext, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(context.token, {"Accept": "application/json"}, transport=transport)
        self.context = context

    def _request(self, method: str, url: str, *, doing: str, **kwargs: Any) -> httpx.Response:
        params = {**kwargs.pop("params", {}), "api-version": API_VERSION}
        try:
            response = self._http.request(method, url, params=params, **kwargs)
        except httpx.HTTPError as exc:
            raise network_error(
                "Azure DevOps",
                self.context.collection_uri,
                exc,
                "check SYSTEM_COLLECTIONURI",
            ) from None
        payload = json_or_none(response)
        # Without a valid token Azure DevOps answers 203 with an HTML sign-in page.
        if response.is_success and (payload is not None or response.status_code == 204):
            return response
        raise self._error(response, payload, doing)

    def _error(self, response: httpx.Response, payload: Any, doing: str) -> ReconcileError:
        status = response.status_code
        message = error_message(payload) or response.reason_phrase
        said = f"Azure DevOps refused to {doing}: {status} {message}"
        if status in (203, 401):
            return ReconcileError(
                f"Azure DevOps did not accept the token to {doing} ({status})",
                hint="map the job's token into the step: "
                "`env: { SYSTEM_ACCESSTOKEN: $(System.AccessToken) }`",
            )
        if status == 403:
            return ReconcileError(
                said,
                hint="allow the project's build service identity "
                "'Contribute to pull requests' on the repository",
            )
        if status == 404:
            return ReconcileError(
                said,
                hint="check SYSTEM_COLLECTIONURI, SYSTEM_TEAMPROJECT, BUILD_REPOSITORY_ID "
                f"and pull request {self.context.pull_request}",
            )
        if status in (400, 413, 422) and any(w in message.lower() for w in _TOO_LONG_WORDS):
            return CommentTooLongError(said, hint="the comment is folded harder and retried")
        return ReconcileError(said, hint="Azure DevOps may be unavailable; run the job again")

    def _threads(self) -> list[dict[str, Any]]:
        threads: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params = {"continuationToken": token} if token else {}
            response = self._request(
                "GET",
                f"{self.context.pull_request_url}/threads",
                params=params,
                doing=f"list the threads of pull request {self.context.pull_request}",
            )
            page = json_or_none(response)
            values = page.get("value") if isinstance(page, dict) else None
            threads += [t for t in values or () if isinstance(t, dict)]
            token = response.headers.get("x-ms-continuationtoken")
            if not token:
                return threads

    def find_thread(self, key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Our thread and its first comment, found by property or by marker in the text."""
        for thread in self._threads():
            if thread.get("isDeleted"):
                continue
            comments = [c for c in thread.get("comments") or () if isinstance(c, dict)]
            first = next((c for c in comments if not c.get("isDeleted")), None)
            if first is None:
                continue
            prop = (thread.get("properties") or {}).get(KEY_PROPERTY)
            tagged = isinstance(prop, dict) and prop.get("$value") == key
            if tagged or has_marker(first.get("content"), key):
                return thread, first
        return None

    def upsert_comment(self, key: str, body: str) -> Posted:
        """Edit our thread's first comment to `body`, or start the thread."""
        found = self.find_thread(key)
        pr = self.context.pull_request
        if found is None:
            response = self._request(
                "POST",
                f"{self.context.pull_request_url}/threads",
                json={
                    "comments": [{"parentCommentId": 0, "content": body, "commentType": "text"}],
                    "status": "closed",
                    "properties": {KEY_PROPERTY: {"$type": "System.String", "$value": key}},
                },
                doing=f"start a thread on pull request {pr}",
            )
            data = json_or_none(response) or {}
            return Posted("created", data.get("id"), self._thread_url(data.get("id")))
        thread, comment = found
        if comment.get("content") == body:
            return Posted("unchanged", thread.get("id"), self._thread_url(thread.get("id")))
        self._request(
            "PATCH",
            f"{self.context.pull_request_url}/threads/{thread['id']}/comments/{comment['id']}",
            json={"content": body},
            doing=f"edit thread {thread['id']} on pull request {pr}",
        )
        return Posted("updated", thread.get("id"), self._thread_url(thread.get("id")))

    def _thread_url(self, thread_id: Any) -> str | None:
        """The web page of the pull request, scrolled to the thread."""
        if not isinstance(thread_id, int):
            return None
        ctx = self.context
        return (
            f"{ctx.collection_uri}{quote(ctx.project)}/_git/{quote(ctx.repository_id)}"
            f"/pullrequest/{ctx.pull_request}?discussionId={thread_id}"
        )
