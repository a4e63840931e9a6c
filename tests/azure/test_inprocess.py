"""The CLI's in-process sandbox transport against the httpx one: the same requests reach the sandbox, the same answers reach the SDK."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.core.pipeline.transport import HttpTransport

from reconciler.azure.clients import AzureClients
from reconciler.sandbox.app import Sandbox
from reconciler.sandbox.config import FaultRule
from reconciler.wiring import in_process_transport, sandbox_transport
from tests.azure.conftest import FAST, SUB, World, make_world
from tests.azure.test_read import populate, read_scope_through

# What an HTTP client adds on its own; the sandbox never reads them.
_CLIENT_HEADERS = {"host", "accept-encoding", "connection", "content-length"}
_RANDOM = {"x-ms-client-request-id", "authorization"}  # compared apart (random / per token)
_VARYING = (
    "x-ms-client-request-id",
    "x-ms-correlation-request-id",
    "x-ms-request-id",
    "x-ms-ratelimit-remaining-subscription-reads",
)


class Answers(HttpTransport):  # type: ignore[type-arg]
    """Records each response the SDK gets (status, reason, headers — varying values masked — and body)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.seen: list[tuple[str, int, str, tuple[tuple[str, str], ...], bytes]] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        response = self._inner.send(request, **kwargs)
        headers = {k.lower(): v for k, v in response.headers.items()}
        for varying in _VARYING:  # present, but per request or per bucket state
            headers[varying] = "…" if varying in headers else "absent"
        with self._lock:
            self.seen.append(
                (
                    request.url,
                    response.status_code,
                    response.reason,
                    tuple(sorted(headers.items())),
                    response.content,
                )
            )
        return response

    def open(self) -> None:
        self._inner.open()

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> Answers:
        return self

    def __exit__(self, *args: Any) -> None:
        pass


def _asked(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every request `sandbox` handles, as it sees it (method, URL, headers, body)."""
    asked: list[tuple[Any, ...]] = []
    handle = sandbox.handle

    def recording(request: Any) -> Any:
        asked.append((request.method, request.url, dict(request.headers), request.body))
        return handle(request)

    monkeypatch.setattr(sandbox, "handle", recording)
    return asked


def _read(world: World, transport: Any) -> Answers:
    """What the SDK hears in one read of `SCOPE` through `transport`."""
    answers = Answers(transport)
    read_scope_through(world, answers)
    return answers


def test_a_read_asks_and_hears_the_same_through_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A paged read: the sandbox sees the same method, URL, body and SDK headers; the SDK gets the same status, reason, headers and body."""
    world = make_world(tmp_path / "paged.sqlite", replace(FAST, page_size=2))
    try:
        populate(world, definitions=2, versions=3, pools=3)
        asked = _asked(world.sandbox, monkeypatch)
        via_httpx = _read(world, sandbox_transport(world.sandbox))
        httpx_asked = list(asked)
        asked.clear()
        direct = _read(world, in_process_transport(world.sandbox))
    finally:
        world.close()

    def shown(request: tuple[Any, ...], drop: set[str]) -> tuple[Any, ...]:
        method, url, headers, body = request
        kept = {k.lower(): v for k, v in headers.items() if k.lower() not in drop | _RANDOM}
        return method, url, tuple(sorted(kept.items())), body

    assert len(asked) == len(httpx_asked) > 10
    # httpx adds Accept: */* only where the SDK sent no Accept of its own.
    plain = _CLIENT_HEADERS | {"accept"}
    for ours, theirs in zip(sorted(asked, key=str), sorted(httpx_asked, key=str), strict=True):
        sdk_accept = {k.lower() for k in ours[2]} & {"accept"}
        assert shown(ours, set()) == shown(theirs, plain - sdk_accept)
        assert {k.lower() for k in ours[2]} >= _RANDOM
    assert sorted(direct.seen) == sorted(via_httpx.seen)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (FaultRule(kind="drop", path="/galleries$", first_n=1), ServiceRequestError),
        (FaultRule(kind="drop_after", path="/galleries$", first_n=1), ServiceResponseError),
    ],
    ids=["drop", "drop-after"],
)
def test_a_dropped_connection_is_the_same_error(
    tmp_path: Path, fault: FaultRule, error: type
) -> None:
    """A connection the sandbox drops raises the same azure-core error, with the same message, through both."""
    messages = []
    for name, transport in (("httpx", sandbox_transport), ("direct", in_process_transport)):
        world = make_world(tmp_path / f"{name}.sqlite", replace(FAST, faults=(fault,)))
        try:
            client = AzureClients(
                world.target(),
                client_kwargs={"transport": transport(world.sandbox), "retry_total": 0},
            ).reader("compute", SUB)
            from azure.core.rest import HttpRequest

            url = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/galleries"
            with pytest.raises(error) as caught:
                client.send_request(HttpRequest("GET", url, params={"api-version": "2026-03-03"}))
            messages.append(str(caught.value))
        finally:
            world.close()
    assert messages[0] == messages[1]
