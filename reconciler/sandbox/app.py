"""The sandbox's single entry point: `Sandbox.handle(SandboxRequest) -> SandboxResponse`.

Every transport (the in-process httpx transport, the HTTPS server) goes through `handle`,
which applies, in Azure's order: injected latency, authentication (a bearer token is
required; Shared Key is refused as Batch refuses it for custom-image pools), injected
faults, ARM throttling, then the resource provider's handler — all inside one SQLite
transaction — and stamps `x-ms-request-id` and the rate-limit header on every answer.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from reconciler.sandbox import batch, compute, resources
from reconciler.sandbox.arm import (
    ArmError,
    Call,
    Effects,
    Result,
    Router,
    World,
    operation_status,
    parse_query,
)
from reconciler.sandbox.clock import SimClock
from reconciler.sandbox.config import (
    SandboxConfig,
    config_from_env,
    config_from_json,
    config_to_json,
)
from reconciler.sandbox.faults import FaultDice
from reconciler.sandbox.store import Store, Tx
from reconciler.sandbox.throttle import HEADER, admit, op_class

log = logging.getLogger(__name__)

DEFAULT_STATE_PATH = ".reconcile/sandbox.sqlite"
ENV_STATE_PATH = "RECONCILE_SANDBOX"


@dataclass(frozen=True)
class SandboxRequest:
    """An HTTP request as any transport hands it to the sandbox."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class SandboxResponse:
    """The sandbox's answer; `body` is JSON (or empty)."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class ConnectionDropped(Exception):
    """The transport must drop the connection instead of answering.

    `processed` tells whether the request took effect first (the client cannot know):
    transports raise a connect error when False and a protocol error when True.
    """

    def __init__(self, processed: bool) -> None:
        super().__init__("connection dropped by fault injection")
        self.processed = processed


def _router() -> Router:
    router = Router()
    resources.register(router)
    compute.register(router)
    batch.register(router)
    router.add(
        "/subscriptions/{sub}/providers/{provider}/locations/{loc}/operations/{op}",
        "OperationStatus",
        get=operation_status,
    )
    return router


_ROUTER = _router()


def _fmt_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


class Sandbox:
    """One emulated Azure world stored in one SQLite file.

    Configuration precedence: `config` argument, then `RECONCILE_SANDBOX_CONFIG`, then the
    config stored in the world (by `reconcile sandbox init --config`), then defaults.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, config: SandboxConfig | None = None
    ) -> None:
        self.path = Path(path)
        self.store = Store(self.path)
        with self.store.transaction() as tx:
            stored = tx.meta("config")
            effective = config or config_from_env()
            if effective is None:
                effective = config_from_json(stored) if stored else SandboxConfig()
            if stored is None:
                tx.set_meta("config", config_to_json(effective))
            self._ensure_clock(tx, effective.speed)
        self.config = effective
        self._dice = FaultDice(effective.faults, effective.seed)

    # -- world-level operations -------------------------------------------------------------

    @staticmethod
    def _ensure_clock(tx: Tx, speed: float) -> SimClock:
        raw = tx.meta("clock")
        if raw is None:
            clock = SimClock.starting_now(speed)
        else:
            clock = SimClock(**json.loads(raw))
            if clock.speed == speed:
                return clock
            clock = clock.rebased(speed)
        tx.set_meta("clock", json.dumps(clock.__dict__))
        return clock

    @staticmethod
    def _clock(tx: Tx) -> SimClock:
        return SimClock(**json.loads(tx.meta("clock") or "{}"))

    def now(self) -> float:
        """Simulated now (epoch seconds)."""
        with self.store.transaction() as tx:
            return self._clock(tx).now()

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward (for every process sharing the world)."""
        with self.store.transaction() as tx:
            clock = self._clock(tx)
            moved = SimClock(clock.origin_real, clock.origin_sim + seconds, clock.speed)
            tx.set_meta("clock", json.dumps(moved.__dict__))

    def save_config(self, config: SandboxConfig) -> None:
        """Store `config` in the world as its default for every later process."""
        with self.store.transaction() as tx:
            tx.set_meta("config", config_to_json(config))
            self._ensure_clock(tx, config.speed)
        self.config = config
        self._dice = FaultDice(config.faults, config.seed)

    def reset(self) -> None:
        """Empty the world (resources, operations, buckets, counters) and restart its clock."""
        with self.store.transaction() as tx:
            tx.clear()
            tx.set_meta("config", config_to_json(self.config))
            self._ensure_clock(tx, self.config.speed)

    def seed(self, data: Mapping[str, Any]) -> None:
        """Add the resources of a seed document (see `reconciler.sandbox.seed`)."""
        from reconciler.sandbox.seed import apply_seed

        with self.store.transaction() as tx:
            apply_seed(tx, data, self._clock(tx).now(), self.config)

    def resources(self) -> list[dict[str, Any]]:
        """Every live resource as its public JSON, with time-dependent state for now."""
        from reconciler.sandbox.arm import is_alive, render

        with self.store.transaction() as tx:
            world = World(tx, self._clock(tx).now(), self.config, Effects())
            return [render(world, d, None) for _, d in tx.all_resources() if is_alive(world, d)]

    def close(self) -> None:
        self.store.close()

    # -- the protocol -------------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer one HTTP request; raises `ConnectionDropped` for injected dropped connections."""
        if self.config.latency:
            time.sleep(self.config.latency)
        request_id = str(uuid.uuid4())
        method = request.method.upper()
        split = urlsplit(request.url)
        path = unquote(split.path)
        cls = op_class(method)
        base_headers = {
            "x-ms-request-id": request_id,
            "x-ms-correlation-request-id": request_id,
        }
        headers = {k.lower(): v for k, v in request.headers.items()}
        if "x-ms-client-request-id" in headers:
            base_headers["x-ms-client-request-id"] = headers["x-ms-client-request-id"]
        denied = self._authenticate(headers)
        if denied is not None:
            return self._respond(Result(denied.status, denied.body(), denied.headers), base_headers)
        subscription = _subscription_of(path)
        drop: bool | None = None
        with self.store.transaction() as tx:
            result, remaining, drop = self._process(
                tx, request, method, split, path, headers, cls, subscription
            )
        base_headers[HEADER[cls]] = str(remaining)
        if drop is not None:
            raise ConnectionDropped(processed=drop)
        if result.pace > 0:
            time.sleep(result.pace)
        return self._respond(result, base_headers)

    def _process(
        self,
        tx: Tx,
        request: SandboxRequest,
        method: str,
        split: Any,
        path: str,
        headers: dict[str, str],
        cls: str,
        subscription: str,
    ) -> tuple[Result, int, bool | None]:
        world = World(tx, self._clock(tx).now(), self.config, Effects())
        capacity = int(self.config.throttle.bucket(cls).capacity)
        drop_after = False
        for fired in self._dice.roll(tx, method, path, cls):
            rule = fired.rule
            if rule.kind == "drop":
                return Result(0), capacity, False
            if rule.kind == "drop_after":
                drop_after = True
            elif rule.kind == "status":
                code = rule.code or (
                    "ServiceUnavailable" if rule.status == 503 else "InternalServerError"
                )
                extra = {"Retry-After": _fmt_seconds(rule.retry_after)} if rule.retry_after else {}
                message = rule.message or "The server encountered an internal error. Retry later."
                return (
                    Result(rule.status, ArmError(rule.status, code, message).body(), extra),
                    capacity,
                    None,
                )
            elif rule.kind == "throttle":
                return (
                    Result(
                        429,
                        ArmError(
                            429,
                            "SubscriptionRequestsThrottled",
                            rule.message
                            or "Number of requests for subscription "
                            f"'{subscription}' exceeded the limit. Please retry later.",
                        ).body(),
                        {"Retry-After": _fmt_seconds(rule.retry_after)},
                    ),
                    0,
                    None,
                )
            elif rule.kind == "lro_fail":
                world.effects.lro_failure = (
                    rule.code or "InternalOperationError",
                    rule.message or "An internal execution error occurred. Please retry later.",
                )
            elif rule.kind == "slow":
                world.effects.slow_factor *= rule.factor
        admission = admit(
            tx,
            self.config.throttle,
            subscription or "tenant",
            cls,
            now=world.now,
            speed=self.config.speed,
        )
        if not admission.granted:
            error = ArmError(
                429,
                "SubscriptionRequestsThrottled",
                f"Number of '{cls}' requests for subscription '{subscription}' exceeded the "
                f"limit. Please try again after '{_fmt_seconds(admission.retry_after)}' seconds.",
            )
            return (
                Result(429, error.body(), {"Retry-After": _fmt_seconds(admission.retry_after)}),
                0,
                None,
            )
        try:
            with tx.savepoint():
                handler, params = _ROUTER.match(method, path)
                call = Call(
                    method=method,
                    base=f"{split.scheme}://{split.netloc}",
                    path=split.path,
                    query=parse_query(split.query),
                    headers=headers,
                    body=_parse_body(request.body),
                    params=params,
                    raw=request.body,
                )
                result = handler(world, call)
        except ArmError as error:
            result = Result(error.status, error.body(), error.headers)
        except Exception:  # a sandbox bug must still look like a server error to the client
            log.exception("sandbox handler failed for %s %s", method, request.url)
            failure = ArmError(500, "InternalServerError", "The sandbox failed unexpectedly.")
            result = Result(500, failure.body())
        return result, admission.remaining, (True if drop_after else None)

    @staticmethod
    def _authenticate(headers: Mapping[str, str]) -> ArmError | None:
        auth = headers.get("authorization", "").strip()
        challenge = {
            "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/'
            'common", error="invalid_token", error_description="The authentication failed '
            "because of missing 'Authorization' header.\""
        }
        if not auth:
            return ArmError(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                headers=challenge,
            )
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "sharedkey":
            return ArmError(
                401,
                "AuthenticationFailed",
                "Shared Key authentication is not supported for this operation: pools from "
                "custom images require Microsoft Entra ID authentication.",
                headers=challenge,
            )
        if scheme.lower() != "bearer" or not token.strip():
            return ArmError(
                401, "InvalidAuthenticationToken", "The access token is invalid.", headers=challenge
            )
        return None

    @staticmethod
    def _respond(result: Result, base_headers: dict[str, str]) -> SandboxResponse:
        headers = dict(base_headers)
        headers.update(result.headers)
        if result.body is None:
            body = b""
        else:
            body = json.dumps(result.body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers["Content-Length"] = str(len(body))
        return SandboxResponse(result.status, headers, body)


def _subscription_of(path: str) -> str:
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        return parts[1].lower()
    return ""


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ArmError(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized.",
        ) from exc
