"""The comment body: a marker that finds it again, folding that never breaks the page."""

from __future__ import annotations

import pytest

from reconciler.gitops.body import COMMENT_LIMIT, compose, fold, has_marker, marker


def test_the_marker_is_an_invisible_html_comment_naming_the_key():
    """The marker is one HTML comment line that carries the key."""
    assert marker("production") == "<!-- reconcile:comment key=production -->"


@pytest.mark.parametrize("key", ["", "-x", "a b", "x" * 101, "prod-->", "é"])
def test_keys_that_could_break_the_marker_are_refused(key):
    """Keys with spaces, comment terminators or odd characters are a ValueError."""
    with pytest.raises(ValueError, match="comment key"):
        marker(key)


@pytest.mark.parametrize(
    ("text", "key", "found"),
    [
        ("<!-- reconcile:comment key=prod -->\n## plan", "prod", True),
        ("## plan\n  <!-- reconcile:comment key=prod -->  \n", "prod", True),
        ("<!-- reconcile:comment key=production -->\n", "prod", False),
        ("see <!-- reconcile:comment key=prod --> inline", "prod", False),
        ("", "prod", False),
        (None, "prod", False),
    ],
)
def test_a_marker_is_found_only_on_a_line_of_its_own_for_the_same_key(text, key, found):
    """Another target's marker, or a quoted marker inside a sentence, does not match."""
    assert has_marker(text, key) is found


def test_text_that_fits_is_left_alone():
    """Folding is the identity below the budget."""
    assert fold("## plan\nsmall\n", 100) == "## plan\nsmall\n"


@pytest.mark.parametrize("budget", [300, 1_000, 5_000])
def test_folded_text_fits_keeps_whole_lines_and_says_how_much_is_left_out(budget):
    """The head is kept in whole lines, the note counts what was left out, the total fits."""
    lines = [f"- change {i:04d}: a pool grows by some nodes\n" for i in range(500)]
    text = "".join(lines)
    folded = fold(text, budget)
    assert len(folded) <= budget
    head, note = folded.split("\n_… folded", 1)
    assert text.startswith(head)
    assert head.endswith("\n")
    left_out = len(text) - len(head)
    assert f"{left_out:,} more characters" in note


def test_folding_closes_the_details_and_code_fence_it_cut_through():
    """A cut inside <details> and a fenced block closes both, so the page renders."""
    text = (
        "<details>\n<summary>pool</summary>\n\n```text\n" + "line\n" * 2_000 + "```\n</details>\n"
    )
    folded = fold(text, 600)
    assert len(folded) <= 600
    assert folded.count("```") == 2
    assert folded.count("<details") == folded.count("</details>") == 1
    assert folded.index("```\n</details>") < folded.index("_… folded")


def test_a_budget_smaller_than_the_note_is_still_respected():
    """Even a tiny budget is never exceeded."""
    assert len(fold("x\n" * 1_000, 20)) <= 20


@pytest.mark.parametrize("size", [10, 65_000, 70_000, 1_000_000])
def test_a_composed_body_starts_with_the_marker_and_never_exceeds_the_limit(size):
    """Marker first, footer last, at most COMMENT_LIMIT characters whatever the input."""
    body = compose("y\n" * (size // 2), key="prod", footer="<sub>run 1</sub>")
    assert len(body) <= COMMENT_LIMIT
    assert body.startswith(marker("prod") + "\n")
    assert body.endswith("\n---\n<sub>run 1</sub>\n")
