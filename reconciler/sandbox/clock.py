"""The simulated clock and the time formats Azure uses.

Simulated time runs `speed` times faster than real time from an origin stored in the world,
so every process sharing the SQLite file reads the same simulated "now". Nothing ticks in
the background: time-dependent state (replication progress, pool nodes, LRO status) is
computed from stored timestamps whenever it is read.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class SimClock:
    """Maps real wall-clock time to simulated epoch seconds."""

    origin_real: float
    origin_sim: float
    speed: float

    def now(self) -> float:
        return self.origin_sim + (time.time() - self.origin_real) * self.speed

    def rebased(self, speed: float) -> SimClock:
        """The same simulated now, running at a new speed from here on."""
        real = time.time()
        return SimClock(real, self.origin_sim + (real - self.origin_real) * self.speed, speed)

    @classmethod
    def starting_now(cls, speed: float) -> SimClock:
        real = time.time()
        return cls(real, real, speed)


def iso(t: float) -> str:
    """Azure's date-time format, e.g. 2026-11-24T01:02:03.1234567Z."""
    dt = datetime.fromtimestamp(t, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}0Z"


def iso_offset(t: float, *, fraction: bool = True) -> str:
    """The form Compute answers gallery dates in: an explicit ``+00:00`` offset, and 7
    fractional digits where it keeps them (``publishedDate``:
    2026-11-24T01:02:03.1234567+00:00; ``endOfLifeDate``: 2030-01-01T00:00:00+00:00)."""
    dt = datetime.fromtimestamp(t, tz=UTC)
    digits = f".{dt.microsecond:06d}0" if fraction else ""
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + digits + "+00:00"


def parse_datetime(text: str) -> float:
    """Epoch seconds of an ISO-8601 date-time (a date alone is its midnight UTC; no offset
    means UTC); ValueError when malformed."""
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        value += "T00:00:00"
    # Python keeps 6 fractional digits; Azure writes 7.
    value = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00").replace("z", "+00:00"))
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


def parse_duration(text: str) -> float:
    """Seconds in an ISO-8601 duration such as PT15M or P1DT2H; ValueError when malformed."""
    match = _DURATION.match(text.strip())
    if not match or text.strip().upper() in ("P", "PT"):
        raise ValueError(f"not an ISO-8601 duration: {text!r}")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return (
        parts.get("d", 0) * 86400
        + parts.get("h", 0) * 3600
        + parts.get("m", 0) * 60
        + (parts.get("s", 0))
    )


def format_duration(seconds: float) -> str:
    """ISO-8601 duration as Batch writes it (PT15M, PT1H30M)."""
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    out = "PT"
    if h:
        out += f"{h}H"
    if m:
        out += f"{m}M"
    if s or out == "PT":
        out += f"{s}S"
    return out
