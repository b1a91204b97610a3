"""Domain rules, without a database: SMS code tries and expiry, outbox backoff and giving up, what an
SMS may say, the order of identity and liveness checks, and registry record differences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from yunzhang.domain.enterprises import (
    Enterprise,
    EnterpriseKind,
    EnterpriseStatus,
    RegistryRecord,
)
from yunzhang.domain.ids import ResidentId, Uscc, resident_id_check_char, uscc_check_char
from yunzhang.domain.notifications import (
    MAX_SMS_CHARS,
    CodePurpose,
    CodeState,
    OutboxMessage,
    OutboxStatus,
    SmsCode,
    safe_sms_text,
)
from yunzhang.domain.persons import Person, VerificationLevel
from yunzhang.errors import Conflict, InvalidInput

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
ID_NUMBER = "11010519491231002X"
OTHER_ID_NUMBER = "31011519800101" + "123" + resident_id_check_char("31011519800101123")


def sms_code(max_attempts: int = 5, ttl: timedelta = timedelta(minutes=5)) -> SmsCode:
    return SmsCode(phone="13912345678", purpose=CodePurpose.LOGIN, code_hmac="h" * 64,
                   created_at=T0, expires_at=T0 + ttl, max_attempts=max_attempts)


def outbox_message() -> OutboxMessage:
    return OutboxMessage(channel="sms", recipient="13912345678", body="hello", created_at=T0,
                         next_attempt_at=T0)


def person() -> Person:
    return Person(phone="13912345678", password_hash="$argon2id$...", created_at=T0)


def level(someone: Person) -> VerificationLevel:
    return someone.verification_level


# --- SMS codes -------------------------------------------------------------------------------

def test_code_dies_on_the_fifth_wrong_try() -> None:
    code = sms_code(max_attempts=5)
    left = []
    for _ in range(4):
        left.append(code.record_wrong_try())
        assert code.state is CodeState.LIVE and code.usable(T0)
    assert left == [4, 3, 2, 1]
    assert code.record_wrong_try() == 0
    assert code.state is CodeState.DEAD
    assert not code.usable(T0)


def test_wrong_tries_after_death_stay_dead_and_report_none_left() -> None:
    code = sms_code(max_attempts=1)
    assert code.record_wrong_try() == 0
    assert code.record_wrong_try() == 0
    assert code.state is CodeState.DEAD


@pytest.mark.parametrize(
    ("at", "usable"),
    [
        (T0, True),
        (T0 + timedelta(minutes=5) - timedelta(microseconds=1), True),
        (T0 + timedelta(minutes=5), False),
        (T0 + timedelta(days=1), False),
    ],
)
def test_code_is_usable_only_before_it_expires(at: datetime, usable: bool) -> None:
    assert sms_code().usable(at) is usable


def test_consumed_code_is_not_usable() -> None:
    code = sms_code()
    code.consume()
    assert code.state is CodeState.USED
    assert not code.usable(T0)


# --- Outbox ----------------------------------------------------------------------------------

def test_failed_tries_back_off_exponentially_then_give_up() -> None:
    message = outbox_message()
    at = T0
    for attempt, delay in enumerate([30, 60, 120, 240, 480], start=1):
        message.mark_failed_try(at=at, error=f"HTTP 500 #{attempt}", max_attempts=6)
        assert message.status is OutboxStatus.PENDING
        assert message.attempts == attempt
        assert message.next_attempt_at == at + timedelta(seconds=delay)
        assert message.last_error == f"HTTP 500 #{attempt}"
        at = message.next_attempt_at
    message.mark_failed_try(at=at, error="HTTP 500 #6", max_attempts=6)
    assert message.status is OutboxStatus.FAILED
    assert message.attempts == 6
    assert message.sent_at is None


def test_a_single_allowed_try_gives_up_at_once() -> None:
    message = outbox_message()
    message.mark_failed_try(at=T0, error="refused", max_attempts=1)
    assert message.status is OutboxStatus.FAILED


def test_long_errors_are_cut() -> None:
    message = outbox_message()
    message.mark_failed_try(at=T0, error="x" * 5000, max_attempts=6)
    assert message.last_error == "x" * 500


def test_sent_after_a_failure_clears_the_error() -> None:
    message = outbox_message()
    message.mark_failed_try(at=T0, error="timeout", max_attempts=6)
    message.mark_sent(at=T0 + timedelta(seconds=30), provider_id="gw-1")
    assert (message.status, message.attempts, message.last_error) == (OutboxStatus.SENT, 2, None)
    assert message.sent_at == T0 + timedelta(seconds=30)
    assert message.provider_id == "gw-1"


# --- What an SMS may say ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "body",
    [
        ID_NUMBER,
        ID_NUMBER.lower(),
        OTHER_ID_NUMBER,
        f"【云章】身份证{ID_NUMBER}已核验",
        f"ID: {OTHER_ID_NUMBER}.",
    ],
)
def test_sms_with_a_full_id_number_is_refused(body: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        safe_sms_text(body)
    assert caught.value.code == "sms.contains_id_number"
    assert ID_NUMBER not in caught.value.detail and OTHER_ID_NUMBER not in caught.value.detail


@pytest.mark.parametrize(
    "body",
    [
        "【云章】验证码 012345，5 分钟内有效，请勿告诉他人。",
        "call 13912345678",
        "masked 110105********002X",
        "x" * MAX_SMS_CHARS,
    ],
)
def test_ordinary_sms_passes_unchanged(body: str) -> None:
    assert safe_sms_text(body) == body


@pytest.mark.parametrize("body", ["x" * (MAX_SMS_CHARS + 1), "云" * (MAX_SMS_CHARS + 1)])
def test_over_long_sms_is_refused(body: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        safe_sms_text(body)
    assert caught.value.code == "sms.too_long"


# --- Persons: 实名 before 实人 ----------------------------------------------------------------

def test_verification_levels_are_ranked() -> None:
    levels = [VerificationLevel.NONE, VerificationLevel.IDENTITY, VerificationLevel.LIVENESS]
    assert [level.rank for level in levels] == [0, 1, 2]
    assert sorted(reversed(levels), key=lambda level: level.rank) == levels


def test_liveness_before_identity_is_refused() -> None:
    someone = person()
    with pytest.raises(Conflict) as caught:
        someone.record_liveness(at=T0)
    assert caught.value.code == "person.identity_required"
    assert someone.verification_level is VerificationLevel.NONE
    assert someone.liveness_verified_at is None


def test_identity_then_liveness_reaches_the_top_level() -> None:
    someone = person()
    someone.record_identity(name="张三", id_hmac="a" * 64, id_masked="110105********002X", at=T0)
    assert level(someone) is VerificationLevel.IDENTITY
    someone.record_liveness(at=T0 + timedelta(minutes=1))
    assert level(someone) is VerificationLevel.LIVENESS
    assert someone.liveness_verified_at == T0 + timedelta(minutes=1)
    # Verifying the same identity again does not lower the level.
    someone.record_identity(name="张三", id_hmac="a" * 64, id_masked="110105********002X",
                            at=T0 + timedelta(days=1))
    assert level(someone) is VerificationLevel.LIVENESS


def test_a_verified_identity_is_not_swapped() -> None:
    someone = person()
    someone.record_identity(name="张三", id_hmac="a" * 64, id_masked="110105********002X", at=T0)
    with pytest.raises(Conflict) as caught:
        someone.record_identity(name="李四", id_hmac="b" * 64, id_masked="310115********1234",
                                at=T0)
    assert caught.value.code == "person.identity_mismatch"
    assert (someone.name, someone.id_number_hmac) == ("张三", "a" * 64)


# --- Enterprises: what a registry record would change ----------------------------------------

USCC = Uscc.parse("91310000MA1FL0001" + uscc_check_char("91310000MA1FL0001"))


def enterprise() -> Enterprise:
    rep = ResidentId.parse(ID_NUMBER)
    return Enterprise(uscc=USCC.value, name="上海云章科技有限公司", kind=EnterpriseKind.COMPANY,
                      region=USCC.region, status=EnterpriseStatus.ACTIVE, legal_rep_name="张三",
                      legal_rep_id_hmac="hmac-of-rep", legal_rep_id_masked=rep.masked,
                      created_at=T0, updated_at=T0)


def record(**changes: object) -> RegistryRecord:
    fields: dict[str, object] = dict(uscc=USCC, name="上海云章科技有限公司",
                                     kind=EnterpriseKind.COMPANY, status=EnterpriseStatus.ACTIVE,
                                     legal_rep_name="张三", legal_rep_id=ResidentId.parse(ID_NUMBER))
    fields.update(changes)
    return RegistryRecord(**fields)  # type: ignore[arg-type]


def test_identical_record_has_no_differences() -> None:
    assert enterprise().differences(record(), "hmac-of-rep") == {}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": "上海云章数字科技有限公司"},
         {"name": ("上海云章科技有限公司", "上海云章数字科技有限公司")}),
        ({"status": EnterpriseStatus.REVOKED}, {"status": ("active", "revoked")}),
        ({"kind": EnterpriseKind.SOCIAL_ORGANIZATION},
         {"kind": ("company", "social_organization")}),
        ({"legal_rep_name": "李四", "status": EnterpriseStatus.SUSPENDED},
         {"legal_rep_name": ("张三", "李四"), "status": ("active", "suspended")}),
    ],
)
def test_changed_fields_are_listed_old_and_new(changes: dict[str, object],
                                               expected: dict[str, tuple[str, str]]) -> None:
    assert enterprise().differences(record(**changes), "hmac-of-rep") == expected


def test_new_legal_representative_is_shown_masked_only() -> None:
    new_rep = ResidentId.parse(OTHER_ID_NUMBER)
    changes = enterprise().differences(record(legal_rep_id=new_rep), "hmac-of-new-rep")
    assert changes == {"legal_rep_id": ("110105********002X", new_rep.masked)}
    assert OTHER_ID_NUMBER not in repr(changes) and ID_NUMBER not in repr(changes)
