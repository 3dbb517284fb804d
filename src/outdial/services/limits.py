"""Per-customer limits that live in this process: requests per second per access key (a token
bucket each, O(1) per request) and open event streams per customer. Both answer 429
`RESOURCE_EXHAUSTED`; the rate limit says when to come back (`Retry-After`)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable

from outdial.domain.errors import ResourceExhausted
from outdial.domain.limits import Limits, TokenBucket

MAX_BUCKETS = 100_000  # keys remembered at once; full buckets are forgotten past this


STREAM_RETRY_S = 5  # an event stream ends within seconds of its client going away


class RateLimited(ResourceExhausted):
    reason = "RATE_LIMITED"

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message, retry_after=math.ceil(retry_after_s))


class RequestLimits:
    def __init__(self, limits: Limits, now: Callable[[], float]) -> None:
        self.limits = limits
        self._now = now
        self._buckets: dict[str, TokenBucket] = {}
        self._streams: dict[uuid.UUID, int] = {}

    def take(self, key: str) -> None:
        """One request by the key `key` (its hash): RateLimited when it is over its rate."""
        rate = self.limits.requests_per_second
        if rate <= 0:
            return
        burst = float(self.limits.request_burst)
        now = self._now()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_full(now, rate, burst)
            bucket = self._buckets[key] = TokenBucket(burst, now)
        wait = bucket.take(now, rate, burst)
        if wait > 0:
            raise RateLimited(
                f"more than {rate:g} requests per second (burst {burst:g}) with this access key",
                wait,
            )

    def _forget_full(self, now: float, rate: float, burst: float) -> None:
        full = [k for k, b in self._buckets.items() if b.full(now, rate, burst)]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= MAX_BUCKETS:  # every key is busy: start again
            self._buckets.clear()

    def open_stream(self, customer_id: uuid.UUID) -> None:
        """Count one more open event stream; ResourceExhausted past the limit."""
        limit = self.limits.event_streams
        open_now = self._streams.get(customer_id, 0)
        if limit and open_now >= limit:
            raise ResourceExhausted(
                f"at most {limit} event streams may be open at once",
                reason="TOO_MANY_STREAMS",
                retry_after=STREAM_RETRY_S,
            )
        self._streams[customer_id] = open_now + 1

    def close_stream(self, customer_id: uuid.UUID) -> None:
        left = self._streams.get(customer_id, 0) - 1
        if left > 0:
            self._streams[customer_id] = left
        else:
            self._streams.pop(customer_id, None)

    def streams(self, customer_id: uuid.UUID) -> int:
        return self._streams.get(customer_id, 0)
