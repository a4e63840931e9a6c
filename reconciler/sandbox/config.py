"""Sandbox configuration: clock speed, latency, paging, simulated durations, throttling, faults.

`SandboxConfig` is a frozen value. It is loaded from a YAML or JSON file (`load_config`),
stored inside the world when `reconcile sandbox init --config FILE` creates it, and can be
overridden per process with the environment variable `RECONCILE_SANDBOX_CONFIG` (a path to
such a file), so tests and benchmarks dial speed and faults without touching the world.

File format (every key optional)::

    speed: 600            # simulated seconds per real second
    latency: 0.0          # real seconds slept per request (benchmarks)
    page_size: 100        # items per page of every list operation
    poll_pacing: 0.05     # real seconds an in-progress LRO monitor waits before answering
    seed: 0               # seeds the fault dice
    durations:            # simulated seconds
      gallery_create: 60
      replication_per_region: 2400
    throttle:
      enabled: true
      reads: {capacity: 250, refill: 25}
      writes: {capacity: 200, refill: 10}
      deletes: {capacity: 200, refill: 10}
    faults:
      - {kind: status, status: 503, method: GET, path: "/pools", probability: 0.2}
      - {kind: drop, first_n: 1}
      - {kind: lro_fail, path: "/versions/", code: "InternalExecutionError"}
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

ENV_CONFIG = "RECONCILE_SANDBOX_CONFIG"

FAULT_KINDS = ("status", "throttle", "drop", "drop_after", "lro_fail", "slow")
OP_CLASSES = ("read", "write", "delete")


@dataclass(frozen=True)
class Durations:
    """Simulated durations (seconds of simulated time) of the operations the sandbox models.

    Benchmarks read these to compute the critical path of an apply.
    """

    gallery_create: float = 60.0
    gallery_update: float = 30.0
    gallery_delete: float = 60.0
    image_definition_create: float = 60.0
    image_definition_update: float = 30.0
    image_definition_delete: float = 60.0
    # A version is Succeeded when every target region has finished replicating; regions
    # replicate in parallel, each taking `replication_per_region` plus a little per extra replica.
    image_version_create: float = 120.0
    replication_per_region: float = 2400.0
    replication_per_extra_replica: float = 60.0
    image_version_update: float = 30.0
    image_version_delete: float = 300.0
    managed_image_create: float = 120.0
    managed_image_update: float = 10.0
    managed_image_delete: float = 60.0
    # A new pool reads Resizing at least this long, even with no nodes to allocate (as
    # Azure answers right after a create), then Steady.
    pool_create: float = 30.0
    pool_delete: float = 300.0
    # Shrinking a pool: nodes leave linearly over this time.
    node_removal: float = 120.0
    # A resize whose image is gone reports AllocationFailed after this long (capped by timeout).
    allocation_failure: float = 300.0


@dataclass(frozen=True)
class Bucket:
    """One ARM token bucket: `capacity` tokens, refilled at `refill` tokens per simulated second.

    At `speed: 1` that is per real second, as in Azure; a faster clock refills faster, in
    step with every simulated duration (see `reconciler.sandbox.throttle`).
    """

    capacity: float
    refill: float


@dataclass(frozen=True)
class ThrottleConfig:
    """ARM subscription throttling (Azure's published buckets since 2024 are the default)."""

    enabled: bool = True
    # Azure sends whole seconds (at least 1); tests and fast-clock benchmarks ask for exact
    # fractions (a whole second is hundreds of simulated seconds at speed 800).
    fractional_retry_after: bool = False
    reads: Bucket = field(default_factory=lambda: Bucket(250, 25))
    writes: Bucket = field(default_factory=lambda: Bucket(200, 10))
    deletes: Bucket = field(default_factory=lambda: Bucket(200, 10))

    def bucket(self, op_class: str) -> Bucket:
        return {"read": self.reads, "write": self.writes, "delete": self.deletes}[op_class]


@dataclass(frozen=True)
class FaultRule:
    """A fault injected into the requests it matches.

    Matching: `method` (exact, case-insensitive), `path` (regex searched in the URL path,
    case-insensitive), `op_class` (read/write/delete); unset criteria match everything.
    Firing: only the first `first_n` matching requests (counted across processes), each with
    `probability` (dice seeded by `SandboxConfig.seed`).

    Kinds: `status` answers `status` (500/503...) with `code`; `throttle` answers 429 with
    `retry_after`; `drop` drops the connection before the request is processed, `drop_after`
    after it was processed (the write happened, the client never hears); `lro_fail` makes the
    long-running operation the request starts end `Failed` with `code`/`message`; `slow`
    multiplies the simulated duration of that operation by `factor`.
    """

    kind: str
    method: str | None = None
    path: str | None = None
    op_class: str | None = None
    probability: float = 1.0
    first_n: int | None = None
    status: int = 503
    code: str | None = None
    message: str | None = None
    retry_after: float = 0.0
    factor: float = 10.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.op_class is not None and self.op_class not in OP_CLASSES:
            raise ValueError(f"unknown op_class {self.op_class!r}; expected one of {OP_CLASSES}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that tunes a sandbox; see the module docstring for the file format."""

    speed: float = 600.0
    latency: float = 0.0
    page_size: int = 100
    seed: int = 0
    # An in-progress status monitor answers after waiting up to this many real seconds (or
    # until the operation ends, if sooner). SDK pollers run with polling_interval=0 against
    # the sandbox; without pacing they would spin and drain the read bucket.
    poll_pacing: float = 0.05
    durations: Durations = field(default_factory=Durations)
    throttle: ThrottleConfig = field(default_factory=ThrottleConfig)
    faults: tuple[FaultRule, ...] = ()

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("speed must be positive")
        if self.page_size < 1:
            raise ValueError("page_size must be at least 1")
        if self.latency < 0:
            raise ValueError("latency must not be negative")

    # -- (de)serialisation -------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["faults"] = [
            {k: v for k, v in rule.items() if v is not None} for rule in data["faults"]
        ]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SandboxConfig:
        data = dict(data)
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown sandbox config keys: {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        for key in ("speed", "latency", "page_size", "seed", "poll_pacing"):
            if key in data:
                kwargs[key] = type(getattr(cls(), key))(data[key])
        if "durations" in data:
            kwargs["durations"] = _build(Durations, data["durations"] or {}, float)
        if "throttle" in data:
            raw = dict(data["throttle"] or {})
            tkw: dict[str, Any] = {}
            for flag in ("enabled", "fractional_retry_after"):
                if flag in raw:
                    tkw[flag] = bool(raw.pop(flag))
            for name in ("reads", "writes", "deletes"):
                if name in raw:
                    default = getattr(ThrottleConfig(), name)
                    tkw[name] = replace(default, **_checked(Bucket, raw.pop(name) or {}))
            if raw:
                raise ValueError(f"unknown throttle keys: {sorted(raw)}")
            kwargs["throttle"] = ThrottleConfig(**tkw)
        if "faults" in data:
            kwargs["faults"] = tuple(
                FaultRule(**_checked(FaultRule, rule)) for rule in data["faults"] or ()
            )
        return cls(**kwargs)


def _checked(kind: type, raw: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(raw) - {f.name for f in fields(kind)}
    if unknown:
        raise ValueError(f"unknown {kind.__name__} keys: {sorted(unknown)}")
    return dict(raw)


def _build(kind: type, raw: Mapping[str, Any], cast: type) -> Any:
    return kind(**{k: cast(v) for k, v in _checked(kind, raw).items()})


def load_config(path: str | os.PathLike[str]) -> SandboxConfig:
    """Read a `SandboxConfig` from a YAML or JSON file (JSON is valid YAML)."""
    text = Path(path).read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: a sandbox config must be a mapping")
    return SandboxConfig.from_dict(data)


def config_from_env() -> SandboxConfig | None:
    """The config named by `RECONCILE_SANDBOX_CONFIG`, or None when the variable is unset."""
    path = os.environ.get(ENV_CONFIG)
    return load_config(path) if path else None


def config_to_json(config: SandboxConfig) -> str:
    return json.dumps(config.to_dict(), sort_keys=True)


def config_from_json(text: str) -> SandboxConfig:
    return SandboxConfig.from_dict(json.loads(text))
