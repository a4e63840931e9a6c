"""The ARM protocol as clients see it: auth, headers, LROs, throttling, faults, persistence,
concurrency, configuration and the CLI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.compute import ComputeManagementClient
from click.testing import CliRunner

from reconciler.sandbox import Sandbox, SandboxConfig, SandboxRequest, load_config
from reconciler.sandbox.config import ENV_CONFIG, Bucket, FaultRule, ThrottleConfig
from reconciler.sandbox.httpx_transport import SandboxHttpxTransport
from reconciler.sandbox.store import Store
from reconciler.sandbox.throttle import admit
from reconciler.wiring import sandbox_client_kwargs
from tests.sandbox.conftest import FAST, FROZEN, RG_IMAGES, SUB, definition_body, version_body

BASE = "https://management.azure.com"
GALLERIES = (
    f"{BASE}/subscriptions/{SUB}/resourceGroups/{RG_IMAGES}/providers/Microsoft.Compute/galleries"
)
AUTH = {"Authorization": "Bearer t"}


def get(sandbox: Sandbox, url: str, headers: dict[str, str] | None = None):
    return sandbox.handle(SandboxRequest("GET", url, AUTH if headers is None else headers))


def put(sandbox: Sandbox, url: str, body: dict):
    return sandbox.handle(
        SandboxRequest(
            "PUT", url, {**AUTH, "Content-Type": "application/json"}, json.dumps(body).encode()
        )
    )


class StatusRecorder(SansIOHTTPPolicy):
    """Records the status of every HTTP attempt (retries included)."""

    def __init__(self) -> None:
        self.statuses: list[int] = []

    def on_response(self, request, response) -> None:
        self.statuses.append(response.http_response.status_code)


def recorded_client(sandbox: Sandbox) -> tuple[ComputeManagementClient, StatusRecorder]:
    recorder = StatusRecorder()
    client = ComputeManagementClient(
        subscription_id=SUB, per_retry_policies=[recorder], **sandbox_client_kwargs(sandbox)
    )
    return client, recorder


def test_missing_bearer_token_is_401(sandbox):
    """A request without Authorization gets 401 AuthenticationFailed with a request id."""
    answer = get(sandbox, f"{GALLERIES}?api-version=2026-03-03", headers={})
    assert answer.status == 401
    assert answer.json()["error"]["code"] == "AuthenticationFailed"
    assert answer.headers["x-ms-request-id"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_shared_key_auth_is_rejected(sandbox):
    """Shared Key authentication is refused, as Batch refuses it for custom-image pools (R11)."""
    answer = get(
        sandbox,
        f"{GALLERIES}?api-version=2026-03-03",
        headers={"Authorization": "SharedKey acct:c2lnbmF0dXJl"},
    )
    assert answer.status == 401
    assert "Entra" in answer.json()["error"]["message"]


def test_every_response_has_request_id_and_rate_limit_header(frozen):
    """Every answer carries x-ms-request-id and the remaining-requests header of its class."""
    sandbox = frozen  # simulated time stands still, so the read bucket does not refill
    first = get(sandbox, f"{GALLERIES}?api-version=2026-03-03")
    second = get(sandbox, f"{GALLERIES}/missing?api-version=2026-03-03")
    assert second.status == 404
    reads = [int(a.headers["x-ms-ratelimit-remaining-subscription-reads"]) for a in (first, second)]
    assert reads[1] < reads[0] <= 250
    created = put(sandbox, f"{GALLERIES}/g?api-version=2026-03-03", {"location": "westeurope"})
    assert created.status == 201
    assert "x-ms-ratelimit-remaining-subscription-writes" in created.headers
    deleted = sandbox.handle(
        SandboxRequest("DELETE", f"{GALLERIES}/nothing?api-version=2026-03-03", AUTH)
    )
    assert deleted.status == 204
    assert "x-ms-ratelimit-remaining-subscription-deletes" in deleted.headers
    assert len({first.headers["x-ms-request-id"], second.headers["x-ms-request-id"]}) == 2


def test_long_running_put_hands_out_status_monitors(frozen):
    """A gallery PUT answers 201 with Azure-AsyncOperation and Location monitors that finish."""
    created = put(frozen, f"{GALLERIES}/g?api-version=2026-03-03", {"location": "westeurope"})
    assert created.status == 201
    assert created.json()["properties"]["provisioningState"] == "Creating"
    status_url = created.headers["Azure-AsyncOperation"]
    assert created.headers["Location"].startswith(status_url)
    # No simulated time has passed: both monitors still say "not yet".
    running = get(frozen, status_url).json()
    assert running["status"] == "InProgress" and "endTime" not in running
    assert get(frozen, created.headers["Location"]).status == 202
    frozen.advance(3600)
    body = get(frozen, status_url).json()
    assert body["status"] == "Succeeded"
    assert body["startTime"] == running["startTime"] < body["endTime"]
    final = get(frozen, created.headers["Location"])
    assert final.status == 200 and final.json()["name"] == "g"


def test_a_status_poll_that_the_operation_ends_within_answers_when_it_ends(make_sandbox):
    """A long poll answers the operation's end as it reads then, not a stale InProgress."""
    # 60 simulated seconds at speed 600 is 0.1 s: within one 0.5 s pacing wait.
    world = make_sandbox(replace(FAST, speed=600.0, poll_pacing=0.5))
    created = put(world, f"{GALLERIES}/g?api-version=2026-03-03", {"location": "westeurope"})
    started = time.monotonic()
    body = get(world, created.headers["Azure-AsyncOperation"]).json()
    assert body["status"] == "Succeeded" and "endTime" in body
    assert 0.05 < time.monotonic() - started < 0.5  # answered at the end, not at once
    gallery = get(world, f"{GALLERIES}/g?api-version=2026-03-03").json()
    assert gallery["properties"]["provisioningState"] == "Succeeded"


