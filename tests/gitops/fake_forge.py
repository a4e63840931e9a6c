"""A local fake of the GitHub and Azure DevOps REST endpoints `reconcile comment` uses.

For tests that run the templates' shell steps as real processes (respx cannot reach into
them): a threaded HTTP server on 127.0.0.1 that keeps comments, issues and threads in
memory, pages lists like the real services and answers with the recorded shapes.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.gitops import recorded

TOKEN = "test-token"


@dataclass
class Forge:
    """What the fake holds; tests read it to check the world's true state."""

    url: str = ""
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # issue -> comments
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    threads: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 100

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


def _handler(forge: Forge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"null")

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            path, query = unquote(parts.path), parse_qs(parts.query)
            forge.requests.append((method, path))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, recorded.github_error(401))
                return
            if path.startswith("/github/"):
                self._github(method, path.removeprefix("/github"), query)
            elif path.startswith("/ado/"):
                self._ado(method, path, query)
            else:
                self._send(404, recorded.github_error(404))

        def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> None:
            size = int(query.get("per_page", ["30"])[0])
            page = int(query.get("page", ["1"])[0])
            chunk = items[(page - 1) * size : page * size]
            headers = {}
            if page * size < len(items):
                base = f"{forge.url}{urlsplit(self.path).path}"
                rest = "&".join(
                    f"{k}={v[0]}" for k, v in query.items() if k not in ("page", "per_page")
                )
                headers["Link"] = (
                    f'<{base}?per_page={size}&page={page + 1}{"&" + rest if rest else ""}>; '
                    'rel="next"'
                )
            self._send(200, chunk, headers)

        def _github(self, method: str, path: str, query: dict[str, list[str]]) -> None:
            repo = recorded.REPO
            if m := re.fullmatch(rf"/repos/{repo}/issues/(\d+)/comments", path):
                number = int(m[1])
                items = forge.comments.setdefault(number, [])
                if method == "GET":
                    self._page(items, query)
                    return
                comment = recorded.github_comment(
                    forge.new_id(), self._body()["body"], number=number
                )
                items.append(comment)
                self._send(201, comment)
                return
            if (
                m := re.fullmatch(rf"/repos/{repo}/issues/comments/(\d+)", path)
            ) and method == "PATCH":
                for items in forge.comments.values():
                    for comment in items:
                        if comment["id"] == int(m[1]):
                            comment["body"] = self._body()["body"]
                            comment["updated_at"] = "2026-10-02T10:00:00Z"
                            self._send(200, comment)
                            return
                self._send(404, recorded.github_error(404))
                return
            if path == f"/repos/{repo}/issues":
                if method == "GET":
                    state = query.get("state", ["open"])[0]
                    label = query.get("labels", [None])[0]
                    items = [
                        i
                        for i in forge.issues.values()
                        if i["state"] == state
                        and (label is None or label in [x["name"] for x in i["labels"]])
                    ]
                    self._page(items, query)
                    return
                body = self._body()
                number = len(forge.issues) + 1
                issue = recorded.github_issue(number, body["title"], body["body"])
                issue["labels"] = [{"name": n} for n in body.get("labels", [])]
                forge.issues[number] = issue
                self._send(201, issue)
                return
            if (m := re.fullmatch(rf"/repos/{repo}/issues/(\d+)", path)) and method == "PATCH":
                issue = forge.issues[int(m[1])]
                issue.update(self._body())
                self._send(200, issue)
                return
            self._send(404, recorded.github_error(404))

        def _ado(self, method: str, path: str, query: dict[str, list[str]]) -> None:
            if query.get("api-version") != ["7.1"]:
                self._send(400, {"message": "api-version missing"})
                return
            prefix = f"/ado/contoso/{recorded.ADO_PROJECT}/_apis/git/repositories/"
            tail = f"{recorded.ADO_REPO_ID}/pullRequests/{recorded.ADO_PR}/threads"
            if path == prefix + tail:
                if method == "GET":
                    self._send(200, recorded.ado_list(forge.threads))
                    return
                body = self._body()
                key = body.get("properties", {}).get("reconcile.key", {}).get("$value")
                thread = recorded.ado_thread(
                    forge.new_id(), body["comments"][0]["content"], key=key, status=body["status"]
                )
                forge.threads.append(thread)
                self._send(200, thread)
                return
            if (m := re.fullmatch(re.escape(prefix + tail) + r"/(\d+)/comments/(\d+)", path)) and (
                method == "PATCH"
            ):
                for thread in forge.threads:
                    if thread["id"] == int(m[1]):
                        comment = thread["comments"][0]
                        comment["content"] = self._body()["content"]
                        self._send(200, comment)
                        return
            self._send(404, recorded.ado_error(404))

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

    return Handler


@contextmanager
def running_forge() -> Iterator[Forge]:
    """Serve a fresh fake on a free port for the duration of the block."""
    forge = Forge()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(forge))
    forge.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield forge
    finally:
        server.shutdown()
        server.server_close()
