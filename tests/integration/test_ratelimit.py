"""Fixed-window rate limiters: the in-process one (with an injected monotonic clock) and the Redis
one against the real server at 127.0.0.1:6379 db 15. An unreachable Redis fails these tests."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from yunzhang.adapters.ratelimit import MemoryRateLimiter, RedisRateLimiter
from yunzhang.errors import ExternalServiceError
from yunzhang.services.ports import RateDecision

REDIS_URL = "redis://127.0.0.1:6379/15"


class FakeMonotonic:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as err:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({type(err).__name__}); start it, "
                    "these tests do not skip", pytrace=False)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own, deleted afterwards."""
    prefix = f"yunzhang-test:{uuid.uuid4().hex}:"
    yield prefix
    for key in redis_client.scan_iter(match=f"{prefix}*"):
        redis_client.delete(key)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def hits(limiter: MemoryRateLimiter | RedisRateLimiter, key: str, n: int, *, limit: int,
         window: int) -> list[RateDecision]:
    return [limiter.hit(key, limit=limit, window_seconds=window) for _ in range(n)]


def away_from_window_edge(window: int, margin: float = 2.0) -> None:
    """Wait out the end of the current wall-clock window, so a test's hits fall into one window."""
    left = window - time.time() % window
    if left < margin:
        time.sleep(left + 0.05)


def make_memory(start: float = 1000.0) -> tuple[MemoryRateLimiter, FakeMonotonic]:
    clock = FakeMonotonic(start)
    return MemoryRateLimiter(clock), clock


# --- Both limiters ---------------------------------------------------------------------------

@pytest.fixture(params=["memory", "redis"])
def limiter_factory(
    request: pytest.FixtureRequest,
) -> Callable[[], MemoryRateLimiter | RedisRateLimiter]:
    if request.param == "memory":
        limiter, _ = make_memory()
        return lambda: limiter  # one process: every "instance" is the same object
    prefix = request.getfixturevalue("redis_prefix")
    away_from_window_edge(3600)
    return lambda: RedisRateLimiter(REDIS_URL, prefix=prefix)


def test_allows_up_to_the_limit_then_refuses(
    limiter_factory: Callable[[], MemoryRateLimiter | RedisRateLimiter],
) -> None:
    decisions = hits(limiter_factory(), "sms:phone:13912345678", 5, limit=3, window=3600)
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.retry_after for d in decisions[:3]] == [0, 0, 0]
    assert all(0 < d.retry_after <= 3601 for d in decisions[3:])


def test_keys_are_counted_separately(
    limiter_factory: Callable[[], MemoryRateLimiter | RedisRateLimiter],
) -> None:
    limiter = limiter_factory()
    assert not hits(limiter, "login:phone:a", 2, limit=1, window=900)[-1].allowed
    assert limiter.hit("login:phone:b", limit=1, window_seconds=900).allowed


def test_concurrent_hits_are_counted_exactly(
    limiter_factory: Callable[[], MemoryRateLimiter | RedisRateLimiter],
) -> None:
    # Several threads, each with its own limiter instance (for Redis: as separate processes would).
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        limiter = limiter_factory()
        mine = [d.allowed for d in hits(limiter, "sms:ip:10.0.0.1", 25, limit=50, window=3600)]
        with lock:
            allowed.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 100
    assert allowed.count(True) == 50


# --- In-process limiter ----------------------------------------------------------------------

def test_memory_refusal_says_when_to_come_back() -> None:
    limiter, clock = make_memory(start=1000.0)  # window [960, 1020) of 60 s
    hits(limiter, "k", 2, limit=2, window=60)
    refused = limiter.hit("k", limit=2, window_seconds=60)
    assert not refused.allowed and refused.retry_after > 0
    clock.now += refused.retry_after - 2
    assert not limiter.hit("k", limit=2, window_seconds=60).allowed  # still the same window
    clock.now += 2
    assert limiter.hit("k", limit=2, window_seconds=60).allowed


def test_memory_new_window_resets_the_count() -> None:
    limiter, clock = make_memory(start=1000.0)
    assert [d.allowed for d in hits(limiter, "k", 3, limit=2, window=60)] == [True, True, False]
    clock.now = 1020.0  # the next 60-second window starts
    assert [d.allowed for d in hits(limiter, "k", 3, limit=2, window=60)] == [True, True, False]


def test_memory_pruning_keeps_longer_windows_alive() -> None:
    # A flood of keys with a short window (one login attempt each from many numbers) makes the
    # limiter prune old windows; an hourly SMS limit in the same limiter must survive that.
    limiter, _ = make_memory(start=1_000_000.0)
    assert limiter.hit("sms:phone:13912345678", limit=1, window_seconds=3600).allowed
    for n in range(100_002):
        limiter.hit(f"login:phone:{n}", limit=10, window_seconds=900)
    assert not limiter.hit("sms:phone:13912345678", limit=1, window_seconds=3600).allowed


# --- Redis limiter ---------------------------------------------------------------------------

def test_redis_new_window_resets_the_count(redis_prefix: str) -> None:
    limiter = RedisRateLimiter(REDIS_URL, prefix=redis_prefix)
    away_from_window_edge(1, margin=0.5)
    first = hits(limiter, "k", 2, limit=1, window=1)
    assert [d.allowed for d in first] == [True, False]
    assert first[1].retry_after == 1
    time.sleep(1 - time.time() % 1 + 0.05)  # into the next one-second window
    assert limiter.hit("k", limit=1, window_seconds=1).allowed


def test_redis_counts_expire_with_their_window(redis_prefix: str, redis_client: redis.Redis) -> None:
    away_from_window_edge(60)
    hits(RedisRateLimiter(REDIS_URL, prefix=redis_prefix), "sms:phone:13912345678", 3, limit=5,
         window=60)
    [key] = list(redis_client.scan_iter(match=f"{redis_prefix}*"))
    assert key.decode().startswith(f"{redis_prefix}sms:phone:13912345678:")
    assert int(redis_client.get(key)) == 3  # type: ignore[arg-type]
    assert 0 < redis_client.ttl(key) <= 61  # no key outlives its window for long


def test_redis_unreachable_is_an_external_service_error(closed_port: int) -> None:
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{closed_port}/0")
    started = time.monotonic()
    with pytest.raises(ExternalServiceError) as caught:
        limiter.hit("k", limit=1, window_seconds=60)
    assert caught.value.code == "ratelimit.unavailable"
    assert str(closed_port) not in caught.value.detail  # no connection details to the caller
    assert time.monotonic() - started < 3
