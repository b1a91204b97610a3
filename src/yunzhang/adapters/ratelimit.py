"""Fixed-window rate limiters: in-process memory (one server process) and Redis (many)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis
from redis.exceptions import RedisError

from yunzhang.errors import ExternalServiceError
from yunzhang.services.ports import RateDecision


class MemoryRateLimiter:
    """Counts per key and window in this process; right for the embedded single-process setup."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (end of its window, hits)

    def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        now = self._now()
        end = (int(now // window_seconds) + 1) * window_seconds
        with self._lock:
            if len(self._windows) > 100_000:  # drop ended windows so memory stays bounded
                # By end time, not window number: keys have windows of different lengths.
                self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
            stored_end, count = self._windows.get(key, (end, 0))
            if stored_end != end:
                count = 0
            count += 1
            self._windows[key] = (end, count)
        if count > limit:
            return RateDecision(False, int(end - now) + 1)
        return RateDecision(True, 0)


class RedisRateLimiter:
    """INCR + EXPIRE on one key per window, shared by every server process."""

    def __init__(self, url: str, *, prefix: str = "yunzhang:rl:") -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix

    def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        now = time.time()
        window = int(now // window_seconds)
        name = f"{self._prefix}{key}:{window}"
        try:
            pipe = self._redis.pipeline()
            pipe.incr(name)
            pipe.expire(name, window_seconds + 1)
            count, _ = pipe.execute()
        except RedisError as err:
            raise ExternalServiceError(
                "the rate-limit store (Redis) is unreachable", code="ratelimit.unavailable"
            ) from err
        if int(count) > limit:
            return RateDecision(False, int((window + 1) * window_seconds - now) + 1)
        return RateDecision(True, 0)
