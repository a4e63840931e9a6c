"""Sizing: replicas per version and region (R1), resizeTimeout per fixed pool (R2/R3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.spec.sizing import (
    Contribution,
    duration_seconds,
    format_minutes,
    required_replicas,
    required_resize_timeout_minutes,
    size_replicas,
    size_resize_timeout,
)


@pytest.mark.parametrize(
    ("nodes", "replicas"),
    [(0, 1), (1, 1), (599, 1), (600, 1), (601, 2), (1200, 2), (1201, 3), (3000, 5), (3001, 6)],
)
def test_replicas_at_the_edges(nodes: int, replicas: int) -> None:
    """One replica per started 600 VMs, never fewer than one (R1; 3000 VMs → 5)."""
    assert required_replicas(nodes) == replicas


@pytest.mark.parametrize(
    ("nodes", "minutes"),
    [(0, 15), (1, 15), (1000, 15), (1001, 30), (2000, 30), (2001, 45), (3000, 45)],
)
def test_resize_timeout_at_the_edges(nodes: int, minutes: int) -> None:
    """15 minutes per started 1000 nodes, at least 15 (R2; 2000 VMs → 30 minutes)."""
    assert required_resize_timeout_minutes(nodes) == minutes


@pytest.mark.parametrize(
    ("nodes", "minutes"), [(1, 20), (300, 20), (301, 30), (1000, 30), (2001, 45)]
)
def test_managed_image_resize_floor(nodes: int, minutes: int) -> None:
    """Managed-image pools get at least 20 minutes, 30 above 300 nodes (R3)."""
    assert required_resize_timeout_minutes(nodes, managed_image=True) == minutes


def test_settings_change_the_formulas() -> None:
    """vmsPerReplica and minutesPer1000Nodes are the divisors/multipliers of the formulas."""
    assert required_replicas(1000, 100) == 10
    assert required_resize_timeout_minutes(2500, 20) == 60


def test_negative_inputs_are_rejected() -> None:
    """Negative node counts are a programming error, not a sizing."""
    with pytest.raises(ValueError):
        required_replicas(-1)
    with pytest.raises(ValueError):
        required_resize_timeout_minutes(-1)


def test_replica_sizing_keeps_its_arithmetic() -> None:
    """The sizing record names each pool, the sum, and the formula."""
    sizing = size_replicas(
        "westeurope",
        (Contribution("pool:a/render", 2000, ""), Contribution("pool:a/sim", 1000, "")),
        declared=None,
    )
    assert sizing.final == 5
    assert sizing.arithmetic == (
        "pool:a/render (2000) + pool:a/sim (1000) = 3000 VMs; max(1, ceil(3000 / 600)) = 5"
    )


def test_declared_replicas_above_computed_are_kept_below_are_flagged() -> None:
    """A floor above the computed value wins; below it is marked for RC101."""
    above = size_replicas("r", (Contribution("p", 700, ""),), declared=4)
    below = size_replicas("r", (Contribution("p", 700, ""),), declared=1)
    assert (above.final, above.below_computed) == (4, False)
    assert (below.final, below.below_computed) == (2, True)


def test_declared_resize_timeout_is_kept_or_flagged() -> None:
    """A longer declared resizeTimeout is kept; a shorter one is marked for RC103."""
    longer = size_resize_timeout(2000, "PT1H")
    shorter = size_resize_timeout(2000, "PT20M")
    assert (longer.final, longer.below_computed) == ("PT1H", False)
    assert (shorter.final, shorter.below_computed) == ("PT30M", True)
    assert "declared PT20M (20 min) is below it" in shorter.explanation


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT15M", 900), ("PT1H30M", 5400), ("P1DT1S", 86401), ("PT0.5S", 0.5), ("P1W", 604800)],
)
def test_durations_parse(text: str, seconds: float) -> None:
    """ISO-8601 durations are read as seconds."""
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["P", "PT", "15M", "PT15", "P1M", "P1Y", "-PT15M"])
def test_malformed_durations_are_rejected(text: str) -> None:
    """Malformed durations, and months or years (no fixed length), raise ValueError."""
    with pytest.raises(ValueError):
        duration_seconds(text)


@pytest.mark.parametrize(
    ("minutes", "text"), [(15, "PT15M"), (60, "PT1H"), (90, "PT1H30M"), (1440, "P1D")]
)
def test_minutes_format_canonically(minutes: int, text: str) -> None:
    """Whole minutes are written the way Azure echoes durations."""
    assert format_minutes(minutes) == text


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(1, 600))
def test_replicas_are_monotonic(a: int, b: int, per: int) -> None:
    """More VMs never need fewer replicas, and every replica serves at most `per` VMs."""
    lo, hi = sorted((a, b))
    assert required_replicas(lo, per) <= required_replicas(hi, per)
    assert required_replicas(hi, per) * per >= hi
    assert required_replicas(hi, per) >= 1


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(15, 120), st.booleans())
def test_resize_timeout_is_monotonic(a: int, b: int, per: int, managed: bool) -> None:
    """More nodes never get a shorter timeout; managed images never get less than gallery ones."""
    lo, hi = sorted((a, b))
    t_lo = required_resize_timeout_minutes(lo, per, managed_image=managed)
    t_hi = required_resize_timeout_minutes(hi, per, managed_image=managed)
    assert 15 <= t_lo <= t_hi
    assert t_hi >= required_resize_timeout_minutes(hi, per)


@given(st.integers(0, 10**5), st.one_of(st.none(), st.integers(1, 200)))
def test_final_replicas_never_below_computed_or_declared(nodes: int, declared: int | None) -> None:
    """The final replica count is the larger of computed and declared."""
    s = size_replicas("r", (Contribution("p", nodes, ""),), declared)
    assert s.final == (s.computed if declared is None else max(s.computed, declared))
