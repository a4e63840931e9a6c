"""The sandbox over HTTPS on the loopback interface (`reconcile sandbox serve`).

A threaded `http.server` wrapped in TLS hands every request to `Sandbox.handle`, so the
Azure SDK's default `requests` transport reaches the emulator exactly as it would reach
Azure: point a client at ``base_url=server.url`` with ``connection_verify=server.ca_path``.
The certificate comes from a local CA generated on first use (see `tls.py`) and kept
next to the state file.

Only loopback is served: any host other than ``127.0.0.1``/``localhost`` is refused.

* `run_server(...)` serves until interrupted (the CLI's ``serve``);
* `start_in_thread(...)` serves in a background thread and returns a `RunningServer`
  with ``.url``, ``.ca_path`` and ``.stop()`` (tests, benchmarks).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import ssl
import struct
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from reconciler.sandbox.tls import CertPaths, default_cert_dir, ensure_certificates

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1"}
SOCKET_TIMEOUT = 60.0
MAX_BODY = 64 * 1024 * 1024
# Hop-by-hop and framing headers the server sets itself.
_SKIP_RESPONSE_HEADERS = {"content-length", "connection", "transfer-encoding", "keep-alive"}


class DropConnection(Exception):
    """Raised by the request path to close the connection without answering."""


def _is_drop(exc: BaseException) -> bool:
    """A fault that means "the connection dropped", whatever the sandbox calls it."""
    if isinstance(exc, DropConnection | ConnectionError):
        return True
    return "drop" in type(exc).__name__.lower()


@dataclass
class RunningServer:
    """A sandbox HTTPS server running in a background thread."""

    url: str
    ca_path: Path
    certs: CertPaths
    host: str
    port: int
    sandbox: Any
    _server: ThreadingHTTPServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _owns_sandbox: bool = field(default=True, repr=False)

    def stop(self) -> None:
        """Stop serving, close the socket and wait for the serving thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        close = getattr(self.sandbox, "close", None)
        if self._owns_sandbox and callable(close):
            close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, sandbox, ssl_context: ssl.SSLContext) -> None:
        super().__init__(address, _Handler)
        self.sandbox = sandbox
        self.ssl_context = ssl_context

    def get_request(self):
        sock, addr = super().get_request()
        sock.settimeout(SOCKET_TIMEOUT)
        # Headers and body go out in separate writes; without NODELAY, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every keep-alive response.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The TLS handshake happens in the handler's thread (see _Handler.setup), so one
        # slow client cannot stall the accept loop.
        tls = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return tls, addr

    def handle_error(self, request, client_address) -> None:
        log.debug("sandbox server: connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "reconcile-sandbox"
    sys_version = ""

    def setup(self) -> None:
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.request.close()
            raise
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox %s - %s", self.address_string(), format % args)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        from reconciler.sandbox.app import SandboxRequest

        server: _SandboxHTTPServer = self.server  # type: ignore[assignment]
        body = self._read_body()
        host = self.headers.get("Host") or "{}:{}".format(*server.server_address[:2])
        request = SandboxRequest(
            method=self.command.upper(),
            url=f"https://{host}{self.path}",
            headers={k: v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = server.sandbox.handle(request)
        except Exception as exc:
            if _is_drop(exc):
                self._drop(processed=bool(getattr(exc, "processed", False)))
                return
            log.exception("sandbox failed on %s %s", self.command, self.path)
            self._answer_internal_error(exc)
            return
        self.send_response(response.status)
        for name, value in (response.headers or {}).items():
            if name.lower() not in _SKIP_RESPONSE_HEADERS:
                self.send_header(name, value)
        payload = b"" if self.command == "HEAD" else (response.body or b"")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _drop(self, *, processed: bool) -> None:
        """Close with a reset; after a processed request, mid-answer (a protocol error)."""
        self.close_connection = True
        if processed:
            with contextlib.suppress(OSError):
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{")
                self.wfile.flush()
        # Linger 0: closing sends a reset, as a dropped connection looks to a client.
        with contextlib.suppress(OSError):
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _answer_internal_error(self, exc: Exception) -> None:
        body = json.dumps(
            {"error": {"code": "InternalServerError", "message": f"Sandbox failure: {exc}"}}
        ).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


def _loopback(host: str) -> str:
    bind = LOOPBACK_HOSTS.get(host.strip().lower())
    if bind is None:
        raise ValueError(
            f"the sandbox serves loopback only; refusing host {host!r} "
            f"(use one of {sorted(LOOPBACK_HOSTS)})"
        )
    return bind


def _ssl_context(certs: CertPaths) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certs.cert_path, certs.key_path)
    return context


def _build(
    state_path: str | os.PathLike[str],
    host: str,
    port: int,
    cert_dir: str | os.PathLike[str] | None,
    config: Any,
    sandbox: Any = None,
) -> RunningServer:
    """A listening server, to be served from the calling thread (see `start_in_thread`)."""
    bind = _loopback(host)
    certs = ensure_certificates(cert_dir or default_cert_dir(state_path))
    owns_sandbox = sandbox is None
    if sandbox is None:
        from reconciler.sandbox.app import Sandbox

        sandbox = Sandbox(state_path, config=config)
    server = _SandboxHTTPServer((bind, port), sandbox, _ssl_context(certs))
    name = "localhost" if host.strip().lower() == "localhost" else bind
    return RunningServer(
        url=f"https://{name}:{server.server_address[1]}",
        ca_path=certs.ca_path,
        certs=certs,
        host=host,
        port=server.server_address[1],
        sandbox=sandbox,
        _server=server,
        _thread=threading.current_thread(),
        _owns_sandbox=owns_sandbox,
    )


def _announce(running: RunningServer) -> None:
    """Tell a person at a terminal how to reach the server (stderr; stdout stays clean)."""
    print(
        f"sandbox: serving {running.url} (CA certificate: {running.ca_path}); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )


def run_server(
    *,
    state_path: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 0,
    cert_dir: str | os.PathLike[str] | None = None,
    config: Any = None,
    ready: Callable[[RunningServer], None] | None = None,
) -> None:
    """Serve the sandbox at `state_path` over HTTPS on loopback until interrupted.

    `ready` is called once the socket listens, with a `RunningServer` whose ``url`` and
    ``ca_path`` tell a client how to connect (``port=0`` picks a free port); without it,
    one line saying the same goes to stderr.
    """
    running = _build(state_path, host, port, cert_dir, config)
    server = running._server
    (ready or _announce)(running)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        close = getattr(getattr(server, "sandbox", None), "close", None)
        if callable(close):
            close()


def start_in_thread(
    *,
    state_path: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 0,
    cert_dir: str | os.PathLike[str] | None = None,
    config: Any = None,
    sandbox: Any = None,
) -> RunningServer:
    """Serve the sandbox over HTTPS from a daemon thread; call ``.stop()`` when done.

    Pass `sandbox` to serve an existing `Sandbox` object (e.g. one a test already seeded).
    """
    running = _build(state_path, host, port, cert_dir, config, sandbox)
    running._thread = threading.Thread(
        target=running._server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"sandbox-https-{running.port}",
        daemon=True,
    )
    running._thread.start()
    return running
