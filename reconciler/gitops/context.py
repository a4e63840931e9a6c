"""Who `reconcile comment` talks to, read from the CI's standard environment variables.

GitHub Actions: ``GITHUB_REPOSITORY`` (owner/name), ``GITHUB_TOKEN``, the pull request from
the event payload at ``GITHUB_EVENT_PATH``, ``GITHUB_API_URL`` for GitHub Enterprise Server.
Azure Pipelines: ``SYSTEM_COLLECTIONURI``, ``SYSTEM_TEAMPROJECT``, ``BUILD_REPOSITORY_ID``,
``SYSTEM_PULLREQUEST_PULLREQUESTID`` and ``SYSTEM_ACCESSTOKEN`` (which a pipeline must map
into the step's environment explicitly). Pure apart from reading the event file: the
environment is passed in as a mapping. Anything missing is a `ReconcileError` whose hint
says which setting of the workflow or pipeline provides it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote

from reconciler.errors import ReconcileError

GITHUB_API_DEFAULT = "https://api.github.com"


class Provider(StrEnum):
    """Where the pull request lives."""

    GITHUB = "github"
    AZURE_DEVOPS = "azure-devops"


def detect_provider(env: Mapping[str, str]) -> Provider:
    """The CI this runs in, from the variables each one always sets."""
    if env.get("GITHUB_ACTIONS") == "true":
        return Provider.GITHUB
    if env.get("TF_BUILD", "").lower() == "true":
        return Provider.AZURE_DEVOPS
    if env.get("GITHUB_REPOSITORY"):
        return Provider.GITHUB
    if env.get("SYSTEM_COLLECTIONURI"):
        return Provider.AZURE_DEVOPS
    raise ReconcileError(
        "cannot tell whether this runs in GitHub Actions or Azure Pipelines",
        hint="run it in one of them, or pass --provider github (with GITHUB_REPOSITORY, "
        "GITHUB_TOKEN) or --provider azure-devops (with SYSTEM_COLLECTIONURI and friends)",
    )


def _require(env: Mapping[str, str], name: str, hint: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ReconcileError(f"{name} is not set", hint=hint)
    return value


@dataclass(frozen=True, slots=True)
class GitHubContext:
    """A GitHub repository (and, for comments, the pull request) and the token to use."""

    api_url: str
    repository: str
    token: str
    pull_request: int | None
    run_url: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, pull_request: int | None = None) -> GitHubContext:
        """Read the context; `pull_request` overrides the number in the event payload."""
        token = env.get("GITHUB_TOKEN", "").strip() or env.get("GH_TOKEN", "").strip()
        if not token:
            raise ReconcileError(
                "GITHUB_TOKEN is not set, so there is no token to post with",
                hint="pass it to the step: `env: { GITHUB_TOKEN: ${{ github.token }} }`",
            )
        repository = _require(
            env,
            "GITHUB_REPOSITORY",
            "GitHub Actions sets it; elsewhere set it to owner/name",
        )
        if repository.count("/") != 1 or not all(repository.split("/")):
            raise ReconcileError(
                f"GITHUB_REPOSITORY is {repository!r}, not owner/name",
                hint="set it to the repository, for example contoso/images",
            )
        api_url = (env.get("GITHUB_API_URL", "").strip() or GITHUB_API_DEFAULT).rstrip("/")
        if pull_request is None:
            pull_request = _github_event_pr(env.get("GITHUB_EVENT_PATH", ""))
        server = env.get("GITHUB_SERVER_URL", "").rstrip("/")
        run_id = env.get("GITHUB_RUN_ID", "")
        run_url = f"{server}/{repository}/actions/runs/{run_id}" if server and run_id else None
        return cls(api_url, repository, token, pull_request, run_url)

    def require_pull_request(self) -> int:
        """The pull request number, or a clear error when this run is not for one."""
        if self.pull_request is None:
            raise ReconcileError(
                "this run is not for a pull request: the event at GITHUB_EVENT_PATH has "
                "no pull request number",
                hint="post plan comments from `on: pull_request` jobs, or pass --pr NUMBER",
            )
        return self.pull_request


def _github_event_pr(path: str) -> int | None:
    """The pull request number in the event payload (pull_request or issue_comment events)."""
    if not path:
        return None
    try:
        event: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReconcileError(
            f"cannot read the event payload at GITHUB_EVENT_PATH ({path}): {exc}",
            hint="GitHub Actions writes it; outside Actions pass --pr NUMBER",
        ) from None
    if not isinstance(event, dict):
        return None
    pr = event.get("pull_request")
    if isinstance(pr, dict) and isinstance(pr.get("number"), int):
        return int(pr["number"])
    issue = event.get("issue")
    if isinstance(issue, dict) and "pull_request" in issue and isinstance(issue.get("number"), int):
        return int(issue["number"])
    return None


@dataclass(frozen=True, slots=True)
class AzureDevOpsContext:
    """An Azure Repos pull request and the job's access token."""

    collection_uri: str
    project: str
    repository_id: str
    pull_request: int
    token: str
    run_url: str | None

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, pull_request: int | None = None
    ) -> AzureDevOpsContext:
        """Read the context; `pull_request` overrides SYSTEM_PULLREQUEST_PULLREQUESTID."""
        token = env.get("SYSTEM_ACCESSTOKEN", "").strip()
        if not token or token.startswith("$("):
            raise ReconcileError(
                "SYSTEM_ACCESSTOKEN is not set, so there is no token to post with",
                hint="map it into the step: `env: { SYSTEM_ACCESSTOKEN: $(System.AccessToken) }`",
            )
        where = "Azure Pipelines sets it"
        collection = _require(env, "SYSTEM_COLLECTIONURI", where)
        project = _require(env, "SYSTEM_TEAMPROJECT", where)
        repository_id = _require(env, "BUILD_REPOSITORY_ID", where)
        if pull_request is None:
            raw = env.get("SYSTEM_PULLREQUEST_PULLREQUESTID", "").strip()
            if not raw:
                raise ReconcileError(
                    "this run is not for a pull request: SYSTEM_PULLREQUEST_PULLREQUESTID "
                    "is not set",
                    hint="post plan comments from pull-request builds (branch policy build "
                    "validation), or pass --pr NUMBER",
                )
            if not raw.isdigit():
                raise ReconcileError(
                    f"SYSTEM_PULLREQUEST_PULLREQUESTID is {raw!r}, not a number",
                    hint="pass --pr NUMBER",
                )
            pull_request = int(raw)
        collection = collection.rstrip("/") + "/"
        build_id = env.get("BUILD_BUILDID", "")
        run_url = (
            f"{collection}{quote(project)}/_build/results?buildId={build_id}" if build_id else None
        )
        return cls(collection, project, repository_id, pull_request, token, run_url)

    @property
    def pull_request_url(self) -> str:
        """The REST URL of the pull request (threads hang below it)."""
        return (
            f"{self.collection_uri}{quote(self.project)}/_apis/git/repositories/"
            f"{quote(self.repository_id)}/pullRequests/{self.pull_request}"
        )
