"""A comment's body: the hidden marker that finds it again, and folding under the size limit.

Pure. The marker is an HTML comment (invisible once rendered) naming a key, so one pull
request can carry one comment per target and every push edits the same one. Folding
keeps whole lines, closes any ``<details>`` or code fence it cut through (a half-open
``<details>`` would swallow the rest of the page) and says how much was left out.
"""

from __future__ import annotations

import re

# GitHub refuses longer comment and issue bodies (422). Azure DevOps accepts at least as
# much, so one limit serves both and a comment looks the same on either.
COMMENT_LIMIT = 65_536

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
_MARKER_PREFIX = "<!-- reconcile:comment key="


def marker(key: str) -> str:
    """The hidden line that identifies the comment for `key` (one per target)."""
    if not KEY_PATTERN.match(key):
        raise ValueError(
            f"comment key {key!r} must be letters, digits, '.', '_', '/' or '-' "
            "(at most 100, starting with a letter or digit)"
        )
    return f"{_MARKER_PREFIX}{key} -->"


def has_marker(text: str | None, key: str) -> bool:
    """Whether `text` carries the marker for `key` (on a line of its own)."""
    if not text:
        return False
    line = marker(key)
    return any(candidate.strip() == line for candidate in text.splitlines())


def _closers(in_fence: bool, open_details: int) -> str:
    return ("```\n" if in_fence else "") + "</details>\n" * open_details


def fold(text: str, budget: int) -> str:
    """`text` if it fits in `budget` characters, else its head in whole lines plus a note."""
    if len(text) <= budget:
        return text
    note_template = (
        "\n_… folded to stay under the comment size limit: {n:,} more characters are in "
        "the job summary and the saved plan._\n"
    )
    kept: list[str] = []
    size = 0
    in_fence = False
    open_details = 0
    for line in text.splitlines(keepends=True):
        next_fence = in_fence != line.lstrip().startswith("```")
        next_details = max(0, open_details + line.count("<details") - line.count("</details>"))
        closing = _closers(next_fence, next_details)
        omitted = len(text) - size - len(line)
        note = note_template.format(n=omitted)
        if size + len(line) + len(closing) + len(note) > budget:
            break
        kept.append(line)
        size += len(line)
        in_fence, open_details = next_fence, next_details
    head = "".join(kept)
    if head and not head.endswith("\n"):
        head += "\n"
    folded = head + _closers(in_fence, open_details) + note_template.format(n=len(text) - size)
    # Only a budget smaller than the note itself gets here too long; cut it hard.
    return folded[:budget]


def compose(markdown: str, *, key: str, footer: str = "", limit: int = COMMENT_LIMIT) -> str:
    """Marker, then `markdown` folded to fit, then `footer`: never more than `limit` characters."""
    head = marker(key) + "\n"
    tail = f"\n---\n{footer}\n" if footer else ""
    budget = limit - len(head) - len(tail)
    if budget <= 0:
        raise ValueError(f"a limit of {limit} characters leaves no room for the comment")
    return head + fold(markdown, budget) + tail
