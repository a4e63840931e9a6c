"""Fault injection: which configured `FaultRule`s fire for a request.

Dice come from one `random.Random(seed)` per Sandbox, so a given sequence of requests sees
the same faults on every run; `first_n` counters live in the world so they count across
processes.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

from reconciler.sandbox.config import FaultRule
from reconciler.sandbox.store import Tx


@dataclass(frozen=True)
class Fired:
    """A rule that fired, with its index in the config (for counters and messages)."""

    index: int
    rule: FaultRule


class FaultDice:
    """Decides, deterministically by seed, which rules fire for a request."""

    def __init__(self, rules: tuple[FaultRule, ...], seed: int) -> None:
        self._rules = rules
        self._patterns = [re.compile(r.path, re.IGNORECASE) if r.path else None for r in rules]
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def roll(self, tx: Tx, method: str, path: str, op_class: str) -> list[Fired]:
        fired: list[Fired] = []
        for index, rule in enumerate(self._rules):
            if rule.method and rule.method.upper() != method.upper():
                continue
            if rule.op_class and rule.op_class != op_class:
                continue
            pattern = self._patterns[index]
            if pattern is not None and not pattern.search(path):
                continue
            if rule.first_n is not None and tx.bump(f"fault:{index}") > rule.first_n:
                continue
            if rule.probability < 1.0:
                with self._lock:
                    if self._rng.random() >= rule.probability:
                        continue
            fired.append(Fired(index, rule))
        return fired
