"""GitHub's REST API for the one plan comment per pull request and the one drift issue.

Comments: list the pull request's issue comments (following ``Link: rel="next"`` pages),
edit the one carrying our marker, else create it. Drift issues: list open issues with our
label, edit the one carrying our marker, else open it; close it (with a last comment)
when drift is gone. Works against GitHub Enterprise Server through ``GITHUB_API_URL``.
"""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.errors import ReconcileError
from reconciler.gitops.body import has_marker
from reconciler.gitops.context import GitHubContext
from reconciler.gitops.http import (
    Client,
    CommentTooLongError,
    Posted,
    error_message,
    json_or_none,
    network_error,
)

API_VERSION = "2022-11-28"
PAGE_SIZE = 100
DRIFT_LABEL = "reconcile-drift"


class GitHub(Client):
    """A small client over one repository; `transport` is the seam tests replace."""

    def __init__(
        self, context: GitHubContext, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(
            context.token,
            {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION},
            base_url=context.api_url,
            transport=transport,
        )
        self.context = context

    # -- requests -------------------------------------------------------------------

    def _request(self, method: str, url: str, *, doing: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise network_error(
                "GitHub",
                self.context.api_url,
                exc,
                "check GITHUB_API_URL (GitHub Enterprise Server: https://HOST/api/v3)",
            ) from None
        if response.is_success:
            return response
        raise self._error(response, doing)

    def _error(self, response: httpx.Response, doing: str) -> ReconcileError:
        payload = json_or_none(response)
        message = error_message(payload) or response.reason_phrase
        status = response.status_code
        said = f"GitHub refused to {doing}: {status} {message}"
        if status == 401:
            return ReconcileError(
                said, hint="the token was not accepted; pass `GITHUB_TOKEN: ${{ github.token }}`"
            )
        if status == 403 and response.headers.get("x-ratelimit-remaining") == "0":
            return ReconcileError(
                said, hint="the API rate limit is used up; run the job again later"
            )
        if status == 403:
            return ReconcileError(
                said,
                hint="give the job `permissions: { pull-requests: write }` (drift issues: "
                "`issues: write`); pull requests from forks only get a read-only token",
            )
        if status == 404:
            return ReconcileError(
                said,
                hint=f"check GITHUB_REPOSITORY ({self.context.repository}) and the number; "
                "a token that cannot see a private repository gets 404 too",
            )
        if status == 422:
            details = _validation_details(payload)
            if "too long" in details.lower() or "too long" in message.lower():
                return CommentTooLongError(
                    f"{said} ({details})", hint="the comment is folded harder and retried"
                )
            return ReconcileError(
                f"{said}" + (f" ({details})" if details else ""),
                hint="this is a bug in reconcile comment; please report it",
            )
        return ReconcileError(said, hint="GitHub may be unavailable; run the job again")

    def _pages(self, url: str, params: dict[str, Any], *, doing: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        query: dict[str, Any] | None = {**params, "per_page": PAGE_SIZE}
        while next_url:
            response = self._request("GET", next_url, params=query, doing=doing)
            page = json_or_none(response)
            if not isinstance(page, list):
                raise ReconcileError(
                    f"GitHub answered {doing} with something that is not a list",
                    hint="check GITHUB_API_URL points at the REST API",
                )
            items += [item for item in page if isinstance(item, dict)]
            # The next link carries its own query string.
            next_url = response.links.get("next", {}).get("url")
            query = None
        return items

    # -- pull-request comments --------------------------------------------------------

    def find_comment(self, number: int, key: str) -> dict[str, Any] | None:
        """The first comment on pull request `number` that carries the marker for `key`."""
        comments = self._pages(
            f"/repos/{self.context.repository}/issues/{number}/comments",
            {},
            doing=f"list the comments of pull request #{number}",
        )
        return next((c for c in comments if has_marker(c.get("body"), key)), None)

    def upsert_comment(self, number: int, key: str, body: str) -> Posted:
        """Edit our comment on pull request `number` to `body`, or create it."""
        existing = self.find_comment(number, key)
        if existing is None:
            response = self._request(
                "POST",
                f"/repos/{self.context.repository}/issues/{number}/comments",
                json={"body": body},
                doing=f"comment on pull request #{number}",
            )
            return _posted("created", response)
        if existing.get("body") == body:
            return Posted("unchanged", existing.get("id"), existing.get("html_url"))
        response = self._request(
            "PATCH",
            f"/repos/{self.context.repository}/issues/comments/{existing['id']}",
            json={"body": body},
            doing=f"edit comment {existing['id']} on pull request #{number}",
        )
        return _posted("updated", response)

    # -- drift issues -----------------------------------------------------------------

    def find_issue(self, key: str, *, label: str = DRIFT_LABEL) -> dict[str, Any] | None:
        """The open issue (not pull request) labelled `label` that carries the marker for `key`."""
        issues = self._pages(
            f"/repos/{self.context.repository}/issues",
            {"state": "open", "labels": label},
            doing="list open issues",
        )
        return next(
            (i for i in issues if "pull_request" not in i and has_marker(i.get("body"), key)),
            None,
        )

    def upsert_issue(self, key: str, *, title: str, body: str, label: str = DRIFT_LABEL) -> Posted:
        """Edit our open issue to `title` and `body`, or open it."""
        existing = self.find_issue(key, label=label)
        if existing is None:
            response = self._request(
                "POST",
                f"/repos/{self.context.repository}/issues",
                json={"title": title, "body": body, "labels": [label]},
                doing="open an issue",
            )
            return _posted("created", response)
        if existing.get("body") == body and existing.get("title") == title:
            return Posted("unchanged", existing.get("number"), existing.get("html_url"))
        response = self._request(
            "PATCH",
            f"/repos/{self.context.repository}/issues/{existing['number']}",
            json={"title": title, "body": body},
            doing=f"edit issue #{existing['number']}",
        )
        return _posted("updated", response)

    def close_issue(self, key: str, *, comment: str, label: str = DRIFT_LABEL) -> Posted:
        """Close our open issue with a last `comment`; nothing to do when none is open."""
        existing = self.find_issue(key, label=label)
        if existing is None:
            return Posted("none")
        number = existing["number"]
        self._request(
            "POST",
            f"/repos/{self.context.repository}/issues/{number}/comments",
            json={"body": comment},
            doing=f"comment on issue #{number}",
        )
        response = self._request(
            "PATCH",
            f"/repos/{self.context.repository}/issues/{number}",
            json={"state": "closed", "state_reason": "completed"},
            doing=f"close issue #{number}",
        )
        return _posted("closed", response)


def _posted(action: str, response: httpx.Response) -> Posted:
    data = json_or_none(response)
    data = data if isinstance(data, dict) else {}
    ident = data.get("number", data.get("id"))
    return Posted(action, ident if isinstance(ident, int) else None, data.get("html_url"))


def _validation_details(payload: Any) -> str:
    """GitHub's 422 ``errors`` list as one phrase (``body is too long (maximum is …)``)."""
    if not isinstance(payload, dict):
        return ""
    parts: list[str] = []
    for err in payload.get("errors") or ():
        if isinstance(err, dict):
            text = err.get("message") or " ".join(
                str(err[k]) for k in ("field", "code") if err.get(k)
            )
            parts.append(str(text))
        elif isinstance(err, str):
            parts.append(err)
    return "; ".join(parts)
