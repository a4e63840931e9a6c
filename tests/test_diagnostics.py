"""The one diagnostic type: built from the registry, printed alike, its position kept in plans."""

from __future__ import annotations

import pytest

from reconciler.diagnostics import (
    CODES,
    Diagnostic,
    Severity,
    SourceLocation,
    diag,
    split_where,
)
from reconciler.plan import make_plan
from reconciler.plan.snapshot import load_live_state
from reconciler.spec import load_spec
from tests.golden.test_golden import HERE as GOLDEN
from tests.golden.test_golden import TODAY


@pytest.mark.parametrize(
    ("diagnostic", "text"),
    [
        (
            Diagnostic(
                "RC003", Severity.ERROR, "unknown key `vmsize`", file="s.yaml", line=4, col=7
            ),
            "s.yaml:4:7: RC003 unknown key `vmsize`",
        ),
        (
            Diagnostic("RC001", Severity.ERROR, "cannot read the file", file="s.yaml"),
            "s.yaml: RC001 cannot read the file",
        ),
        (
            Diagnostic("RC507", Severity.WARNING, "owned, not in the spec", address="gallery:g"),
            "RC507 warning: owned, not in the spec [gallery:g]",
        ),
        (
            Diagnostic("RC507", Severity.WARNING, "gallery:g is owned", address="gallery:g"),
            "RC507 warning: gallery:g is owned",
        ),
        (
            Diagnostic("RC101", Severity.ERROR, "too few", hint="raise it\nor drop it"),
            "RC101 too few\n  hint: raise it\n        or drop it",
        ),
    ],
)
def test_a_diagnostic_prints_as_file_line_col_code_message_then_its_hint(diagnostic, text):
    """`format` gives the position (as far as known), code, message, address once, then the hint."""
    assert diagnostic.format() == text


def test_an_indented_diagnostic_indents_every_line():
    """The plan's Diagnostics section indents the head, the hint and the hint's continuation."""
    d = Diagnostic("RC101", Severity.ERROR, "too few", hint="raise it\nor drop it", file="s.yaml")
    assert (
        d.format(indent="  ") == "  s.yaml: RC101 too few\n    hint: raise it\n          or drop it"
    )


@pytest.mark.parametrize("severity", ["error", "warning", Severity.ERROR, Severity.WARNING])
def test_a_severity_given_as_text_is_stored_as_the_enum(severity):
    """However it is passed, the severity is a `Severity`: identity checks and `.value` hold."""
    d = Diagnostic("RC003", severity, "m")
    assert d.severity is Severity(severity)
    assert d.is_error is (d.severity == "error")
    assert d.to_dict()["severity"] == str(severity)


def test_diag_takes_the_registry_severity_and_a_source_location():
    """`diag` fills the code's severity from `CODES`; `at` may be a location or a tuple."""
    at = SourceLocation("spec.yaml", 12, 3)
    by_location = diag("RC207", "legacy image", at=at, address="pool:a/b")
    by_tuple = diag("RC207", "legacy image", at=("spec.yaml", 12, 3), address="pool:a/b")
    assert by_location == by_tuple
    assert by_location.severity is CODES["RC207"].severity is Severity.WARNING
    assert by_location.where == str(at) == "spec.yaml:12:3"


@pytest.mark.parametrize(
    ("file", "line", "col"),
    [
        ("spec.yaml", 12, 3),
        ("specs/prod/pools.yaml", 1, 1),
        ("teams/a:b/spec.yaml", 4, 7),  # a colon in a folder name
        ("C:\\specs\\spec.yaml", 9, 2),  # a drive letter
        ("spec.yaml", None, None),
        ("teams/a:1/spec.yaml", None, None),  # looks like file:line, but has no column
        (None, None, None),
    ],
)
def test_split_where_reads_back_what_where_writes(file, line, col):
    """Plan files keep a position as one ``where`` string; `split_where` gives its parts back."""
    d = Diagnostic("RC003", Severity.ERROR, "m", file=file, line=line, col=col)
    assert split_where(d.where) == (file, line, col)


def test_spec_and_planner_diagnostics_are_one_type_in_the_plan(monkeypatch):
    """The spec's warnings enter the plan as they are, beside the planner's own, all positioned."""
    folder = GOLDEN / "managed_image_rules"
    monkeypatch.chdir(folder)
    result = load_spec(["spec.yaml"], today=TODAY)
    assert result.spec is not None
    plan = make_plan(
        result.spec,
        load_live_state(folder / "live.json"),
        target="t",
        now=TODAY,
        diagnostics=result.diagnostics,
    )
    assert {type(d) for d in plan.diagnostics} == {Diagnostic}
    assert result.diagnostics
    assert all(any(p is d for p in plan.diagnostics) for d in result.diagnostics)
    refused = next(d for d in plan.diagnostics if d.code == "RC502")  # the planner's own
    assert (refused.file, refused.line, refused.col) == ("spec.yaml", 59, 5)
