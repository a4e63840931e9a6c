"""Pacing from ARM's rate-limit headers: the client's bucket estimate, and reads that never
draw a 429 however small the bucket, spread across subscriptions."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from azure.core.pipeline.policies import SansIOHTTPPolicy

from reconciler.azure.clients import RequestCounter
from reconciler.azure.pacing import BucketModel, Pacer, Pacing, subscription_of
from reconciler.azure.read import read_live_state
from reconciler.azure.target import Target
from reconciler.errors import TransientAzureError
from reconciler.sandbox import Sandbox, SandboxConfig
from reconciler.sandbox.config import Bucket, ThrottleConfig
from reconciler.sandbox.seed import load_seed
from reconciler.state.scope import ReadScope
from reconciler.wiring import azure_clients
from tests.azure.conftest import ACCOUNT, MANAGED_IMAGE, SUB, SUB2

RESEARCH = (
    f"/subscriptions/{SUB2}/resourceGroups/rg-research/providers/Microsoft.Batch"
    "/batchAccounts/batchresearch"
)


class FakeTime:
    """A clock that moves only when something sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_requests_go_at_once_while_the_bucket_has_room() -> None:
    """With the header reporting plenty of tokens, no request waits, even many at once."""
    fake = FakeTime()
    pacer = Pacer(BucketModel(refill=25.0, reserve=5), clock=fake.clock)
    pacer.acquire(fake.sleep)
    pacer.observe(200)
    for _ in range(150):  # 150 in flight at once
        pacer.acquire(fake.sleep)
    assert fake.slept == []


def test_a_request_waits_for_the_refill_when_sending_would_eat_the_reserve() -> None:
    """At `reserve` tokens left a request waits shortfall ÷ refill seconds, then goes."""
    fake = FakeTime()
    pacer = Pacer(BucketModel(refill=10.0, reserve=5), clock=fake.clock)
    pacer.acquire(fake.sleep)
    pacer.observe(8)  # 8 left, none in flight: 3 more may go (leaving 5), the fourth waits
    for _ in range(3):
        pacer.acquire(fake.sleep)
    assert fake.slept == []
    pacer.acquire(fake.sleep)
    assert sum(fake.slept) == pytest.approx(0.1)  # one token at 10/s


def test_the_header_corrects_the_estimate_both_ways() -> None:
    """Another client draining the bucket, or a faster refill, shows in the next answer."""
    fake = FakeTime()
    pacer = Pacer(BucketModel(refill=1.0, reserve=0), clock=fake.clock)
    pacer.acquire(fake.sleep)
    pacer.observe(100)
    assert pacer.wait_time() == 0
    pacer.acquire(fake.sleep)
    pacer.observe(0)  # someone else took the rest
    assert pacer.wait_time() == pytest.approx(1.0)
    pacer.acquire(fake.sleep)
    pacer.observe(50)  # the server refilled faster than assumed
    assert pacer.wait_time() == 0


def test_a_late_answer_to_an_earlier_request_never_raises_the_estimate() -> None:
    """An answer overtaken by the answer to a later request may lower the estimate only."""
    fake = FakeTime()
    pacer = Pacer(BucketModel(refill=1.0, reserve=0), clock=fake.clock)
    early = pacer.acquire(fake.sleep)
    late = pacer.acquire(fake.sleep)
    pacer.observe(0, ticket=late)  # none left, and `early` still in flight: -1
    pacer.observe(10, ticket=early)  # counted before that: stale
    assert pacer.wait_time() == pytest.approx(2.0)  # two tokens at 1/s
    pacer.acquire(fake.sleep)
    again = pacer.acquire(fake.sleep)
    pacer.observe(10, ticket=again)  # the newest answer tells the truth, either way
    assert pacer.wait_time() == 0


def test_a_429_blocks_the_bucket_for_its_retry_after() -> None:
    """After a 429 nothing is sent to that bucket until Retry-After has passed."""
    fake = FakeTime()
    pacer = Pacer(BucketModel(refill=1000.0, reserve=0), clock=fake.clock)
    pacer.acquire(fake.sleep)
    pacer.observe(0, retry_after=3.0)
    pacer.acquire(fake.sleep)
    assert sum(fake.slept) >= 3.0


def test_before_the_first_answer_only_a_few_requests_go_and_no_header_means_no_pacing() -> None:
    """Until an answer tells the count, `unknown_in_flight` requests go; an answer without
    the header leaves the bucket unpaced rather than stuck."""
    fake = FakeTime()
    pacer = Pacer(BucketModel(refill=25.0, unknown_in_flight=2), clock=fake.clock)
    pacer.acquire(fake.sleep)
    pacer.acquire(fake.sleep)
    assert pacer.wait_time() > 0
    pacer.observe(None)
    for _ in range(10):
        pacer.acquire(fake.sleep)
    assert fake.slept == []


