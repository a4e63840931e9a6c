"""Classification of Azure SDK exceptions into reconciler.errors: the table, and real SDK calls shaped with respx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceModifiedError,
    ServiceRequestError,
)

from reconciler.azure.clients import AzureClients
from reconciler.azure.credentials import StaticTokenCredential
from reconciler.azure.errors import classify, retry_after
from reconciler.azure.operations import AzureOperations
from reconciler.azure.target import Target
from reconciler.azure.transport import HttpxTransport
from reconciler.errors import (
    ConflictError,
    CredentialError,
    PermanentAzureError,
    TransientAzureError,
)
from reconciler.state.model import Kind
from tests.azure.conftest import GALLERY, OWNED, POOL, pool_props


class FakeResponse:
    """The little of an azure-core response HttpResponseError reads."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        self.status_code = status
        self.reason = "reason"
        self.headers = headers or {}
        self._text = json.dumps(body) if body is not None else ""

    def text(self) -> str:
        return self._text


def _error(status: int, code: str | None = None, headers: dict[str, str] | None = None):
    body = {"error": {"code": code, "message": f"{code} happened"}} if code else None
    return HttpResponseError(response=FakeResponse(status, body, headers))


TABLE = [
    # (status, code, expected class)
    (412, None, ConflictError),
    (412, "PreconditionFailed", ConflictError),
    (409, "PoolAlreadyExists", ConflictError),
    (409, "AnotherOperationInProgress", TransientAzureError),
    (409, "PoolBeingResized", TransientAzureError),
    (409, "PoolBeingDeleted", TransientAzureError),
    (409, "OperationNotAllowed", PermanentAzureError),  # Compute quota
    (409, "SomethingElse", PermanentAzureError),
    (408, None, TransientAzureError),
    (429, "SubscriptionRequestsThrottled", TransientAzureError),
    (500, "InternalServerError", TransientAzureError),
    (502, None, TransientAzureError),
    (503, "ServiceUnavailable", TransientAzureError),
    (504, None, TransientAzureError),
    (400, "InvalidParameter", PermanentAzureError),
    (401, "InvalidAuthenticationToken", PermanentAzureError),
    (403, "AuthorizationFailed", PermanentAzureError),
    (404, "ResourceNotFound", PermanentAzureError),
    (400, "QuotaExceeded", PermanentAzureError),
    (403, "PoolQuotaReached", PermanentAzureError),
    # A long-running operation that ended Failed: azure-core raises with the final 200.
    (200, "InternalExecutionError", TransientAzureError),
    (200, "InternalOperationError", TransientAzureError),
    (200, "RetryableError", TransientAzureError),
    (200, "InvalidParameter", PermanentAzureError),
    (200, None, PermanentAzureError),
]


@pytest.mark.parametrize(("status", "code", "expected"), TABLE)
def test_classification_table(status: int, code: str | None, expected: type) -> None:
    """Each (status, ARM code) lands in exactly the class the table names, code and status kept."""
    mapped = classify(_error(status, code), address="gallery:g")
    assert type(mapped) is expected
    assert mapped.status == status
    assert mapped.code == (code or "")
    assert mapped.address == "gallery:g"


def test_codes_match_case_insensitively() -> None:
    """ARM codes are compared without regard to case (services differ in spelling)."""
    mapped = classify(_error(409, "anotheroperationinprogress"))
    assert type(mapped) is TransientAzureError
    assert mapped.code == "anotheroperationinprogress"  # kept as Azure spelled it


def test_retry_after_seconds_date_and_ms() -> None:
    """Retry-After in seconds or as an HTTP date, and x-ms-retry-after-ms, become seconds."""
    assert retry_after(_error(429, "X", {"Retry-After": "7"})) == 7
    assert retry_after(_error(429, "X", {"x-ms-retry-after-ms": "1500"})) == 1.5
    dated = _error(503, None, {"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"})
    assert retry_after(dated, now=1445412500.0) == 10
    assert retry_after(_error(503)) is None
    mapped = classify(_error(429, "SubscriptionRequestsThrottled", {"Retry-After": "3"}))
    assert type(mapped) is TransientAzureError and mapped.retry_after == 3


def test_sdk_exception_subclasses_and_connection_errors() -> None:
    """Precondition subclasses map by status; a dropped connection is transient; a token failure is a credential error."""
    # Exact classes: ConflictError is itself a PermanentAzureError, so isinstance would
    # let a 401 pass as a conflict.
    modified = classify(ResourceModifiedError(response=FakeResponse(412)))
    assert type(modified) is ConflictError and modified.status == 412
    dropped = classify(ServiceRequestError("connection reset"))
    assert type(dropped) is TransientAzureError
    assert str(dropped) == "connection to Azure failed: connection reset"
    no_token = classify(ClientAuthenticationError("no token"))
    assert type(no_token) is CredentialError
    assert str(no_token) == "Could not get an Azure token: no token"
    denied = classify(
        ClientAuthenticationError(response=FakeResponse(401, {"error": {"code": "X"}}))
    )
    assert type(denied) is PermanentAzureError and (denied.status, denied.code) == (401, "X")
    already = ConflictError("x")
    assert classify(already) is already