def test_unknown_path_and_bad_json_are_arm_errors(sandbox):
    """Unknown resource types are 404 and unparsable bodies 400, both as ARM error bodies."""
    unknown = get(sandbox, f"{BASE}/subscriptions/{SUB}/providers/Microsoft.Nope/x?api-version=1")
    assert unknown.status == 404
    assert unknown.json()["error"]["code"] == "InvalidResourceType"
    bad = sandbox.handle(
        SandboxRequest("PUT", f"{GALLERIES}/g?api-version=2026-03-03", AUTH, b"{not json")
    )
    assert bad.status == 400 and bad.json()["error"]["code"] == "InvalidRequestContent"


def test_throttling_answers_429_and_the_sdk_retries(make_sandbox):
    """An empty read bucket answers 429 with Retry-After; azure-core waits and succeeds."""
    # At speed 1 simulated time is real time: the bucket refills 10 tokens per real second.
    config = replace(
        FAST, speed=1.0, throttle=ThrottleConfig(reads=Bucket(3, 10), fractional_retry_after=True)
    )
    sandbox = make_sandbox(config)
    answers = [get(sandbox, f"{GALLERIES}?api-version=2026-03-03") for _ in range(4)]
    assert [a.status for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert 0 < float(answers[3].headers["Retry-After"]) <= 0.1
    assert answers[3].headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    client, recorder = recorded_client(sandbox)
    for _ in range(6):
        assert list(client.galleries.list_by_resource_group(RG_IMAGES)) == []
    assert 429 in recorder.statuses
    assert recorder.statuses[-1] == 200


def test_buckets_refill_in_simulated_time(make_sandbox):
    """An empty bucket stays empty while the clock stands still and refills when it moves."""
    config = replace(FROZEN, throttle=ThrottleConfig(reads=Bucket(2, 1)))
    sandbox = make_sandbox(config)
    url = f"{GALLERIES}?api-version=2026-03-03"
    assert [get(sandbox, url).status for _ in range(3)] == [200, 200, 429]
    time.sleep(0.05)  # real time passing refills nothing: the simulated clock did not move
    assert get(sandbox, url).status == 429
    sandbox.advance(1.0)  # one simulated second: one token at 1/s
    assert [get(sandbox, url).status for _ in range(2)] == [200, 429]


@pytest.mark.parametrize(
    ("speed", "fractional", "retry_after"),
    [
        (1.0, True, 0.5),  # half a token short at 1 token/s: half a real second
        (100.0, True, 0.005),  # the same simulated wait, 100x faster in real time
        (1.0, False, 1),  # Azure's whole seconds, rounded up
        (100.0, False, 1),  # whole seconds never under-wait, even on a fast clock
    ],
)
def test_retry_after_is_real_seconds_at_the_clock_speed(
    tmp_path: Path, speed: float, fractional: bool, retry_after: float
):
    """Retry-After is the simulated wait for the next token divided by the clock's speed."""
    throttle = ThrottleConfig(reads=Bucket(1.5, 1), fractional_retry_after=fractional)
    with Store(tmp_path / "buckets.sqlite").transaction() as tx:
        first = admit(tx, throttle, SUB, "read", now=1000.0, speed=speed)
        second = admit(tx, throttle, SUB, "read", now=1000.0, speed=speed)
    assert first.granted and first.remaining == 0  # half a token left
    assert not second.granted
    assert second.retry_after == retry_after


def test_server_errors_are_retried_by_azure_core(make_sandbox):
    """Injected 500 and 503 answers are retried by azure-core and the call succeeds."""
    sandbox = make_sandbox(
        replace(
            FAST,
            faults=(
                FaultRule(kind="status", status=503, method="GET", first_n=1, retry_after=0.01),
                FaultRule(kind="status", status=500, method="GET", first_n=2, retry_after=0.01),
            ),
        )
    )
    client, recorder = recorded_client(sandbox)
    assert list(client.galleries.list_by_resource_group(RG_IMAGES)) == []
    assert recorder.statuses[:2] == [503, 500]
    assert recorder.statuses[-1] == 200


def test_dropped_connections_are_retried(make_sandbox):
    """Dropped connections (before or after processing) surface as transport errors and are retried."""
    sandbox = make_sandbox(
        replace(
            FAST,
            faults=(
                FaultRule(kind="drop", method="GET", first_n=1),
                FaultRule(kind="drop_after", method="PUT", first_n=1),
            ),
        )
    )
    client, _ = recorded_client(sandbox)
    assert list(client.galleries.list_by_resource_group(RG_IMAGES)) == []
    gallery = client.galleries.begin_create_or_update(
        RG_IMAGES, "g", {"location": "westeurope"}
    ).result()
    assert gallery.provisioning_state == "Succeeded"


def test_httpx_transport_raises_socket_like_errors(make_sandbox):
    """The in-process httpx transport raises ConnectError / RemoteProtocolError for drops."""
    sandbox = make_sandbox(
        replace(
            FAST,
            faults=(
                FaultRule(kind="drop", path="/galleries$", first_n=1),
                FaultRule(kind="drop_after", path="/galleries/g$", first_n=1),
            ),
        )
    )
    with httpx.Client(transport=SandboxHttpxTransport(sandbox), headers=AUTH) as http:
        with pytest.raises(httpx.ConnectError):
            http.get(f"{GALLERIES}?api-version=2026-03-03")
        assert http.get(f"{GALLERIES}?api-version=2026-03-03").json() == {"value": []}
        with pytest.raises(httpx.RemoteProtocolError):
            http.put(f"{GALLERIES}/g?api-version=2026-03-03", json={"location": "westeurope"})
        # the lost answer's write happened
        assert http.get(f"{GALLERIES}/g?api-version=2026-03-03").status_code == 200


def test_failed_long_running_operation_raises(make_sandbox):
    """An LRO injected to fail ends Failed; the poller raises with the operation's error code."""
    sandbox = make_sandbox(
        replace(
            FAST,
            faults=(
                FaultRule(
                    kind="lro_fail", method="PUT", path="/galleries/", code="InternalOperationError"
                ),
            ),
        )
    )
    client, _ = recorded_client(sandbox)
    poller = client.galleries.begin_create_or_update(RG_IMAGES, "g", {"location": "westeurope"})
    with pytest.raises(HttpResponseError) as caught:
        poller.result()
    assert caught.value.error.code == "InternalOperationError"
    assert client.galleries.get(RG_IMAGES, "g").provisioning_state == "Failed"


def test_slow_fault_multiplies_simulated_duration(make_sandbox):
    """A slow fault multiplies the simulated duration of the operation it hits."""
    sandbox = make_sandbox(
        replace(FROZEN, faults=(FaultRule(kind="slow", method="PUT", path="/versions/", factor=3),))
    )
    client, _ = recorded_client(sandbox)
    client.galleries.begin_create_or_update(RG_IMAGES, "gal", {"location": "westeurope"})
    sandbox.advance(3600)
    client.gallery_images.begin_create_or_update(RG_IMAGES, "gal", "render", definition_body())
    sandbox.advance(3600)
    poller = client.gallery_image_versions.begin_create_or_update(
        RG_IMAGES, "gal", "render", "1.0.0", version_body({"westeurope": 1})
    )
    d = sandbox.config.durations
    normal = d.image_version_create + d.replication_per_region
    sandbox.advance(normal * 2)
    got = client.gallery_image_versions.get(RG_IMAGES, "gal", "render", "1.0.0")
    assert got.provisioning_state == "Creating"
    sandbox.advance(normal + 1)
    assert poller.result().provisioning_state == "Succeeded"


def test_probabilistic_faults_are_deterministic_by_seed(make_sandbox):
    """The same seed gives the same fault sequence; another seed gives another."""

    def statuses(seed: int, name: str) -> list[int]:
        sandbox = make_sandbox(
            replace(
                FAST, seed=seed, faults=(FaultRule(kind="status", status=503, probability=0.5),)
            ),
            name,
        )
        return [get(sandbox, f"{GALLERIES}?api-version=2026-03-03").status for _ in range(24)]

    first = statuses(7, "a.sqlite")
    assert first == statuses(7, "b.sqlite")
    assert set(first) == {200, 503}
    assert statuses(8, "c.sqlite") != first


def test_injected_latency_delays_each_request(make_sandbox):
    """`latency` adds real seconds to every request (for benchmarks)."""
    sandbox = make_sandbox(replace(FAST, latency=0.02))
    start = time.perf_counter()
    get(sandbox, f"{GALLERIES}?api-version=2026-03-03")
    assert time.perf_counter() - start >= 0.02


def test_world_persists_across_sandbox_objects(tmp_path: Path):
    """Two Sandbox objects on one file see one world and one clock."""
    first = Sandbox(tmp_path / "w.sqlite", config=FAST)
    from reconciler.sandbox.seed import load_seed

    first.seed(load_seed())
    put(first, f"{GALLERIES}/g?api-version=2026-03-03", {"location": "westeurope"})
    second = Sandbox(tmp_path / "w.sqlite", config=FAST)
    assert get(second, f"{GALLERIES}/g?api-version=2026-03-03").status == 200
    assert abs(first.now() - second.now()) < FAST.speed * 0.5
    first.advance(3600)
    assert second.now() - first.now() < 1 and second.now() > first.now() - FAST.speed
    first.close()
    second.close()


def test_concurrent_writers_from_threads_do_not_corrupt(tmp_path: Path):
    """Eight threads, each with its own Sandbox and SDK client on one file, all succeed."""
    from reconciler.sandbox.seed import load_seed

    Sandbox(tmp_path / "w.sqlite", config=FAST).seed(load_seed())
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            sandbox = Sandbox(tmp_path / "w.sqlite", config=FAST)
            client = ComputeManagementClient(subscription_id=SUB, **sandbox_client_kwargs(sandbox))
            pollers = [
                client.galleries.begin_create_or_update(
                    RG_IMAGES, f"g{n}x{i}", {"location": "westeurope"}
                )
                for i in range(4)
            ]
            for poller in pollers:
                poller.result()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    listing = get(
        Sandbox(tmp_path / "w.sqlite", config=replace(FAST, page_size=100)),
        f"{GALLERIES}?api-version=2026-03-03",
    ).json()
    assert len(listing["value"]) == 32
    with sqlite3.connect(tmp_path / "w.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.no_openapi_check  # traffic happens in child processes
def test_concurrent_writers_from_processes(tmp_path: Path):
    """Three processes writing one world at once all succeed and see each other's writes."""
    from reconciler.sandbox.seed import load_seed

    path = tmp_path / "w.sqlite"
    Sandbox(path, config=FAST).seed(load_seed())
    code = (
        "import json, sys\n"
        "from reconciler.sandbox import Sandbox, SandboxConfig, SandboxRequest\n"
        "sb = Sandbox(sys.argv[1], config=SandboxConfig(speed=12000))\n"
        "for i in range(10):\n"
        "    url = sys.argv[2] + f'/p{sys.argv[3]}x{i}?api-version=2026-03-03'\n"
        "    r = sb.handle(SandboxRequest('PUT', url, {'Authorization': 'Bearer t'},\n"
        "                  json.dumps({'location': 'westeurope'}).encode()))\n"
        "    assert r.status == 201, r.body\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path), GALLERIES, str(n)])
        for n in range(3)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    listing = get(
        Sandbox(path, config=replace(FAST, page_size=100)), f"{GALLERIES}?api-version=2026-03-03"
    ).json()
    assert len(listing["value"]) == 30


def test_config_file_env_override_and_validation(tmp_path: Path, monkeypatch):
    """Configs load from YAML, the env var overrides the stored one, unknown keys are errors."""
    stored = tmp_path / "stored.yaml"
    stored.write_text("speed: 50\npage_size: 7\nthrottle: {reads: {capacity: 9}}\n")
    config = load_config(stored)
    assert config.speed == 50 and config.page_size == 7
    assert config.throttle.reads == Bucket(9, 25)
    world = Sandbox(tmp_path / "w.sqlite", config=config)
    world.save_config(config)
    assert Sandbox(tmp_path / "w.sqlite").config.page_size == 7
    override = tmp_path / "override.json"
    override.write_text(json.dumps({"page_size": 3, "faults": [{"kind": "drop", "first_n": 2}]}))
    monkeypatch.setenv(ENV_CONFIG, str(override))
    reopened = Sandbox(tmp_path / "w.sqlite")
    assert reopened.config.page_size == 3
    assert reopened.config.faults == (FaultRule(kind="drop", first_n=2),)
    assert SandboxConfig.from_dict(reopened.config.to_dict()) == reopened.config
    bad = tmp_path / "bad.yaml"
    bad.write_text("sped: 3\n")
    with pytest.raises(ValueError, match="sped"):
        load_config(bad)
    with pytest.raises(ValueError, match="unknown fault kind 'explode'"):
        FaultRule(kind="explode")


def test_cli_init_show_and_reset(tmp_path: Path):
    """`reconcile sandbox init/show/reset` create, print and reset a world."""
    from reconciler.cli import cli

    path = tmp_path / "cli.sqlite"
    runner = CliRunner()
    result = runner.invoke(cli, ["sandbox", "init", "--sandbox", str(path), "--speed", "900"])
    assert result.exit_code == 0, result.output
    assert "speed ×900" in result.output
    shown = runner.invoke(cli, ["sandbox", "show", "--sandbox", str(path), "--json"])
    assert shown.exit_code == 0, shown.output
    ids = {item["id"] for item in json.loads(shown.output)}
    assert any(i.endswith("/batchAccounts/batchprodweu") for i in ids)
    world = Sandbox(path)
    assert world.config.speed == 900
    put(world, f"{GALLERIES}/g?api-version=2026-03-03", {"location": "westeurope"})
    table = runner.invoke(cli, ["sandbox", "show", "--sandbox", str(path)])
    assert table.exit_code == 0 and "galleries/g" in table.output
    assert runner.invoke(cli, ["sandbox", "reset", "--sandbox", str(path)]).exit_code == 0
    assert get(Sandbox(path), f"{GALLERIES}/g?api-version=2026-03-03").status == 404


def test_sandbox_package_never_imports_the_azure_sdk():
    """Importing every sandbox module loads no `azure.*` module."""
    code = (
        "import sys, pkgutil, importlib\n"
        "import reconciler.sandbox as pkg\n"
        "for m in pkgutil.iter_modules(pkg.__path__):\n"
        "    importlib.import_module('reconciler.sandbox.' + m.name)\n"
        "loaded = [m for m in sys.modules if m == 'azure' or m.startswith('azure.')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
