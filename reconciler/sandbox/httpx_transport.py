"""An httpx transport that hands requests to a `Sandbox` in-process (no sockets).

Injected dropped connections surface as the errors a real socket would give:
`httpx.ConnectError` when the request never reached the service, `httpx.RemoteProtocolError`
when it was processed but the answer was lost.
"""

from __future__ import annotations

import httpx

from reconciler.sandbox.app import ConnectionDropped, Sandbox, SandboxRequest


class SandboxHttpxTransport(httpx.BaseTransport):
    """`httpx.Client(transport=SandboxHttpxTransport(sandbox))` talks to the sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        try:
            answer = self.sandbox.handle(
                SandboxRequest(
                    method=request.method,
                    url=str(request.url),
                    headers=dict(request.headers),
                    body=body,
                )
            )
        except ConnectionDropped as dropped:
            if dropped.processed:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                ) from dropped
            raise httpx.ConnectError("Connection refused by the sandbox.", request=request) from (
                dropped
            )
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            content=answer.body,
            request=request,
        )
