"""An azure-core `HttpTransport` that hands each request to a function in this process.

The command line's sandbox mode sends every request to the emulator in its own process
(`reconciler.wiring.azure_clients`). Going through an HTTP client there only to reach a
function call (`reconciler.azure.transport.HttpxTransport` with the sandbox's httpx
transport, which tests and benchmarks of the SDK clients keep using) costs its import,
≈15 ms of a `plan`'s start-up; this transport calls the function directly. The function
gets what an HTTP server would (method, URL, headers, body) and answers with status,
headers and body; a `ConnectionLost` it raises becomes the error a lost connection gives
through the HTTP transports: `ServiceRequestError` when the request never reached the
service, `ServiceResponseError` when it may have been processed, so azure-core's
`RetryPolicy` treats them the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from reconciler.azure.response import LoadedResponse

# (method, URL, headers, body) -> (status, headers, body)
Handler = Callable[[str, str, dict[str, str], bytes], tuple[int, Mapping[str, str], bytes]]


class ConnectionLost(Exception):
    """Raised by a handler for a dropped connection; `processed` if the request took effect."""

    def __init__(self, message: str, *, processed: bool) -> None:
        super().__init__(message)
        self.processed = processed


class InProcessTransport(HttpTransport):
    """azure-core transport sending `azure.core.rest.HttpRequest`s to `handler` (no sockets)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def __enter__(self) -> InProcessTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, request: Any, **kwargs: Any) -> LoadedResponse:  # type: ignore[override]
        if not isinstance(request, HttpRequest):
            raise TypeError("InProcessTransport sends azure.core.rest.HttpRequest only")
        content = request.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        body = content if isinstance(content, bytes) else b""
        try:
            status, headers, answer = self.handler(
                request.method, request.url, dict(request.headers), body
            )
        except ConnectionLost as lost:
            error = ServiceResponseError if lost.processed else ServiceRequestError
            raise error(str(lost), error=lost) from lost
        return LoadedResponse(request, status, headers, answer)