# -- through the real SDK, faults shaped at the HTTP layer ------------------------------

ARM = "https://management.azure.com"


def _operations() -> AzureOperations:
    clients = AzureClients(
        Target.for_azure(),
        credential=StaticTokenCredential(),
        client_kwargs={
            "transport": HttpxTransport(client=httpx.Client()),
            "retry_total": 1,
            "retry_backoff_factor": 0,
            "polling_interval": 0,
        },
    )
    return AzureOperations(clients)


@respx.mock
def test_409_operation_in_progress_on_gallery_put_is_transient() -> None:
    """A 409 AnotherOperationInProgress from a gallery PUT reaches apply as TransientAzureError."""
    respx.put(url__startswith=f"{ARM}{GALLERY}").mock(
        return_value=httpx.Response(
            409, json={"error": {"code": "AnotherOperationInProgress", "message": "busy"}}
        )
    )
    with pytest.raises(TransientAzureError) as caught:
        _operations().create(
            kind=Kind.GALLERY, resource_id=GALLERY, location="westeurope", props={**OWNED}
        )
    assert caught.value.code == "AnotherOperationInProgress"
    assert caught.value.address == "gallery:gal"


@respx.mock
def test_throttling_after_sdk_retries_is_transient_with_retry_after() -> None:
    """A 429 that outlasts azure-core's (bounded) retries carries Azure's Retry-After."""
    route = respx.get(url__startswith=f"{ARM}{GALLERY}").mock(
        return_value=httpx.Response(
            429,
            headers={"Retry-After": "0"},
            json={"error": {"code": "SubscriptionRequestsThrottled", "message": "slow down"}},
        )
    )
    with pytest.raises(TransientAzureError) as caught:
        _operations().read(kind=Kind.GALLERY, resource_id=GALLERY)
    assert route.call_count == 2  # first try + retry_total=1, done by azure-core
    assert caught.value.retry_after == 0


@respx.mock
@pytest.mark.parametrize(
    ("code", "expected"),
    [("InternalExecutionError", TransientAzureError), ("InvalidParameter", PermanentAzureError)],
)
def test_failed_long_running_operation(code: str, expected: type) -> None:
    """A gallery PUT whose operation ends Failed is transient or permanent by the operation's code."""
    status_url = (
        f"{ARM}/subscriptions/x/providers/Microsoft.Compute/locations/westeurope/operations/op1"
    )
    respx.put(url__startswith=f"{ARM}{GALLERY}").mock(
        return_value=httpx.Response(
            201,
            headers={"Azure-AsyncOperation": status_url},
            json={"location": "westeurope", "properties": {"provisioningState": "Creating"}},
        )
    )
    respx.get(url__startswith=status_url).mock(
        return_value=httpx.Response(
            200, json={"status": "Failed", "error": {"code": code, "message": "it broke"}}
        )
    )
    with pytest.raises(expected) as caught:
        _operations().create(
            kind=Kind.GALLERY, resource_id=GALLERY, location="westeurope", props={**OWNED}
        )
    assert caught.value.code == code


@respx.mock
def test_pool_precondition_failed_is_conflict() -> None:
    """A 412 answering a pool PATCH with If-Match is a ConflictError."""
    # The PATCH is read-modify-write: the pool is read first, then patched.
    respx.get(url__startswith=f"{ARM}{POOL}").mock(
        return_value=httpx.Response(200, json={"name": "render", "etag": 'W/"0"', "properties": {}})
    )
    route = respx.patch(url__startswith=f"{ARM}{POOL}").mock(
        return_value=httpx.Response(
            412, json={"error": {"code": "ConditionNotMet", "message": "etag mismatch"}}
        )
    )
    with pytest.raises(ConflictError):
        _operations().update(
            kind=Kind.POOL,
            resource_id=POOL,
            location="westeurope",
            props=pool_props(),
            changed_paths=("metadata.x",),
            etag='W/"1"',
        )
    assert route.calls.last.request.headers["If-Match"] == 'W/"1"'


@respx.mock
def test_connection_failure_is_transient() -> None:
    """A connection that cannot be made (after azure-core's retries) is TransientAzureError."""
    respx.get(url__startswith=f"{ARM}{GALLERY}").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransientAzureError):
        _operations().read(kind=Kind.GALLERY, resource_id=GALLERY)
