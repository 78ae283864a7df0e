"""When the next attempt happens: the configured schedule, spread by jitter."""

from __future__ import annotations

import random
from collections.abc import Sequence

from moneyrail.core import limits


def attempts_allowed(schedule: Sequence[float]) -> int:
    """The first attempt plus one retry per scheduled delay."""
    return 1 + len(schedule)


def delay_before_retry(
    schedule: Sequence[float], *, retry: int, jitter_ratio: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry number `retry` (1-based); past the schedule, its last step."""
    if not schedule:
        return 0.0
    base = schedule[min(retry, len(schedule)) - 1]
    spread = base * max(0.0, min(jitter_ratio, 1.0))
    delay = base + (rng or random).uniform(-spread, spread)
    return max(0.0, min(delay, limits.webhook_retry_delay_seconds_max))
