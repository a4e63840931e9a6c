"""The shapes of GitHub's and Azure DevOps' REST answers, as their documentation records them.

Field names, nesting and the error bodies follow the published examples (GitHub REST API
2022-11-28: issue comments and issues; Azure DevOps REST 7.1: pull request threads and
comments, and the TF4xxxx error envelope). Values are made up; builders take the fields
a test varies, so every respx route and the local fake answer with the same shapes.
"""

from __future__ import annotations

from typing import Any

GITHUB_API = "https://api.github.com"
GHES_API = "https://github.contoso.example/api/v3"
REPO = "contoso/images"
DOCS = "https://docs.github.com/rest/issues/comments"


def github_user(login: str = "github-actions[bot]") -> dict[str, Any]:
    """The ``user`` object GitHub embeds in comments and issues."""
    return {
        "login": login,
        "id": 41898282,
        "node_id": "MDM6Qm90NDE4OTgyODI=",
        "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4",
        "url": f"{GITHUB_API}/users/{login}",
        "html_url": f"https://github.com/apps/{login.removesuffix('[bot]')}",
        "type": "Bot",
        "site_admin": False,
    }


def github_comment(comment_id: int, body: str, *, number: int = 7) -> dict[str, Any]:
    """One issue comment (``GET /repos/{owner}/{repo}/issues/{n}/comments`` items)."""
    return {
        "url": f"{GITHUB_API}/repos/{REPO}/issues/comments/{comment_id}",
        "html_url": f"https://github.com/{REPO}/pull/{number}#issuecomment-{comment_id}",
        "issue_url": f"{GITHUB_API}/repos/{REPO}/issues/{number}",
        "id": comment_id,
        "node_id": "IC_kwDOAbCdEf5xYz12",
        "user": github_user(),
        "created_at": "2026-10-02T09:14:03Z",
        "updated_at": "2026-10-02T09:14:03Z",
        "author_association": "NONE",
        "body": body,
        "reactions": {"url": "", "total_count": 0, "+1": 0, "-1": 0},
        "performed_via_github_app": None,
    }


def github_issue(number: int, title: str, body: str, *, pull_request: bool = False) -> dict:
    """One issue (``GET /repos/{owner}/{repo}/issues`` items; PRs carry ``pull_request``)."""
    issue: dict[str, Any] = {
        "url": f"{GITHUB_API}/repos/{REPO}/issues/{number}",
        "html_url": f"https://github.com/{REPO}/issues/{number}",
        "id": 2000000 + number,
        "node_id": "I_kwDOAbCdEf6aBcDe",
        "number": number,
        "title": title,
        "user": github_user(),
        "labels": [{"id": 1, "name": "reconcile-drift", "color": "d93f0b", "default": False}],
        "state": "open",
        "state_reason": None,
        "locked": False,
        "comments": 0,
        "created_at": "2026-10-02T05:23:11Z",
        "updated_at": "2026-10-02T05:23:11Z",
        "closed_at": None,
        "author_association": "NONE",
        "body": body,
    }
    if pull_request:
        issue["pull_request"] = {
            "url": f"{GITHUB_API}/repos/{REPO}/pulls/{number}",
            "html_url": f"https://github.com/{REPO}/pull/{number}",
        }
    return issue


def github_error(status: int, doc: str = "create-an-issue-comment") -> dict[str, Any]:
    """GitHub's error bodies for 401, 403, 404 and 422 (body too long)."""
    messages = {
        401: "Bad credentials",
        403: "Resource not accessible by integration",
        404: "Not Found",
        422: "Validation Failed",
    }
    body: dict[str, Any] = {
        "message": messages[status],
        "documentation_url": f"{DOCS}#{doc}",
        "status": str(status),
    }
    if status == 422:
        body["errors"] = [
            {
                "resource": "IssueComment",
                "code": "custom",
                "field": "body",
                "message": "body is too long (maximum is 65536 characters)",
            }
        ]
    return body


