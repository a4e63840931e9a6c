"""`reconcile sandbox serve` as a user runs it: a separate process serving HTTPS on loopback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import requests

SUB = "00000000-0000-0000-0000-000000000001"


def test_serve_command_serves_the_world_over_https(tmp_path):
    """`sandbox init` then `sandbox serve --port 0` answers authenticated ARM requests."""
    state = tmp_path / "world.sqlite"
    cli = [sys.executable, "-m", "reconciler.cli", "sandbox"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run([*cli, "init", "--sandbox", str(state)], check=True, env=env, timeout=60)
    server = subprocess.Popen(
        [*cli, "serve", "--sandbox", str(state), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline and "serving" not in line:
            line = server.stderr.readline()
        match = re.search(r"serving (https://127\.0\.0\.1:\d+) \(CA certificate: (.+?)\)", line)
        assert match, line
        url, ca = match.groups()
        answer = requests.get(
            f"{url}/subscriptions/{SUB}/resourceGroups/rg-batch/providers/Microsoft.Batch"
            "/batchAccounts/batchprodweu?api-version=2025-06-01",
            headers={"Authorization": "Bearer t"},
            verify=ca,
            timeout=10,
        )
        assert answer.status_code == 200
        assert answer.json()["name"] == "batchprodweu"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stderr.close()
