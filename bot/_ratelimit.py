"""A token bucket per user: floods get one friendly notice per window instead of work."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    ALLOW = "allow"
    NOTIFY = "notify"
    """Over the limit, and the user has not been told in this window: tell them once."""
    DROP = "drop"


@dataclass
class _Bucket:
    tokens: float
    updated: float
    notified_until: float = 0.0


class RateLimiter:
    """``burst`` requests at once per user, refilled at ``burst`` per ``per_seconds``.

    Only the most recent ``max_users`` users are remembered, so memory stays
    bounded under a flood of distinct senders.
    """

    def __init__(
        self, burst: int, per_seconds: float, *, clock: Callable[[], float] = time.monotonic, max_users: int = 100_000
    ) -> None:
        self.burst = burst
        self.per_seconds = per_seconds
        self.rate = burst / per_seconds
        self._clock = clock
        self._max_users = max_users
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()

    def check(self, user_id: int) -> Verdict:
        now = self._clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), updated=now)
            self._buckets[user_id] = bucket
            if len(self._buckets) > self._max_users:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(user_id)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict.ALLOW
        if now >= bucket.notified_until:
            bucket.notified_until = now + self.per_seconds
            return Verdict.NOTIFY
        return Verdict.DROP

    def retry_after(self, user_id: int) -> int:
        """Whole seconds until ``user_id`` may ask again."""
        bucket = self._buckets.get(user_id)
        if bucket is None or bucket.tokens >= 1.0:
            return 0
        return max(1, int((1.0 - bucket.tokens) / self.rate + 0.999))
