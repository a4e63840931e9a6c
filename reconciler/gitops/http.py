"""What the GitHub and Azure DevOps clients share: the result value and HTTP error wording.

Every failure becomes one `ReconcileError` sentence (who answered what, to which request)
with a hint that names the permission or variable to fix; a body that is too long is its
own class, `CommentTooLongError`, so the caller can fold harder and try once more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.errors import ReconcileError

TIMEOUT = httpx.Timeout(30.0)


@dataclass(frozen=True, slots=True)
class Posted:
    """What a post did: ``created``, ``updated``, ``unchanged``, ``closed`` or ``none``."""

    action: str
    id: int | None = None
    url: str | None = None


class CommentTooLongError(ReconcileError):
    """The service refused the body as too long (GitHub: 422 on the body field)."""


def json_or_none(response: httpx.Response) -> Any:
    """The response's JSON, or None when it is not JSON (an HTML sign-in page, say)."""
    try:
        return response.json()
    except ValueError:
        return None


def error_message(payload: Any) -> str:
    """The human part of an error payload (GitHub ``message``, Azure DevOps ``message``)."""
    if isinstance(payload, dict):
        message = payload.get("message")
        if isinstance(message, str):
            return message.strip()
    return ""


def network_error(service: str, url: str, exc: httpx.HTTPError, hint: str) -> ReconcileError:
    """A request that got no answer at all."""
    return ReconcileError(f"cannot reach {service} at {url}: {exc}", hint=hint)
