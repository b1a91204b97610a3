"""The audit hash chain (domain/audit.py) in memory: an intact chain passes, and every kind of
tampering (a changed, removed, moved or re-hashed event, a cut-off tail) is named by seq and kind."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from yunzhang.domain.audit import GENESIS_HASH, AuditEvent, ChainProblem, check_chain, event_hash, hash_of

START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def build_chain(length: int) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    prev = GENESIS_HASH
    for seq in range(1, length + 1):
        fields = dict(at=START + timedelta(seconds=seq), actor="operator", action="enterprise:create",
                      subject=f"enterprise:{seq}", outcome="success", request_id=f"req-{seq}",
                      details={"name": f"企业{seq}", "n": seq}, prev_hash=prev)
        digest = event_hash(**fields)  # type: ignore[arg-type]
        events.append(AuditEvent(seq=seq, hash=digest, **fields))  # type: ignore[arg-type]
        prev = digest
    return events


def check(events: list[AuditEvent], *, head: AuditEvent | None = None) -> list[tuple[int, str]]:
    """(seq, kind) of each problem, checked against the head of the untampered chain."""
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    return [(p.seq, p.kind) for p in check_chain(events, head_seq=head_seq, head_hash=head_hash)]


def edited(event: AuditEvent, *, rehash: bool = False, **changes: object) -> AuditEvent:
    new = dataclasses.replace(event, **changes)  # type: ignore[arg-type]
    if rehash:
        new.hash = hash_of(new)
    return new


def test_intact_and_empty_chains_have_no_problems() -> None:
    chain = build_chain(5)
    assert check(chain, head=chain[-1]) == []
    assert check([]) == []


@pytest.mark.parametrize("change", [
    {"details": {"name": "企业3", "n": 30}},
    {"actor": "person:mallory"},
    {"action": "enterprise:update"},
    {"outcome": "denied"},
    {"request_id": "req-x"},
    {"at": START + timedelta(seconds=3, microseconds=1)},
])
def test_changed_field_is_reported_at_that_event(change: dict[str, object]) -> None:
    chain = build_chain(5)
    chain[2] = edited(chain[2], **change)
    assert check(chain, head=chain[-1]) == [(3, "changed")]


def test_hash_does_not_depend_on_how_the_time_zone_is_written() -> None:
    # PostgreSQL returns timestamptz in UTC, SQLite a naive UTC text: the hash must not change.
    [event] = build_chain(1)
    beijing = timezone(timedelta(hours=8))
    assert hash_of(edited(event, at=event.at.astimezone(beijing))) == event.hash
    assert hash_of(edited(event, at=event.at.replace(tzinfo=None))) == event.hash


@pytest.mark.parametrize(("removed", "expected"), [
    ([1], [(1, "removed")]),
    ([3], [(3, "removed")]),
    ([2, 3], [(2, "removed")]),
    ([2, 4], [(2, "removed"), (4, "removed")]),
])
def test_removed_events_are_named(removed: list[int], expected: list[tuple[int, str]]) -> None:
    chain = build_chain(5)
    problems = check_chain([e for e in chain if e.seq not in removed],
                           head_seq=5, head_hash=chain[-1].hash)
    assert [(p.seq, p.kind) for p in problems] == expected
    if removed == [2, 3]:
        assert "events 2-3 are missing" in problems[0].message


def test_cut_off_tail_is_caught_by_the_head() -> None:
    chain = build_chain(5)
    assert check(chain[:3], head=chain[-1]) == [(4, "removed")]
    assert check([], head=chain[-1]) == [(1, "removed")]


def test_last_event_replaced_with_a_fresh_hash_is_caught_by_the_head() -> None:
    chain = build_chain(5)
    chain[-1] = edited(chain[-1], rehash=True, actor="person:mallory")
    assert check(chain, head=build_chain(5)[-1]) == [(5, "changed")]


def test_edited_event_with_recomputed_hash_is_caught_by_its_successor() -> None:
    chain = build_chain(5)
    chain[2] = edited(chain[2], rehash=True, details={"name": "别的企业", "n": 3})
    problems = check_chain(chain, head_seq=5, head_hash=chain[-1].hash)
    assert problems == [ChainProblem(3, "changed", "event 3 was replaced or removed: event 4 does "
                                                   "not follow it")]


@pytest.mark.parametrize(("first", "second", "expected"), [
    (2, 3, [(2, "reordered"), (3, "reordered"), (4, "reordered")]),
    (2, 4, [(2, "reordered"), (3, "reordered"), (4, "reordered"), (5, "reordered")]),
    # Moving the last event away also leaves the head pointing at an event no longer there.
    (1, 5, [(1, "reordered"), (2, "reordered"), (4, "changed"), (5, "changed")]),
])
def test_swapped_events_are_reported_as_reordered(first: int, second: int,
                                                  expected: list[tuple[int, str]]) -> None:
    chain = build_chain(5)
    head = chain[-1]
    a, b = chain[first - 1], chain[second - 1]
    chain[first - 1] = dataclasses.replace(b, seq=first)
    chain[second - 1] = dataclasses.replace(a, seq=second)
    assert check(chain, head=head) == expected
