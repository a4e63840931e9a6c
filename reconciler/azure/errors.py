"""Classify Azure SDK exceptions once, into `reconciler.errors`.

The classification is a table (`CODE_RULES`, then `STATUS_RULES`), not a chain of `if`s:
an ARM error code decides first when it is listed, then the HTTP status. Apply's retry
policy looks only at the resulting class:

- 412 (an `If-Match` / `If-None-Match: *` precondition) and "already exists" → `ConflictError`;
- 409 "another operation is in progress" codes (ARM, Compute, Batch), 408/429/5xx that
  survived azure-core's own retries, dropped connections → `TransientAzureError`
  carrying the `Retry-After` Azure asked for;
- a long-running operation that ended `Failed` (azure-core raises it with the final
  status response, HTTP 200) → transient when its code is retryable, else permanent;
- everything else — 400, 401/403, 404, quota — → `PermanentAzureError`.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from azure.core.exceptions import (
    AzureError as SdkAzureError,
)
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from reconciler.errors import (
    AzureError,
    ConflictError,
    CredentialError,
    PermanentAzureError,
    ReconcileError,
    TransientAzureError,
)

T, P, C = TransientAzureError, PermanentAzureError, ConflictError

# ARM error code (case-insensitive) → class. Listed codes win over the HTTP status.
CODE_RULES: Mapping[str, type[AzureError]] = {
    # Preconditions and existence (someone else got there first).
    "PreconditionFailed": C,
    "ConditionNotMet": C,
    "ResourceExists": C,
    "PoolExists": C,
    "PoolAlreadyExists": C,
    # Another operation is in progress on the resource (409): try again later.
    "AnotherOperationInProgress": T,
    "OperationInProgress": T,
    "ConflictingOperationInProgress": T,
    "ConcurrentOperation": T,
    "OperationPreempted": T,
    "PoolBeingResized": T,
    "PoolBeingCreated": T,
    "PoolBeingDeleted": T,
    "PoolResizing": T,
    "AccountBeingCreated": T,
    "ResourceBeingDeleted": T,
    "GalleryImageVersionReplicationInProgress": T,
    # Retryable failures reported by a long-running operation or a service.
    "RetryableError": T,
    "InternalExecutionError": T,
    "InternalServerError": T,
    "InternalOperationError": T,
    "ServerTimeout": T,
    "ServiceUnavailable": T,
    "TooManyRequests": T,
    "SubscriptionRequestsThrottled": T,
    "OperationTimedOut": T,
    "GatewayTimeout": T,
    # Never worth retrying, whatever the status says (quota is a 409 in Compute).
    "OperationNotAllowed": P,
    "QuotaExceeded": P,
    "DedicatedCoreQuotaReached": P,
    "LowPriorityCoreQuotaReached": P,
    "PoolQuotaReached": P,
    "AuthorizationFailed": P,
    "LinkedAuthorizationFailed": P,
    "InvalidAuthenticationToken": P,
    "PropertyChangeNotAllowed": P,
    "ScopeLocked": P,
}
_CODE_RULES_CI = {k.lower(): v for k, v in CODE_RULES.items()}

# HTTP status → class when the code is not listed. 2xx appears for a failed LRO
# (azure-core raises with the final status response); its code decides, default permanent.
STATUS_RULES: Mapping[int, type[AzureError]] = {
    408: T,
    412: C,
    429: T,
    500: T,
    502: T,
    503: T,
    504: T,
}
DEFAULT_4XX: type[AzureError] = P
DEFAULT_5XX: type[AzureError] = T
DEFAULT_OTHER: type[AzureError] = P


def classify(exc: BaseException, *, address: str | None = None) -> ReconcileError:
    """The `reconciler.errors` exception for an SDK exception (never raises itself)."""
    if isinstance(exc, ReconcileError):
        return exc
    if isinstance(exc, ClientAuthenticationError) and exc.response is None:
        # Raised by the credential while getting a token, not by ARM.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return CredentialError(f"Could not get an Azure token: {first}")
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return TransientAzureError(
            f"connection to Azure failed: {_first_line(exc)}",
            code=type(exc).__name__,
            address=address,
        )
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        code, message = error_code(exc)
        cls = _class_for(status, code)
        text = _message(status, code, message)
        if cls is TransientAzureError:
            return TransientAzureError(
                text,
                retry_after=retry_after(exc),
                code=code,
                status=status,
                address=address,
            )
        return cls(text, code=code, status=status, address=address)
    if isinstance(exc, SdkAzureError):
        return PermanentAzureError(_first_line(exc), code=type(exc).__name__, address=address)
    return PermanentAzureError(
        f"{type(exc).__name__}: {exc}", code=type(exc).__name__, address=address
    )


@contextmanager
def translated(*, address: str | None = None) -> Iterator[None]:
    """Run a block of SDK calls; any Azure exception leaves it as a `reconciler.errors` one."""
    try:
        yield
    except (SdkAzureError, ReconcileError) as exc:
        mapped = classify(exc, address=address)
        if mapped is exc:
            raise
        raise mapped from exc


def error_code(exc: HttpResponseError) -> tuple[str, str]:
    """ARM error (code, message) from the parsed error or, failing that, the raw body."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) or ""
    message = getattr(error, "message", None) or ""
    if not code and exc.response is not None:
        try:
            body = json.loads(exc.response.text())
        except Exception:
            body = None
        if isinstance(body, dict):
            error = body.get("error")
            inner: dict[str, Any] = error if isinstance(error, dict) else body
            code = str(inner.get("code") or "")
            message = str(inner.get("message") or message)
    if not message:
        message = exc.reason or _first_line(exc)
    return code, message


def retry_after(exc: HttpResponseError, *, now: float | None = None) -> float | None:
    """Seconds Azure asked us to wait (``Retry-After`` seconds or date, ``x-ms-retry-after-ms``)."""
    response = exc.response
    if response is None:
        return None
    headers = {k.lower(): v for k, v in getattr(response, "headers", {}).items()}
    if "x-ms-retry-after-ms" in headers:
        try:
            return max(0.0, float(headers["x-ms-retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - (time.time() if now is None else now))


def _class_for(status: int | None, code: str) -> type[AzureError]:
    by_code = _CODE_RULES_CI.get(code.lower()) if code else None
    if by_code is not None:
        return by_code
    if status is None:
        return DEFAULT_OTHER
    if status in STATUS_RULES:
        return STATUS_RULES[status]
    if 400 <= status < 500:
        return DEFAULT_4XX
    if status >= 500:
        return DEFAULT_5XX
    return DEFAULT_OTHER


def _message(status: int | None, code: str, message: str) -> str:
    if status is not None and 200 <= status < 300:
        head = f"operation failed ({code})" if code else "operation failed"
    else:
        head = f"HTTP {status} {code}".rstrip() if status is not None else code or "error"
    return f"{head}: {message}" if message else head


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", "") or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def is_not_found(exc: BaseException) -> bool:
    """True for a 404 (the resource, or its resource group / parent, is not there)."""
    return isinstance(exc, HttpResponseError) and exc.status_code == 404
