"""Tables, and the mapping of the domain's dataclasses onto them (imperative, so the domain stays
free of SQLAlchemy). Alembic migrations must produce exactly this schema (tests check it)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.orm import registry

from yunzhang.domain.audit import AuditEvent
from yunzhang.domain.enterprises import Enterprise, EnterpriseKind, EnterpriseStatus
from yunzhang.domain.notifications import (
    CodePurpose,
    CodeState,
    OutboxMessage,
    OutboxStatus,
    SmsCode,
)
from yunzhang.domain.persons import Person, VerificationLevel
from yunzhang.domain.sessions import WebSession
from yunzhang.adapters.db.types import EnumText, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

persons = Table(
    "persons",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("phone", String(20), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("name", String(100)),
    Column("id_number_hmac", String(64), index=True),
    Column("id_number_masked", String(20)),
    Column("verification_level", EnumText(VerificationLevel), nullable=False),
    Column("identity_verified_at", UtcDateTime()),
    Column("liveness_verified_at", UtcDateTime()),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

enterprises = Table(
    "enterprises",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("uscc", String(18), nullable=False, unique=True),
    Column("name", String(200), nullable=False, index=True),
    Column("kind", EnumText(EnterpriseKind), nullable=False),
    Column("region", String(6), nullable=False, index=True),
    Column("status", EnumText(EnterpriseStatus), nullable=False),
    Column("legal_rep_name", String(100), nullable=False),
    Column("legal_rep_id_hmac", String(64), nullable=False, index=True),
    Column("legal_rep_id_masked", String(20), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

sms_codes = Table(
    "sms_codes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("phone", String(20), nullable=False),
    Column("purpose", EnumText(CodePurpose), nullable=False),
    Column("code_hmac", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("state", EnumText(CodeState, 8), nullable=False),
    Index("ix_sms_codes_phone_purpose_created", "phone", "purpose", "created_at"),
)

outbox_messages = Table(
    "outbox_messages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(64), nullable=False, index=True),
    Column("body", Text, nullable=False),
    Column("status", EnumText(OutboxStatus, 16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_error", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    Column("provider_id", String(128)),
    Index("ix_outbox_messages_status_next", "status", "next_attempt_at"),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("person_id", Uuid, ForeignKey("persons.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("csrf_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("ip", String(64)),
    Column("user_agent", String(300)),
    Column("revoked_at", UtcDateTime()),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(64), nullable=False, index=True),
    Column("subject", String(200), nullable=False, index=True),
    Column("outcome", String(16), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("details", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row: the last event's sequence number and hash. Appending locks it (SELECT ... FOR UPDATE),
# which keeps the chain linear under concurrent writers and lets `audit verify` see a cut-off tail.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("hash", String(64), nullable=False),
)

mapper_registry = registry(metadata=metadata)
_mapped = False


def map_domain() -> None:
    """Map the domain dataclasses onto the tables, once per process."""
    global _mapped
    if _mapped:
        return
    mapper_registry.map_imperatively(Person, persons)
    mapper_registry.map_imperatively(Enterprise, enterprises)
    mapper_registry.map_imperatively(SmsCode, sms_codes)
    mapper_registry.map_imperatively(OutboxMessage, outbox_messages)
    mapper_registry.map_imperatively(WebSession, web_sessions)
    mapper_registry.map_imperatively(AuditEvent, audit_events)
    _mapped = True