@pytest.mark.parametrize(
    ("url", "subscription"),
    [
        (f"https://management.azure.com/subscriptions/{SUB.upper()}/resourceGroups/x", SUB),
        ("https://management.azure.com/providers/Microsoft.Compute/operations", ""),
    ],
)
def test_requests_are_paced_per_subscription(url: str, subscription: str) -> None:
    """Each request counts against the bucket of the subscription its URL names."""
    assert subscription_of(url) == subscription


# -- against the sandbox's buckets ----------------------------------------------------------


def estate(tmp_path: Path, config: SandboxConfig, *, versions: int, pools: int) -> Path:
    """A world of 4 definitions × `versions` versions and `pools` pools (first subscription);
    the second subscription holds an empty Batch account."""
    data = load_seed()
    images, batch = data["subscriptions"][0]["resourceGroups"][:2]
    images["galleries"] = [
        {
            "name": "gal{i}",
            "count": 2,
            "tags": {"managed-by": "reconcile"},
            "images": [
                {
                    "name": "def{i}",
                    "count": 2,
                    "identifier": {"publisher": "p", "offer": "{gallery}", "sku": "{i}"},
                    "versions": [
                        {
                            "name": "1.0.{i}",
                            "count": versions,
                            "source": MANAGED_IMAGE,
                            "targetRegions": [{"name": "westeurope"}],
                        }
                    ],
                }
            ],
        }
    ]
    batch["batchAccounts"][0]["pools"] = [{"name": "p{i}", "count": pools, "image": MANAGED_IMAGE}]
    path = tmp_path / "estate.sqlite"
    world = Sandbox(path, config=replace(config, throttle=ThrottleConfig(enabled=False)))
    world.seed(data)
    world.close()
    return path


SCOPE = ReadScope(
    gallery_groups=((SUB, "rg-images"),),
    image_groups=((SUB, "rg-images"),),
    batch_accounts=(ACCOUNT, RESEARCH),
)


@pytest.mark.parametrize(("paced", "throttled"), [(True, False), (False, True)])
def test_a_read_larger_than_the_bucket_draws_no_429_when_paced(
    tmp_path: Path, paced: bool, throttled: bool
) -> None:
    """A read of more listings than the read bucket holds meets no 429 when paced (and does
    when not, so the bucket really is too small)."""
    # speed 1: the bucket refills 10 tokens per real second; 12 to start with. The read
    # needs ~30 listings, so unpaced it outruns the refill even on a slow machine.
    config = SandboxConfig(
        speed=1.0,
        page_size=2,
        throttle=ThrottleConfig(reads=Bucket(12, 10), fractional_retry_after=True),
    )
    path = estate(tmp_path, config, versions=10, pools=4)
    counter = RequestCounter()
    pacing = Pacing({"read": BucketModel(refill=10.0, reserve=2)}) if paced else False
    with azure_clients(
        Target.for_sandbox(path, config=config), counter=counter, pacing=pacing
    ) as clients:
        try:
            state = read_live_state(clients, SCOPE, concurrency=8)
        except TransientAzureError:
            assert throttled  # unpaced, azure-core's retries may run out
            state = None
    assert counter.total > 24  # twice as many listings (pages) as the bucket holds
    assert (counter.by_status.get(429, 0) > 0) is throttled
    if not throttled:
        assert state is not None
        assert len([r for r in state.resources.values() if r.kind.value == "version"]) == 40


class Stamps(SansIOHTTPPolicy):
    """The real time each request was sent, by subscription."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, str]] = []

    def on_request(self, request) -> None:  # type: ignore[no-untyped-def]
        self.sent.append((time.monotonic(), subscription_of(request.http_request.url)))


def test_a_subscription_out_of_tokens_waits_alone(tmp_path: Path) -> None:
    """While one subscription's bucket is empty, the read goes on with the other's listings."""
    config = SandboxConfig(speed=1.0, throttle=ThrottleConfig(enabled=False))
    path = estate(tmp_path, config, versions=1, pools=1)
    stamps = Stamps()
    pacing = Pacing()
    pacing.pacer(SUB, "read").acquire()
    pacing.pacer(SUB, "read").observe(0, retry_after=0.6)  # SUB is blocked for 0.6 s
    started = time.monotonic()
    with azure_clients(
        Target.for_sandbox(path, config=config),
        pacing=pacing,
        client_kwargs={"per_retry_policies": [stamps]},
    ) as clients:
        read_live_state(clients, SCOPE, concurrency=1)  # one worker: order is everything
    first_sub = min(t for t, s in stamps.sent if s == SUB) - started
    research = [t - started for t, s in stamps.sent if s == SUB2]
    assert research and max(research) < 0.5 <= first_sub
