"""Progress views: timestamped lines for CI, JSON events, a summary naming each root cause once."""

from __future__ import annotations

import io
import json
import re

from rich.console import Console

from reconciler.apply import (
    ExecutorSettings,
    JsonProgress,
    LiveProgress,
    PlainProgress,
    apply_plan,
    make_progress,
)
from reconciler.errors import PermanentAzureError
from reconciler.state.model import Kind
from tests.apply.fake import FakeClock, FakeOperations, change, failing, plan_of, rid

FAST = ExecutorSettings(poll_interval=1.0)


def failing_plan_ops() -> tuple[FakeOperations, object]:
    ops = FakeOperations()
    ops.hooks["create"].append(
        failing(
            PermanentAzureError("quota exceeded for standard_d2s_v3"),
            when=lambda kw: kw["resource_id"] == rid(Kind.GALLERY, "bad"),
        )
    )
    plan = plan_of(
        change("bad"),
        change("c1", Kind.IMAGE, depends_on=["bad"]),
        change("c2", Kind.IMAGE, depends_on=["bad"]),
        change("ok"),
    )
    return ops, plan


def test_plain_progress_writes_timestamped_lines_and_a_summary() -> None:
    """Each event is one UTC-timestamped line; the summary names the root cause exactly once."""
    ops, plan = failing_plan_ops()
    out = io.StringIO()
    apply_plan(plan, ops, progress=PlainProgress(out), sleep=FakeClock().sleep, settings=FAST)
    text = out.getvalue()
    event_lines = text.split("\n\n")[0].splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  "
    assert re.fullmatch(
        stamp + r"applying 4 change\(s\) to fake \(parallelism 10\)", event_lines[0]
    )
    kinds_and_addresses = [
        re.fullmatch(stamp + r"(\w+) +[+~-] (\S+): .*", line) for line in event_lines[1:]
    ]
    assert all(kinds_and_addresses), event_lines
    # The two branches run in parallel, so their lines may interleave in any order.
    assert sorted(m.groups() for m in kinds_and_addresses if m) == [
        ("done", "gallery:ok"),
        ("failed", "gallery:bad"),
        ("skipped", "image:c1"),
        ("skipped", "image:c2"),
        ("start", "gallery:bad"),
        ("start", "gallery:ok"),
        ("step", "gallery:bad"),
        ("step", "gallery:ok"),
    ]
    assert text.count("Root cause:") == 1
    assert "Root cause: gallery:bad: quota exceeded for standard_d2s_v3" in text
    assert "skipped because of it: image:c1, image:c2" in text
    assert "Apply failed: 1 done, 1 failed, 2 skipped." in text


def test_json_progress_emits_one_parseable_event_per_line_then_a_summary() -> None:
    """--format json: every line is a JSON object; the last is the summary with counts."""
    ops, plan = failing_plan_ops()
    out = io.StringIO()
    apply_plan(plan, ops, progress=JsonProgress(out), sleep=FakeClock().sleep, settings=FAST)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert events[0]["event"] == "apply-start"
    assert events[-1]["event"] == "summary"
    assert events[-1]["counts"] == {
        "done": 1,
        "failed": 1,
        "skipped": 2,
        "stopped": 0,
        "no-op": 0,
    }
    skipped = [e for e in events if e["event"] == "skipped"]
    assert {e["address"] for e in skipped} == {"image:c1", "image:c2"}
    assert all(e["data"]["blocked_by"] == ["bad"] for e in skipped)


def test_live_progress_renders_rows_and_the_summary_table() -> None:
    """On a terminal the live view ends with a summary table listing every change."""
    ops, plan = failing_plan_ops()
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160, height=40)
    apply_plan(plan, ops, progress=LiveProgress(console), sleep=FakeClock().sleep, settings=FAST)
    text = out.getvalue()
    summary = text[text.rindex("apply summary") :]
    for address in ("gallery:bad", "image:c1", "image:c2", "gallery:ok"):
        assert address in summary, summary
    assert "Root cause: gallery:bad: quota exceeded for standard_d2s_v3" in summary


def test_make_progress_picks_the_sink_for_format_and_terminal() -> None:
    """json → JsonProgress; text on a TTY → live view; text otherwise → plain lines."""
    assert isinstance(make_progress("json", stream=io.StringIO()), JsonProgress)
    assert isinstance(make_progress("text", stream=io.StringIO(), tty=True), LiveProgress)
    assert isinstance(make_progress("text", stream=io.StringIO(), tty=False), PlainProgress)
