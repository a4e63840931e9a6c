"""Posting plans where reviewers read them: one pull-request comment, one drift issue.

- `context`: who we are talking to, read from the CI's standard environment
  (GitHub Actions or Azure Pipelines); a missing token or pull request is one sentence.
- `body`: the hidden marker that finds our comment again, and folding a body under the
  size limit (pure).
- `github`, `azure_devops`: the REST calls over httpx (create, find by marker, update),
  every HTTP failure turned into a `ReconcileError` with a hint.

Nothing here imports `azure.*`: posting a comment needs no Azure SDK.
"""

from reconciler.gitops.body import COMMENT_LIMIT, compose, fold, marker
from reconciler.gitops.context import (
    AzureDevOpsContext,
    GitHubContext,
    Provider,
    detect_provider,
)
from reconciler.gitops.http import CommentTooLongError, Posted

__all__ = [
    "COMMENT_LIMIT",
    "AzureDevOpsContext",
    "CommentTooLongError",
    "GitHubContext",
    "Posted",
    "Provider",
    "compose",
    "detect_provider",
    "fold",
    "marker",
]
