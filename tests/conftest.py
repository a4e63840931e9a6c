"""Suite-wide fixtures: every sandbox exchange in every test is held to Microsoft's specs.

The autouse fixture below wraps ``reconciler.sandbox.app.Sandbox.handle`` (at class level,
so the in-process transport, the HTTPS server and direct calls are all covered). Each
request the sandbox accepts and each response it returns is checked against the swagger
operation it belongs to (``tests/support/openapi.py``); violations are collected, never
raised inside ``handle``, and fail the test at teardown with one line per violation.

Opt out with ``@pytest.mark.no_openapi_check`` in tests that deliberately send malformed
requests or exercise faults whose responses are not ARM-shaped by design.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator

import pytest

MARKER = "no_openapi_check"
_MAX_LINES = 40


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: do not validate sandbox traffic against the Azure OpenAPI specs",
    )


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """One line on how much sandbox traffic was held to the specs.

    Set RECONCILE_OPENAPI_REPORT=1 to list the operations validated and the URLs that were not.
    """
    import os
    import sys

    openapi = sys.modules.get("tests.support.openapi")
    if openapi is None:
        return
    stats = openapi.STATS
    validated = sum(stats.validated.values())
    unvalidated = sum(stats.unvalidated.values())
    if not validated and not unvalidated:
        return
    terminalreporter.write_line(
        f"Azure OpenAPI: {validated} responses validated across {len(stats.validated)} "
        f"operations; {unvalidated} responses on URLs no swagger describes"
    )
    if os.environ.get("RECONCILE_OPENAPI_REPORT"):
        for name, count in sorted(stats.validated.items()):
            terminalreporter.write_line(f"  validated   {count:6d}  {name}")
        for name, count in sorted(stats.unvalidated.items(), key=lambda kv: -kv[1])[:20]:
            terminalreporter.write_line(f"  unvalidated {count:6d}  {name}")


def _sandbox_class() -> type | None:
    try:
        module = importlib.import_module("reconciler.sandbox.app")
    except ImportError:
        return None
    cls = getattr(module, "Sandbox", None)
    return cls if cls is not None and hasattr(cls, "handle") else None


class OpenApiRecorder:
    """Collects violations from wrapped ``Sandbox.handle`` calls during one test."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.exchanges = 0
        self._lock = threading.Lock()

    def record(self, request: object, response: object) -> None:
        from tests.support import openapi

        try:
            found = openapi.check_exchange(
                request.method,
                request.url,
                dict(request.headers or {}),
                request.body or b"",
                response.status,
                dict(response.headers or {}),
                response.body or b"",
            )
        except Exception as exc:  # the validator must never break the sandbox
            found = [f"validator error on {request.method} {request.url}: {exc!r}"]
        with self._lock:
            self.exchanges += 1
            for line in found:
                if line not in self.violations:
                    self.violations.append(line)

    def report(self) -> str:
        shown = self.violations[:_MAX_LINES]
        more = len(self.violations) - len(shown)
        lines = [f"  - {v}" for v in shown]
        if more:
            lines.append(f"  ... and {more} more")
        return (
            f"{len(self.violations)} Azure OpenAPI violation(s) in sandbox traffic "
            f"({self.exchanges} exchanges checked):\n" + "\n".join(lines)
        )


@pytest.fixture(autouse=True)
def openapi_check(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OpenApiRecorder | None]:
    """Validate every sandbox request/response of the test; fail at teardown on violations."""
    if request.node.get_closest_marker(MARKER) is not None:
        yield None
        return
    cls = _sandbox_class()
    if cls is None:
        yield None
        return
    from tests.support import openapi

    openapi.reset_monitors()
    recorder = OpenApiRecorder()
    original = cls.handle

    def handle(self, sandbox_request):
        response = original(self, sandbox_request)
        recorder.record(sandbox_request, response)
        return response

    handle.__wrapped__ = original  # type: ignore[attr-defined]
    monkeypatch.setattr(cls, "handle", handle)
    yield recorder
    monkeypatch.setattr(cls, "handle", original)
    if recorder.violations:
        pytest.fail(recorder.report(), pytrace=False)
