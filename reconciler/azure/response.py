"""`LoadedResponse`: an azure-core response whose whole body is already in memory.

Both of the project's transports answer with one: `reconciler.azure.transport` over a
read `httpx.Response`, `reconciler.azure.inprocess` over a handler's answer. "Streaming"
(which the mgmt SDKs ask for on LRO initial calls) then iterates over memory. This module
imports no HTTP client, so the in-process transport keeps httpx out of a start-up.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any

from azure.core.rest import HttpRequest
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.utils import case_insensitive_dict


class _Answered:
    """What `HttpResponseImpl` keeps as the transport's own response when there is none."""

    def close(self) -> None:
        pass


class LoadedResponse(HttpResponseImpl):
    """An azure-core response over `body`, read in full before the response is handed out.

    `reason` defaults to the status's standard phrase; `internal_response` (closed with
    this response) to nothing to release.
    """

    def __init__(
        self,
        request: HttpRequest,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        *,
        reason: str | None = None,
        internal_response: Any = None,
    ) -> None:
        fields = case_insensitive_dict(headers.items())
        super().__init__(
            request=request,
            internal_response=internal_response if internal_response is not None else _Answered(),
            status_code=status,
            headers=fields,
            reason=_reason(status) if reason is None else reason,
            content_type=fields.get("content-type"),
            stream_download_generator=_no_stream,
        )
        self._content = body

    def iter_raw(self, **kwargs: Any) -> Iterator[bytes]:
        yield from self.iter_bytes(**kwargs)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _no_stream(**kwargs: Any) -> Iterator[bytes]:  # pragma: no cover - content always loaded
    raise RuntimeError("the response's body is loaded in full; nothing to stream")
