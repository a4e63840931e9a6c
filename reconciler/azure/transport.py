"""An azure-core `HttpTransport` backed by an `httpx.Client`.

It works with any httpx transport: the sandbox's in-process one (no sockets) or httpx's
own network transport. httpx's connection failures are mapped to azure-core's
`ServiceRequestError` (the request never reached the service; always safe to retry) and
`ServiceResponseError` (it may have been processed), so azure-core's `RetryPolicy` treats
them exactly as it treats its own transports' failures.
"""

from __future__ import annotations

from typing import Any

import httpx
from azure.core.exceptions import (
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from reconciler.azure.response import LoadedResponse


class HttpxTransport(HttpTransport):
    """azure-core transport sending `azure.core.rest.HttpRequest`s through an `httpx.Client`.

    Pass either a ready `client`, or an httpx `transport` (e.g. `SandboxHttpxTransport`)
    from which a client is built.
    """

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        if client is not None and transport is not None:
            raise ValueError("pass either client or transport, not both")
        self._own_client = client is None
        self.client = client or httpx.Client(transport=transport, timeout=timeout)

    def __enter__(self) -> HttpxTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        # Clients share one transport for their life; closing is explicit (`close`).
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def send(self, request: Any, **kwargs: Any) -> LoadedResponse:  # type: ignore[override]
        if not isinstance(request, HttpRequest):
            raise TypeError("HttpxTransport sends azure.core.rest.HttpRequest only")
        for key in (
            "stream",
            "connection_verify",
            "connection_cert",
            "proxies",
            "connection_timeout",
            "read_timeout",
            "connection_data_block_size",
        ):
            kwargs.pop(key, None)
        content = request.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        try:
            response = self.client.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                content=content if content is not None else None,
            )
        except httpx.ConnectTimeout as exc:
            raise ServiceRequestTimeoutError(str(exc), error=exc) from exc
        except httpx.ConnectError as exc:
            raise ServiceRequestError(str(exc), error=exc) from exc
        except httpx.TimeoutException as exc:
            raise ServiceResponseTimeoutError(str(exc), error=exc) from exc
        except httpx.TransportError as exc:
            # RemoteProtocolError, ReadError, WriteError...: the request may have been processed.
            raise ServiceResponseError(str(exc), error=exc) from exc
        return LoadedResponse(
            request,
            response.status_code,
            response.headers,
            response.content,
            reason=response.reason_phrase,
            internal_response=response,
        )
