"""Per-customer limits (issue 10): their values, and the token bucket behind requests/s.

A limit of 0 turns that limit off. The bucket is a pure value updated in O(1) per request:
`take` refills it for the time since it was last used and spends one token, or says how long
until one is there (the `Retry-After` of the 429)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    requests_per_second: float = 50.0  # per access key, sustained; 0: no rate limit
    request_burst: int = 100  # per access key, requests at once after a quiet spell
    event_streams: int = 10  # open GET /v1.0/events streams per customer (per process)
    targets: int = 10_000_000  # targets a customer may hold (not deleted)
    # Bytes in one `POST /v1.0/outdials/{id}/targets_import` body (every other body: 32 MiB);
    # 2 GiB holds about 40 million CSV rows of the benchmark's shape.
    import_body: int = 2 * 1024 * 1024 * 1024

    def __post_init__(self) -> None:
        if min(self.requests_per_second, self.event_streams, self.targets, self.import_body) < 0:
            raise ValueError("limits must not be negative (0 turns one off)")
        if self.requests_per_second > 0 and self.request_burst < 1:
            raise ValueError("rate-limit-burst must be at least 1")


class TokenBucket:
    """`burst` tokens at most, `rate` more each second; one per request."""

    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp

    def take(self, now: float, rate: float, burst: float) -> float:
        """Spend one token: 0.0 when there was one, else the seconds until there is."""
        tokens = min(burst, self.tokens + max(0.0, now - self.stamp) * rate)
        self.stamp = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return 0.0
        self.tokens = tokens
        return (1.0 - tokens) / rate

    def full(self, now: float, rate: float, burst: float) -> bool:
        return self.tokens + max(0.0, now - self.stamp) * rate >= burst