def github_link(url: str, *, next_page: int, last_page: int) -> str:
    """The ``Link`` header GitHub sends on a paged list."""
    return (
        f'<{url}?per_page=100&page={next_page}>; rel="next", '
        f'<{url}?per_page=100&page={last_page}>; rel="last"'
    )


ADO_COLLECTION = "https://dev.azure.com/contoso/"
ADO_PROJECT = "Image Factory"
ADO_REPO_ID = "3411ebc1-d5aa-464f-9615-0b527bc66719"
ADO_PR = 42
ADO_PR_URL = (
    f"{ADO_COLLECTION}Image%20Factory/_apis/git/repositories/{ADO_REPO_ID}/pullRequests/{ADO_PR}"
)


def ado_identity() -> dict[str, Any]:
    """The ``author`` IdentityRef of a comment posted with the build's token."""
    return {
        "displayName": "Image Factory Build Service (contoso)",
        "url": "https://spsprodweu5.vssps.visualstudio.com/A1/_apis/Identities/9d7a",
        "id": "9d7a8c71-0000-4e6b-a0f5-2d3b6b1f7e9a",
        "uniqueName": "Build\\9d7a8c71-0000-4e6b-a0f5-2d3b6b1f7e9a",
        "descriptor": "svc.OWQ3YThjNzE",
    }


def ado_comment(comment_id: int, content: str) -> dict[str, Any]:
    """One comment of a thread (Comment, api-version 7.1)."""
    return {
        "id": comment_id,
        "parentCommentId": 0,
        "author": ado_identity(),
        "content": content,
        "publishedDate": "2026-10-02T09:14:03.513Z",
        "lastUpdatedDate": "2026-10-02T09:14:03.513Z",
        "lastContentUpdatedDate": "2026-10-02T09:14:03.513Z",
        "commentType": "text",
        "usersLiked": [],
        "_links": {"self": {"href": f"{ADO_PR_URL}/threads/1/comments/{comment_id}"}},
    }


def ado_thread(
    thread_id: int,
    content: str,
    *,
    key: str | None = None,
    status: str = "active",
    comment_id: int = 1,
) -> dict[str, Any]:
    """One pull request thread (GitPullRequestCommentThread, api-version 7.1)."""
    properties: dict[str, Any] = {
        "Microsoft.TeamFoundation.Discussion.UniqueID": {
            "$type": "System.String",
            "$value": "7f1e3e5a-3c2d-4c3b-9a4e-b2ff0d3c1a10",
        }
    }
    if key is not None:
        properties["reconcile.key"] = {"$type": "System.String", "$value": key}
    return {
        "pullRequestThreadContext": None,
        "id": thread_id,
        "publishedDate": "2026-10-02T09:14:03.513Z",
        "lastUpdatedDate": "2026-10-02T09:14:03.513Z",
        "comments": [ado_comment(comment_id, content)],
        "status": status,
        "threadContext": None,
        "properties": properties,
        "identities": None,
        "isDeleted": False,
        "_links": {"self": {"href": f"{ADO_PR_URL}/threads/{thread_id}"}},
    }


def ado_list(values: list[dict[str, Any]]) -> dict[str, Any]:
    """Azure DevOps' list envelope."""
    return {"value": values, "count": len(values)}


def ado_error(status: int) -> dict[str, Any]:
    """Azure DevOps' error envelope for 403 and 404."""
    if status == 403:
        message = (
            "TF401027: You need the Git 'PullRequestContribute' permission to perform this "
            "action. Details: identity 'Build\\9d7a8c71-0000-4e6b-a0f5-2d3b6b1f7e9a', "
            "scope 'repository'."
        )
        type_key = "GitNeedsPermissionException"
    else:
        message = "TF401180: The requested pull request was not found."
        type_key = "GitPullRequestNotFoundException"
    return {
        "$id": "1",
        "innerException": None,
        "message": message,
        "typeName": f"Microsoft.TeamFoundation.Git.Server.{type_key}, "
        "Microsoft.TeamFoundation.Git.Server",
        "typeKey": type_key,
        "errorCode": 0,
        "eventId": 3000,
    }
