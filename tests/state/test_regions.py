"""Region names Azure answers in (display names) normalise to the ARM names specs use."""

from __future__ import annotations

import pytest

from reconciler.sandbox.regions import DISPLAY_NAMES
from reconciler.state.model import canonical_location


@pytest.mark.parametrize(("arm", "display"), sorted(DISPLAY_NAMES.items()))
def test_every_display_name_normalises_to_its_arm_name(arm: str, display: str) -> None:
    """``East US`` (as a version's targetRegions and replication summary answer) is ``eastus``."""
    assert canonical_location(display) == arm
    assert canonical_location(arm) == arm
    assert canonical_location(display.upper()) == arm
