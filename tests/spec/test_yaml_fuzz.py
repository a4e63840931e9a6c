"""Fuzzing the reader with YAML explicit tags: every input becomes diagnostics, never a crash.

The shipped example specs are mutated by putting a tag (standard, local or garbage) in
front of a value, a mapping or a list, one or more times; `reconcile validate` must
finish with exit 0 or 1 and print its verdict, whatever the tag does to the value.
"""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "specs").rglob("*.yaml"))
TAGS = (
    "!!bool",
    "!!int",
    "!!float",
    "!!timestamp",
    "!!binary",
    "!!null",
    "!!str",
    "!!map",
    "!!seq",
    "!!omap",
    "!!set",
    "!!merge",
    "!!python/object:os.system",
    "!foo",
    "!",
    "!<tag:example.com,2026:x>",
)
# After `key:` or `- ` (a value, a nested mapping or list follows).
_SLOT = re.compile(r"(:[ ]+|:$|^\s*-[ ]+)", re.MULTILINE)


def _mutate(text: str, picks: list[tuple[int, str]]) -> str:
    slots = [m.end() for m in _SLOT.finditer(text)]
    for index, tag in sorted(picks, key=lambda p: -(slots[p[0] % len(slots)])):
        at = slots[index % len(slots)]
        sep = "" if text[at - 1 : at] == " " else " "
        text = text[:at] + sep + tag + " " + text[at:]
    return text


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    example=st.sampled_from(EXAMPLES),
    picks=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10_000),
            st.one_of(st.sampled_from(TAGS), st.from_regex(r"!!?[a-z]{1,8}", fullmatch=True)),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_validate_never_raises_on_tagged_examples(
    tmp_path: Path, example: Path, picks: list[tuple[int, str]]
) -> None:
    """`reconcile validate` on an example with explicit tags added exits 0 or 1 with a verdict."""
    spec = tmp_path / example.name
    spec.write_text(_mutate(example.read_text(encoding="utf-8"), picks), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(spec)])
    assert result.exception is None or isinstance(result.exception, SystemExit), spec.read_text()
    assert result.exit_code in (0, 1)
    assert "valid: " in result.output or "invalid: " in result.output


def test_every_example_is_fuzzed() -> None:
    """The fuzz test reads the shipped examples, and each has places to put a tag."""
    assert len(EXAMPLES) >= 4
    assert all(_SLOT.search(p.read_text(encoding="utf-8")) for p in EXAMPLES)
