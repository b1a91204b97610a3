"""Tables, and the mapping of the domain's dataclasses onto them (imperative, so the domain stays
free of SQLAlchemy). Alembic migrations must produce exactly this schema (tests check it)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    LargeBinary,
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
from sqlalchemy import text
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
from yunzhang.domain.bindings import Binding, BindingStatus, BindingSubject
from yunzhang.domain.business_systems import BusinessSystem, SystemStatus
from yunzhang.domain.handwriting import SignatureImage
from yunzhang.domain.webhooks import DeliveryStatus, WebhookDelivery
from yunzhang.domain.signing_requests import (
    RequestDocument,
    RequestStatus,
    RequestStep,
    SigningOrder,
    SigningRequest,
    StepKind,
    StepState,
)
from yunzhang.domain.devices import Device, DeviceStatus
from yunzhang.domain.licenses import License, LicenseStatus
from yunzhang.domain.tokens import TokenKey, TokenPurpose
from yunzhang.domain.oidc import Authorization, AuthorizationStatus, Consent
from yunzhang.domain.scan_sessions import ScanAction, ScanSession, ScanState
from yunzhang.domain.grants import AutoStampGrant, Grant, GrantKind, GrantStatus, SealGrant
from yunzhang.domain.stamping import PadesProfile, StampRecord
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.persons import Person, VerificationLevel
from yunzhang.domain.pki import Authority, CaName, Certificate, CertStatus, Profile, RevocationReason
from yunzhang.domain.seal_images import SealColour, SealShape
from yunzhang.domain.seals import ImageSource, ImageStatus, Seal, SealImage, SealStatus, SealType
from yunzhang.domain.staff import StaffMember, StaffRole
from yunzhang.domain.roles import (
    ApplicationStatus,
    EndReason,
    Membership,
    MembershipStatus,
    Role,
    RoleApplication,
)
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
    Column("id_number_hmac", String(64), index=True, unique=True),  # one account per identity
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
    Column("subject", String(64)),
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

ID = BigInteger().with_variant(Integer, "sqlite")

memberships = Table(
    "memberships",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("enterprise_id", Uuid, ForeignKey("enterprises.id"), nullable=False),
    Column("person_id", Uuid, ForeignKey("persons.id"), nullable=False),
    Column("role", EnumText(Role, 16)),
    Column("status", EnumText(MembershipStatus, 16), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("authority", String(200), nullable=False),
    Column("granted_by", Uuid),
    Column("ended_at", UtcDateTime()),
    Column("end_reason", EnumText(EndReason, 16)),
    Column("ended_by", Uuid),
    Index("ix_memberships_person_enterprise", "person_id", "enterprise_id"),
    Index("ix_memberships_enterprise_status", "enterprise_id", "status"),
    # One active membership per person and enterprise, enforced by the database.
    Index("uq_memberships_active", "person_id", "enterprise_id", unique=True,
          sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
)

role_applications = Table(
    "role_applications",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("enterprise_id", Uuid, ForeignKey("enterprises.id"), nullable=False),
    Column("applicant_id", Uuid, ForeignKey("persons.id"), nullable=False),
    Column("role", EnumText(Role, 16), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("confirm_by_legal_rep_sms", Boolean, nullable=False),
    Column("status", EnumText(ApplicationStatus, 16), nullable=False),
    Column("decided_by", Uuid),
    Column("decided_at", UtcDateTime()),
    Column("decision_note", String(500)),
    Index("ix_role_applications_enterprise_status", "enterprise_id", "status"),
    Index("ix_role_applications_applicant", "applicant_id"),
)


def _grant_columns(grantee: str = "persons.id") -> list[Column[object]]:
    return [
        Column("id", ID, primary_key=True, autoincrement=True),
        Column("enterprise_id", Uuid, ForeignKey("enterprises.id"), nullable=False),
        Column("grantee_id", Uuid, ForeignKey(grantee), nullable=False),
        Column("starts_at", UtcDateTime(), nullable=False),
        Column("ends_at", UtcDateTime(), nullable=False),
        Column("granted_by", Uuid, nullable=False),
        Column("authority", String(200), nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("status", EnumText(GrantStatus, 16), nullable=False),
        Column("revoked_at", UtcDateTime()),
        Column("revoked_by", Uuid),
        Column("revoke_reason", String(500)),
    ]


grants = Table(
    "grants",
    metadata,
    *_grant_columns(),
    Column("kind", EnumText(GrantKind, 16), nullable=False),
    Column("scopes", JSON, nullable=False),
    Index("ix_grants_grantee_enterprise", "grantee_id", "enterprise_id"),
    Index("ix_grants_enterprise", "enterprise_id"),
)

seal_grants = Table(
    "seal_grants",
    metadata,
    *_grant_columns(),
    Column("seal_id", String(64), nullable=False),
    Column("business_system", String(64), nullable=False),
    Index("ix_seal_grants_grantee_seal", "grantee_id", "enterprise_id", "seal_id", "business_system"),
    Index("ix_seal_grants_enterprise", "enterprise_id"),
)

certificates = Table(
    "certificates",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("serial", String(42), nullable=False),
    Column("issuer", EnumText(CaName, 16), nullable=False),
    Column("profile", EnumText(Profile, 16), nullable=False),
    Column("subject", String(600), nullable=False),
    Column("subject_ref", String(80), nullable=False),
    Column("algorithm", EnumText(KeyAlgorithm, 16), nullable=False),
    Column("not_before", UtcDateTime(), nullable=False),
    Column("not_after", UtcDateTime(), nullable=False),
    Column("der", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("key_id", String(64)),
    Column("status", EnumText(CertStatus, 16), nullable=False),
    Column("revoked_at", UtcDateTime()),
    Column("revocation_reason", EnumText(RevocationReason, 32)),
    Index("ix_certificates_issuer_serial", "issuer", "serial", unique=True),
    Index("ix_certificates_subject_ref", "subject_ref"),
)

authorities = Table(
    "authorities",
    metadata,
    Column("name", EnumText(CaName, 16), primary_key=True),
    Column("certificate_id", Uuid, ForeignKey("certificates.id"), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("algorithm", EnumText(KeyAlgorithm, 16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("crl_number", BigInteger, nullable=False),
    Column("crl_der", LargeBinary),
    Column("crl_next_update", UtcDateTime()),
)

staff_roles = Table(
    "staff_roles",
    metadata,
    Column("person_id", Uuid, ForeignKey("persons.id"), primary_key=True),
    Column("role", EnumText(StaffRole, 32), primary_key=True),
    Column("granted_at", UtcDateTime(), nullable=False),
    Column("granted_by", String(80), nullable=False),
)

seal_types = Table(
    "seal_types",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("shape", EnumText(SealShape, 16), nullable=False),
    Column("kinds", JSON, nullable=False),
    Column("filing_required", Boolean, nullable=False),
    Column("builtin", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

seals = Table(
    "seals",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("enterprise_id", Uuid, ForeignKey("enterprises.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("type_code", String(32), ForeignKey("seal_types.code"), nullable=False),
    Column("applied_by", Uuid, nullable=False),
    Column("applied_at", UtcDateTime(), nullable=False),
    Column("filing_number", String(32)),
    Column("seal_code", String(13)),
    Column("status", EnumText(SealStatus, 16), nullable=False),
    Column("reviewed_by", Uuid),
    Column("reviewed_at", UtcDateTime()),
    Column("claimed_by", Uuid),
    Column("claimed_at", UtcDateTime()),
    Column("key_id", String(64)),
    Column("certificate_id", Uuid, ForeignKey("certificates.id")),
    Column("status_reason", String(500)),
    Column("updated_at", UtcDateTime()),
    Index("ix_seals_enterprise_id", "enterprise_id"),
    Index("ix_seals_status", "status"),
)

seal_images = Table(
    "seal_images",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("seal_id", Uuid, ForeignKey("seals.id"), nullable=False),
    Column("source", EnumText(ImageSource, 16), nullable=False),
    Column("png", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("shape", EnumText(SealShape, 16), nullable=False),
    Column("width_mm", Float, nullable=False),
    Column("height_mm", Float, nullable=False),
    Column("colour", EnumText(SealColour, 16), nullable=False),
    Column("width_px", Integer, nullable=False),
    Column("height_px", Integer, nullable=False),
    Column("dpi", Integer, nullable=False),
    Column("uploaded_by", Uuid, nullable=False),
    Column("uploaded_at", UtcDateTime(), nullable=False),
    Column("status", EnumText(ImageStatus, 16), nullable=False),
    Column("reviewed_by", Uuid),
    Column("reviewed_at", UtcDateTime()),
    Column("review_note", String(500)),
    Index("ix_seal_images_seal_id", "seal_id"),
)

business_systems = Table(
    "business_systems",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("redirect_uris", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("status", EnumText(SystemStatus, 16), nullable=False),
    Column("webhook_url", String(500)),
    Column("webhook_secret", String(200)),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("business_system", String(64), nullable=False),
    Column("event", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("status", EnumText(DeliveryStatus, 16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(300)),
    Column("delivered_at", UtcDateTime()),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_system", "business_system", "created_at"),
)

auto_stamp_grants = Table(
    "auto_stamp_grants",
    metadata,
    *_grant_columns("business_systems.id"),
    Column("seal_id", String(64), nullable=False),
    Column("business_system", String(64), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("max_count", Integer),
    Column("used_count", Integer, nullable=False),
    Index("ix_auto_stamp_grants_grantee_seal", "grantee_id", "enterprise_id", "seal_id"),
    Index("ix_auto_stamp_grants_enterprise", "enterprise_id"),
)

stamps = Table(
    "stamps",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("seal_id", Uuid, ForeignKey("seals.id"), nullable=False),
    Column("enterprise_id", Uuid, ForeignKey("enterprises.id"), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("business_system", String(64), nullable=False),
    Column("document_name", String(200), nullable=False),
    Column("sha256_in", String(64), nullable=False),
    Column("sha256_out", String(64), nullable=False),
    Column("profile", EnumText(PadesProfile, 8), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("auto_stamp_grant_id", ID, ForeignKey("auto_stamp_grants.id")),
    Column("idempotency_key", String(100)),
    Index("ix_stamps_system_key", "business_system", "idempotency_key", unique=True),
    Index("ix_stamps_seal_id", "seal_id"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("person_id", Uuid, ForeignKey("persons.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("status", EnumText(DeviceStatus, 16), nullable=False),
    Column("revoked_at", UtcDateTime()),
    Index("ix_devices_person_id", "person_id"),
)

scan_sessions = Table(
    "scan_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("business_system", String(64), nullable=False),
    Column("action", EnumText(ScanAction, 16), nullable=False),
    Column("documents", JSON, nullable=False),
    Column("scope", String(200)),
    Column("nonce", String(64), nullable=False),
    Column("binding_code", String(8)),
    Column("poll_hash", String(64), nullable=False),
    Column("requester_ip", String(64)),
    Column("requester_agent", String(300)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("state", EnumText(ScanState, 16), nullable=False),
    Column("device_id", Uuid, ForeignKey("devices.id")),
    Column("person_id", Uuid),
    Column("scanned_at", UtcDateTime()),
    Column("decided_at", UtcDateTime()),
    Column("subject", String(400)),
    Column("request_step_id", Uuid),
    Column("binding_id", Uuid),
    Column("outcome", String(500)),
    Column("license_id", Uuid),
    Index("ix_scan_sessions_expires_at", "expires_at"),
)

token_keys = Table(
    "token_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("purpose", EnumText(TokenPurpose, 16), nullable=False),
    Column("key_id", String(200), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("retired_at", UtcDateTime()),
    Column("published_until", UtcDateTime()),
    Index("ix_token_keys_purpose", "purpose", "created_at"),
)

licenses = Table(
    "licenses",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("person_id", Uuid, ForeignKey("persons.id"), nullable=False),
    Column("enterprise_id", Uuid, ForeignKey("enterprises.id"), nullable=False),
    Column("membership_id", ID, ForeignKey("memberships.id"), nullable=False),
    Column("role", EnumText(Role, 16), nullable=False),
    Column("device_id", Uuid, ForeignKey("devices.id"), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("not_before", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("status", EnumText(LicenseStatus, 16), nullable=False),
    Column("ended_at", UtcDateTime()),
    Index("ix_licenses_person", "person_id", "enterprise_id"),
    Index("ix_licenses_device", "device_id"),
)

signing_requests = Table(
    "signing_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("business_system", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("order", EnumText(SigningOrder, 16), nullable=False),
    Column("scope", String(200)),
    Column("reference", String(100)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("status", EnumText(RequestStatus, 16), nullable=False),
    Column("completed_at", UtcDateTime()),
    Index("ix_signing_requests_system", "business_system", "created_at"),
)

request_steps = Table(
    "request_steps",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("request_id", Uuid, ForeignKey("signing_requests.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", EnumText(StepKind, 8), nullable=False),
    Column("label", String(200), nullable=False),
    Column("placement", JSON, nullable=False),
    Column("seal_id", Uuid, ForeignKey("seals.id")),
    Column("person_id", Uuid, ForeignKey("persons.id")),
    Column("state", EnumText(StepState, 16), nullable=False),
    Column("done_by", Uuid),
    Column("done_at", UtcDateTime()),
    Index("ix_request_steps_request", "request_id", "position", unique=True),
)

request_documents = Table(
    "request_documents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("request_id", Uuid, ForeignKey("signing_requests.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("sha256_original", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Index("ix_request_documents_request", "request_id", "position", unique=True),
)

prepared_signatures = Table(
    "prepared_signatures",
    metadata,
    Column("session_id", String(64), ForeignKey("scan_sessions.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("prepared", LargeBinary, nullable=False),
    Column("to_sign", LargeBinary, nullable=False),
    Column("document_digest", LargeBinary, nullable=False),
    Column("reserved_start", Integer, nullable=False),
    Column("reserved_end", Integer, nullable=False),
    Column("certificate", LargeBinary, nullable=False),
    Column("chain", JSON, nullable=False),  # base64 DER, leaf's issuer first
)

signature_images = Table(
    "signature_images",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("person_id", Uuid, ForeignKey("persons.id"), nullable=False),
    Column("certificate_serial", String(64), nullable=False),
    Column("png", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("proof", LargeBinary, nullable=False),
    Column("width_mm", Float, nullable=False),
    Column("height_mm", Float, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_signature_images_person", "person_id", "created_at"),
)

bindings = Table(
    "bindings",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("business_system", String(64), nullable=False),
    Column("account", String(100), nullable=False),
    Column("enterprise_id", Uuid, ForeignKey("enterprises.id"), nullable=False),
    Column("subject", EnumText(BindingSubject, 16), nullable=False),
    Column("seal_id", Uuid, ForeignKey("seals.id")),
    Column("scope", String(200)),
    Column("status", EnumText(BindingStatus, 16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("bound_by", Uuid),
    Column("bound_at", UtcDateTime()),
    Column("removed_by", Uuid),
    Column("removed_at", UtcDateTime()),
    Index("ix_bindings_system_account", "business_system", "account"),
)

# OpenID Connect (migration 0011): one row per login from the QR code to its tokens; consents.
oidc_authorizations = Table(
    "oidc_authorizations",
    metadata,
    Column("id", String(64), primary_key=True),  # the scan session's id
    Column("client_id", String(64), nullable=False),
    Column("redirect_uri", String(500), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("code_challenge", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("state", String(512)),
    Column("nonce", String(255)),
    Column("force_consent", Boolean, nullable=False),
    Column("status", EnumText(AuthorizationStatus, 16), nullable=False),
    Column("person_id", Uuid),
    Column("license_id", Uuid),
    Column("enterprise_id", Uuid),
    Column("uscc", String(18)),
    Column("enterprise_name", String(200)),
    Column("role", EnumText(Role, 16)),
    Column("auth_time", UtcDateTime()),
    Column("code_hash", String(64)),
    Column("code_expires_at", UtcDateTime()),
    Column("access_hash", String(64)),
    Column("access_expires_at", UtcDateTime()),
    Column("refresh_hash", String(64)),
    Column("previous_refresh_hash", String(64)),
    Column("refresh_expires_at", UtcDateTime()),
    Column("redeemed_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
    Index("ix_oidc_authorizations_code_hash", "code_hash", unique=True),
    Index("ix_oidc_authorizations_access_hash", "access_hash", unique=True),
    Index("ix_oidc_authorizations_refresh_hash", "refresh_hash", unique=True),
    Index("ix_oidc_authorizations_previous_refresh_hash", "previous_refresh_hash"),
    Index("ix_oidc_authorizations_person", "person_id", "client_id"),
)

oidc_consents = Table(
    "oidc_consents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("person_id", Uuid, ForeignKey("persons.id"), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("enterprise_id", Uuid),
    Column("scopes", JSON, nullable=False),
    Column("granted_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("withdrawn_at", UtcDateTime()),
    Index("ix_oidc_consents_person", "person_id", "client_id"),
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
    mapper_registry.map_imperatively(Membership, memberships)
    mapper_registry.map_imperatively(RoleApplication, role_applications)
    mapper_registry.map_imperatively(Grant, grants)
    mapper_registry.map_imperatively(SealGrant, seal_grants)
    mapper_registry.map_imperatively(Certificate, certificates)
    mapper_registry.map_imperatively(Authority, authorities)
    mapper_registry.map_imperatively(StaffMember, staff_roles)
    mapper_registry.map_imperatively(SealType, seal_types)
    mapper_registry.map_imperatively(Seal, seals)
    mapper_registry.map_imperatively(SealImage, seal_images)
    mapper_registry.map_imperatively(BusinessSystem, business_systems)
    mapper_registry.map_imperatively(AutoStampGrant, auto_stamp_grants)
    mapper_registry.map_imperatively(StampRecord, stamps)
    mapper_registry.map_imperatively(Device, devices)
    mapper_registry.map_imperatively(ScanSession, scan_sessions)
    mapper_registry.map_imperatively(TokenKey, token_keys)
    mapper_registry.map_imperatively(License, licenses)
    mapper_registry.map_imperatively(SigningRequest, signing_requests)
    mapper_registry.map_imperatively(RequestStep, request_steps)
    mapper_registry.map_imperatively(RequestDocument, request_documents)
    mapper_registry.map_imperatively(SignatureImage, signature_images)
    mapper_registry.map_imperatively(Binding, bindings)
    mapper_registry.map_imperatively(WebhookDelivery, webhook_deliveries)
    mapper_registry.map_imperatively(Authorization, oidc_authorizations)
    mapper_registry.map_imperatively(Consent, oidc_consents)
    _mapped = True
