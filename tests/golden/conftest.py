"""`--update-golden`: rewrite the expected outputs of golden cases instead of comparing.

Registered here, so it works when pytest is pointed at this folder
(``pytest tests/golden --update-golden``); from anywhere, ``UPDATE_GOLDEN=1`` does the same.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*/plan.{txt,json,md} from the current code",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the expected outputs should be rewritten rather than compared."""
    try:
        flag = bool(request.config.getoption("--update-golden"))
    except ValueError:
        flag = False
    return flag or os.environ.get("UPDATE_GOLDEN") == "1"
