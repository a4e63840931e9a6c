"""What the GitHub and Azure DevOps clients share: the HTTP client, the result value and
the wording of HTTP errors.

Every failure becomes one `ReconcileError` sentence (who answered what, to which request)
with a hint that names the permission or variable to fix; a body that is too long is its
own class, `CommentTooLongError`, so the caller can fold harder and try once more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import httpx

from reconciler.errors import ReconcileError

TIMEOUT = httpx.Timeout(30.0)


@dataclass(frozen=True, slots=True)
class Posted:
    """What a post did: ``created``, ``updated``, ``unchanged``, ``closed`` or ``none``."""

    action: str
    id: int | None = None
    url: str | None = None


class Client:
    """An HTTP client sending the bearer `token` and `headers`; closes as a context manager.

    `transport` is the seam tests replace.
    """

    def __init__(
        self,
        token: str,
        headers: Mapping[str, str],
        *,
        base_url: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", **headers, "User-Agent": "reconcile"},
            timeout=TIMEOUT,
            transport=transport,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
