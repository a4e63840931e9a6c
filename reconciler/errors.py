"""The exception hierarchy every layer raises; classification happens once, at the edge.

    ReconcileError                    anything the CLI turns into a clear message + exit 1
    ├── CredentialError               no usable Azure credential (what was tried, how to fix)
    ├── SecretError                   a ${env:NAME} reference with no value at apply time
    ├── StalePlanError                a saved plan no longer matches spec or live state
    ├── PlanMismatchError             a saved plan is not what the spec and live state plan
    └── AzureError                    Azure (or the sandbox) said no; carries code/status
        ├── TransientAzureError       worth retrying later (after `retry_after` seconds)
        │   ├── 409 another operation in progress, pool still resizing
        │   └── long-running operation failed with a retryable code, 5xx after SDK retries
        └── PermanentAzureError       retrying is useless: stop the branch and explain
            ├── ConflictError         ETag / If-None-Match precondition failed (412, exists)
            └── 400 bad request, 401/403 authorization, quota, not found where required

The Azure layer (`reconciler.azure`) maps SDK exceptions into this tree; apply's
retry policy looks only at the class, never at message text.
"""

from __future__ import annotations


class ReconcileError(Exception):
    """Base of every error the tool reports to a person."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class CredentialError(ReconcileError):
    """No credential could produce a token; the message says what was tried."""


class SecretError(ReconcileError):
    """A secret reference could not be resolved from the environment."""


class StalePlanError(ReconcileError):
    """A saved plan was computed against a spec or live state that has since moved."""

    def __init__(self, message: str, *, moved: tuple[str, ...] = (), hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.moved = moved


class PlanMismatchError(ReconcileError):
    """A saved plan differs from a fresh plan of the same spec on the same live state."""

    def __init__(self, message: str, *, differing: tuple[str, ...] = (), hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.differing = differing


class AzureError(ReconcileError):
    """Azure refused or failed an operation."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        status: int | None = None,
        address: str | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.status = status
        self.address = address


class TransientAzureError(AzureError):
    """Likely to succeed if tried again after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class PermanentAzureError(AzureError):
    """Will fail the same way however often it is retried."""


class ConflictError(PermanentAzureError):
    """A precondition (ETag `If-Match`, `If-None-Match: *`) failed: someone else changed it."""
