"""Audit events and their hash chain: each event commits to the one before it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64


class AuditTag(StrEnum):
    """What happened, shaped ``subject:action``."""

    PERSON_REGISTER = "person:register"
    PERSON_LOGIN = "person:login"
    PERSON_LOGOUT = "person:logout"
    PERSON_VERIFY = "person:verify"
    PERSON_LIVENESS = "person:liveness"
    PERSON_REVOKE = "person:revoke"
    SMS_CODE_SEND = "sms_code:send"
    SMS_CODE_FAIL = "sms_code:fail"
    ENTERPRISE_CREATE = "enterprise:create"
    ENTERPRISE_UPDATE = "enterprise:update"
    ENTERPRISE_IMPORT = "enterprise:import"
    ENTERPRISE_SET_STATUS = "enterprise:set_status"
    OUTBOX_DELIVER = "outbox:deliver"
    OUTBOX_GIVE_UP = "outbox:give_up"
    DEMO_SEED = "demo:seed"
    MEMBER_LINK = "member:link"
    MEMBER_UNLINK = "member:unlink"
    ROLE_APPLY = "role:apply"
    ROLE_APPROVE = "role:approve"
    ROLE_REJECT = "role:reject"
    ROLE_GRANT = "role:grant"
    ROLE_REVOKE = "role:revoke"
    ROLE_BIND_LEGAL_REP = "role:bind_legal_rep"
    ROLE_END_LEGAL_REP = "role:end_legal_rep"
    GRANT_CREATE = "grant:create"
    GRANT_REVOKE = "grant:revoke"
    GRANT_END = "grant:end"
    SEAL_GRANT_CREATE = "seal_grant:create"
    SEAL_GRANT_REVOKE = "seal_grant:revoke"
    BUSINESS_ACT = "business:act"
    SEAL_USE = "seal:use"
    ENTERPRISE_VIEW = "enterprise:view"
    PKI_INIT = "pki:init"
    CERTIFICATE_ISSUE = "certificate:issue"
    CERTIFICATE_REVOKE = "certificate:revoke"
    CERTIFICATE_MANAGE = "certificate:manage"
    KEY_ROTATE_KEK = "key:rotate_kek"
    STAFF_GRANT = "staff:grant"
    STAFF_REVOKE = "staff:revoke"
    SEAL_TYPE_ADD = "seal_type:add"
    SEAL_APPLY = "seal:apply"
    SEAL_UPLOAD_MOLD = "seal:upload_mold"
    SEAL_REVIEW = "seal:review"
    SEAL_CLAIM = "seal:claim"
    SEAL_MANAGE = "seal:manage"
    SEAL_SUSPEND = "seal:suspend"
    SEAL_RESUME = "seal:resume"
    SEAL_REVOKE = "seal:revoke"
    SEAL_AUTO_STAMP = "seal:auto_stamp"
    AUTO_STAMP_GRANT_CREATE = "auto_stamp_grant:create"
    AUTO_STAMP_GRANT_REVOKE = "auto_stamp_grant:revoke"
    BUSINESS_SYSTEM_REGISTER = "business_system:register"
    BUSINESS_SYSTEM_UPDATE = "business_system:update"
    BUSINESS_SYSTEM_AUTH_FAIL = "business_system:auth_fail"
    DEVICE_ENROLL = "device:enroll"
    DEVICE_REVOKE = "device:revoke"
    SCAN_CREATE = "scan_session:create"
    SCAN_SCAN = "scan_session:scan"
    SCAN_CONFIRM = "scan_session:confirm"
    SCAN_DENY = "scan_session:deny"
    SCAN_REFUSE = "scan_session:refuse"  # confirmed, but the platform could not do it
    REQUEST_CREATE = "signing_request:create"
    REQUEST_CANCEL = "signing_request:cancel"
    REQUEST_DECLINE = "signing_request:decline"
    REQUEST_COMPLETE = "signing_request:complete"
    DOCUMENT_SIGN = "document:sign"  # a person's own signature, made in the wallet
    HANDWRITING_SET = "handwriting:set"
    BINDING_CREATE = "binding:create"
    BINDING_REMOVE = "binding:remove"
    WEBHOOK_DELIVER = "webhook:deliver"
    WEBHOOK_GIVE_UP = "webhook:give_up"
    WEBHOOK_REDELIVER = "webhook:redeliver"
    TOKEN_KEY_ROTATE = "token_key:rotate"
    LICENSE_DOWNLOAD = "license:download"
    LICENSE_REVOKE = "license:revoke"
    # OpenID Connect (docs/oidc.md)
    OIDC_AUTHORIZE = "oidc:authorize"
    OIDC_LOGIN = "oidc:login"  # the code went back to the business system
    OIDC_DENY = "oidc:deny"
    OIDC_TOKEN = "oidc:token"
    OIDC_CODE_REPLAY = "oidc:code_replay"  # a code used twice: its tokens revoked
    OIDC_REFRESH = "oidc:refresh"
    OIDC_REFRESH_REPLAY = "oidc:refresh_replay"  # a replaced refresh token used: tokens revoked
    OIDC_LOGOUT = "oidc:logout"
    CONSENT_GIVE = "consent:give"
    CONSENT_WITHDRAW = "consent:withdraw"


class Outcome(StrEnum):
    SUCCESS = "success"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True)
class AuditRecord:
    """An event as a use case records it; the unit of work chains it at commit."""

    action: AuditTag
    actor: str
    subject: str
    outcome: Outcome = Outcome.SUCCESS
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class AuditEvent:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    outcome: str
    request_id: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


def _utc_text(at: datetime) -> str:
    # SQLite hands datetimes back without a zone; the chain hashes a zone-free UTC text either way.
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def event_hash(
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    outcome: str,
    request_id: str,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON of the event and its predecessor's hash.

    The sequence number is left out on purpose: an event's place is fixed by ``prev_hash`` alone,
    so a verifier can tell an event moved to another place (reordered) from one whose content
    changed.
    """
    canonical = json.dumps(
        [_utc_text(at), actor, action, subject, outcome, request_id, details, prev_hash],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def hash_of(event: AuditEvent) -> str:
    return event_hash(
        at=event.at,
        actor=event.actor,
        action=event.action,
        subject=event.subject,
        outcome=event.outcome,
        request_id=event.request_id,
        details=event.details,
        prev_hash=event.prev_hash,
    )


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str  # "changed", "removed", "reordered" or "added"
    message: str


def check_chain(
    events: Iterable[AuditEvent], *, head_seq: int, head_hash: str
) -> list[ChainProblem]:
    """Every break in the chain, in order. ``events`` come in sequence order; the head is the
    (seq, hash) of the last event as recorded when it was written, so a cut-off tail shows too."""
    chain = list(events)
    seq_of_hash = {event.hash: event.seq for event in chain}
    problems: list[ChainProblem] = []
    prev_hash, prev_seq = GENESIS_HASH, 0
    for event in chain:
        changed = hash_of(event) != event.hash
        if changed:
            problems.append(
                ChainProblem(event.seq, "changed", f"event {event.seq} was changed after it was written")
            )
        if event.seq != prev_seq + 1:
            missing = (
                f"event {prev_seq + 1} is"
                if event.seq == prev_seq + 2
                else f"events {prev_seq + 1}-{event.seq - 1} are"
            )
            problems.append(ChainProblem(prev_seq + 1, "removed", f"{missing} missing"))
        elif event.prev_hash != prev_hash and not changed:
            follows = seq_of_hash.get(event.prev_hash)
            if follows is not None:
                problems.append(
                    ChainProblem(
                        event.seq,
                        "reordered",
                        f"event {event.seq} was written after event {follows}, "
                        f"not after event {prev_seq}",
                    )
                )
            else:
                problems.append(
                    ChainProblem(
                        prev_seq,
                        "changed",
                        f"event {prev_seq} was replaced or removed: event {event.seq} "
                        "does not follow it",
                    )
                )
        prev_hash, prev_seq = event.hash, event.seq
    if prev_seq < head_seq:
        problems.append(
            ChainProblem(
                prev_seq + 1,
                "removed",
                f"the chain ends at event {prev_seq} but its head records event {head_seq}",
            )
        )
    elif prev_seq > head_seq:
        problems.append(
            ChainProblem(
                head_seq + 1,
                "added",
                f"events {head_seq + 1}-{prev_seq} lie beyond the chain head (event {head_seq}): "
                "written around the audit log or the head was reset",
            )
        )
    elif prev_seq == head_seq and prev_hash != head_hash:
        problems.append(
            ChainProblem(head_seq, "changed", f"event {head_seq} does not match the chain head")
        )
    return problems
