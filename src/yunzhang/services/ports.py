"""The seams of the services: every side effect and every store sits behind one of these Protocols.

Real implementations live in ``yunzhang.adapters``; ``yunzhang.bootstrap`` picks them from the
settings; tests check each implementation against its Protocol.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, BinaryIO, Protocol, Self, runtime_checkable

from yunzhang.domain.audit import AuditEvent, AuditRecord
from yunzhang.domain.enterprises import Enterprise
from yunzhang.domain.notifications import CodePurpose, OutboxMessage, SmsCode
from yunzhang.domain.business_systems import BusinessSystem
from yunzhang.domain.devices import Device
from yunzhang.domain.licenses import License
from yunzhang.domain.tokens import TokenKey, TokenPurpose
from yunzhang.domain.handwriting import HandwritingData, SignatureImage
from yunzhang.domain.webhooks import WebhookDelivery
from yunzhang.domain.bindings import Binding
from yunzhang.domain.signing_requests import RequestDocument, RequestStep, SigningRequest
from yunzhang.domain.scan_sessions import ScanSession
from yunzhang.domain.oidc import Authorization, Consent
from yunzhang.domain.grants import AutoStampGrant, Grant, SealGrant
from yunzhang.domain.keys import KeyAlgorithm, KeyRef
from yunzhang.domain.pki import (
    Authority,
    CaName,
    Certificate,
    CertificateRequest,
    CrlRequest,
    CsrInfo,
    SerialStatus,
)
from yunzhang.domain.seals import Seal, SealImage, SealType
from yunzhang.domain.stamping import PadesProfile, Placement, PreparedSignature, StampRecord
from yunzhang.domain.timestamps import TimestampRefused, TimestampRequest
from yunzhang.domain.verification import SignatureFacts
from yunzhang.domain.staff import StaffMember, StaffRole
from yunzhang.domain.seal_images import MoldProcessing, SealImageData, TemplateSpec
from yunzhang.domain.persons import Person
from yunzhang.domain.roles import Membership, Role, RoleApplication
from yunzhang.domain.sessions import WebSession


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


@dataclass(frozen=True)
class SmsReceipt:
    provider_id: str | None


@runtime_checkable
class SmsSender(Protocol):
    def send(self, phone: str, body: str) -> SmsReceipt:
        """Hand one message to the gateway; raise ExternalServiceError when it is refused."""
        ...


@dataclass(frozen=True)
class VerifierAnswer:
    matched: bool
    reason: str  # shown to the person when not matched; never echoes the ID number
    provider_ref: str | None = None


@runtime_checkable
class IdentityVerifier(Protocol):
    def verify(self, *, name: str, id_number: str, phone: str) -> VerifierAnswer:
        """实名认证: do name, resident ID number and phone belong to one real person?"""
        ...


@runtime_checkable
class LivenessChecker(Protocol):
    def check(self, *, name: str, id_number: str, face_image: bytes) -> VerifierAnswer:
        """实人认证: is the face a live capture of the person with this identity?"""
        ...


@runtime_checkable
class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool:
        """Constant-time check; False for a wrong password, never an exception."""
        ...

    def needs_rehash(self, password_hash: str) -> bool: ...


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after: int  # seconds until the next hit would be allowed; 0 when allowed


@runtime_checkable
class RateLimiter(Protocol):
    def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        """Count one hit for ``key`` in a fixed window; refuse once ``limit`` is passed."""
        ...


@runtime_checkable
@runtime_checkable
class DeviceKeys(Protocol):
    """Public keys of wallet devices and their signatures (ECDSA P-256 with SHA-256)."""

    def public_key(self, der: bytes) -> bytes:
        """The key as DER SubjectPublicKeyInfo; InvalidInput ``device.public_key`` unless it is
        an EC P-256 public key."""
        ...

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (DER ECDSA) is the key's signature of ``message``."""
        ...


@runtime_checkable
class JoseCodec(Protocol):
    """JSON Web Signatures (RFC 7515 compact, ES256 per RFC 7518 §3.4) and keys (RFC 7517),
    with the private half in the KeyStore: the codec only ever sees a signing function."""

    def jwk(self, public_key: bytes) -> dict[str, str]:
        """The public JWK of a DER SubjectPublicKeyInfo, with ``kid`` (its RFC 7638
        thumbprint), ``use`` and ``alg``."""
        ...

    def encode(self, header: dict[str, object], claims: dict[str, object],
               sign: Callable[[bytes], bytes]) -> str:
        """The compact JWS; ``sign`` returns the DER ECDSA signature of SHA-256(input)."""
        ...

    def decode(self, token: str, public_keys: dict[str, bytes]) -> tuple[dict[str, Any],
                                                                        dict[str, Any]]:
        """Header and claims once the signature checks out with the key its ``kid`` names
        (``public_keys``: kid -> DER); InvalidInput ``token.malformed`` or PermissionDenied
        ``token.signature`` otherwise. Claims such as ``exp`` are the caller's to judge."""
        ...


class Keyring(Protocol):
    """Keyed hashes and random tokens, so secrets never sit in the database in clear."""

    def pii_hash(self, value: str) -> str: ...

    def secret_hash(self, purpose: str, value: str) -> str: ...

    def same(self, a: str, b: str) -> bool:
        """Constant-time comparison."""
        ...

    def token(self) -> str: ...

    def numeric_code(self, digits: int) -> str: ...

    def seal(self, purpose: str, plaintext: bytes) -> str:
        """Encrypt a secret the server must read back (a webhook signing secret), bound to
        ``purpose``; text safe to store."""
        ...

    def unseal(self, purpose: str, sealed: str) -> bytes:
        """ConfigurationError (``keyring.unseal``) if it was sealed under another key or
        purpose, or altered."""
        ...


@runtime_checkable
class WebhookSender(Protocol):
    """POSTs a webhook (httpx). Returns the HTTP status; ExternalServiceError when no answer
    came (refused connection, timeout). Redirects are not followed."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...


@runtime_checkable
class KeyStore(Protocol):
    """Custody of private keys: they are made inside the store and never leave it.

    Implementations: ``adapters.keystore.software`` (each key encrypted at rest under its own data
    key, wrapped by a key-encryption key) and ``adapters.keystore.pkcs11`` (an HSM, SoftHSM2 in
    tests). Errors: NotFound (code ``key.not_found``) for an unknown or destroyed key,
    ExternalServiceError for a store that fails."""

    name: str  # "software", "pkcs11"

    def generate(self, algorithm: KeyAlgorithm, *, label: str) -> KeyRef:
        """Make a new key pair; ``label`` says what it is for (kept with the key, not secret)."""
        ...

    def sign(self, key_id: str, data: bytes) -> bytes:
        """Sign SHA-256(``data``): ECDSA as a DER ``Ecdsa-Sig-Value`` (RFC 3279 §2.2.3), RSA as
        PKCS #1 v1.5 (RFC 8017 §8.2)."""
        ...

    def public_key(self, key_id: str) -> bytes:
        """DER SubjectPublicKeyInfo."""
        ...

    def destroy(self, key_id: str) -> None:
        """Erase the private key; signing with it fails from then on. Idempotent."""
        ...


@runtime_checkable
class CertificateFactory(Protocol):
    """X.509 encoding (RFC 5280, RFC 6960, RFC 2986), signing through the KeyStore."""

    def issue(self, request: CertificateRequest) -> bytes:
        """The DER certificate."""
        ...

    def crl(self, request: CrlRequest) -> bytes:
        """The DER CRL (v2, with CRL number and authority key identifier)."""
        ...

    def read_csr(self, data: bytes) -> CsrInfo:
        """Parse a PKCS #10 request (PEM or DER) and check its signature; InvalidInput
        (``certificate.csr``) when it is malformed, badly signed or of a refused key type."""
        ...

    def public_key(self, certificate: bytes) -> bytes:
        """The DER SubjectPublicKeyInfo of an issued certificate (DER)."""
        ...

    def ocsp_serials(self, request: bytes) -> list[int]:
        """The serials asked about in a DER OCSPRequest; InvalidInput when malformed."""
        ...

    def ocsp_response(self, request: bytes, *, issuer_certificate: bytes, issuer_key_id: str,
                      issuer_algorithm: KeyAlgorithm, statuses: dict[int, SerialStatus],
                      at: datetime, next_update: datetime) -> bytes:
        """A DER OCSPResponse (RFC 6960 §4.2) signed by the issuing CA itself, answering each
        request entry from ``statuses`` (serials missing there are "unknown"); requests for
        another issuer are answered "unknown"; a nonce in the request is echoed."""
        ...

    def malformed_ocsp_response(self) -> bytes:
        """The unsigned "malformedRequest" answer (RFC 6960 §2.3)."""
        ...


@runtime_checkable
class TimestampEncoder(Protocol):
    """RFC 3161 encoding: requests read, tokens built and signed through the KeyStore."""

    def read_request(self, data: bytes) -> TimestampRequest:
        """TimestampRefused (``tsa.rejected``, with the RFC 3161 failure) for what is refused."""
        ...

    def reply(self, request: TimestampRequest, *, policy: str, serial: int, at: datetime,
              certificate: bytes, chain: list[bytes], key_id: str,
              algorithm: KeyAlgorithm) -> bytes:
        """A granted TimeStampResp whose token the TSA key signs."""
        ...

    def rejection(self, refused: TimestampRefused) -> bytes:
        """A TimeStampResp with status rejection, the failure bit and the reason."""
        ...


@runtime_checkable
class PdfStamper(Protocol):
    """PAdES signing of PDF documents (pyHanko): with a key in the KeyStore, or with a key held
    elsewhere in two steps (prepare, then finish with the signature made there)."""

    def stamp_stream(self, source: BinaryIO, output: BinaryIO, *, key_id: str,
                     algorithm: KeyAlgorithm, certificate: bytes, chain: list[bytes],
                     image_png: bytes, size_mm: tuple[float, float], placement: Placement,
                     profile: PadesProfile, field_name: str, crls: Sequence[bytes] = ()) -> None:
        """Write to ``output`` the document of ``source`` (both seekable files) with one more
        signature (earlier ones stay valid: an incremental update) showing ``image_png`` at
        ``placement``; ``chain`` ends with the root; ``crls`` are embedded for B-LT.
        InvalidInput (``pdf.*``, ``stamp.*``) for a document that cannot be signed as asked."""
        ...

    def prepare_external(self, document: bytes, *, certificate: bytes, chain: list[bytes],
                         image_png: bytes, size_mm: tuple[float, float], placement: Placement,
                         field_name: str) -> PreparedSignature: ...

    def finish_external(self, pending: PreparedSignature, signature: bytes, *,
                        timestamped: bool) -> bytes:
        """SigningError ``signing.bad_signature`` when ``signature`` is not the certificate
        key's signature of ``pending.to_sign``."""
        ...


@runtime_checkable
class PdfVerifier(Protocol):
    """Reads and checks every signature of a PDF (pyHanko validation and difference analysis)."""

    def signatures(self, document: bytes, *, trust_roots: list[bytes],
                   at: datetime) -> list[SignatureFacts]:
        """InvalidInput (``pdf.*``) for a document that cannot be read."""
        ...


@runtime_checkable
class SealArtist(Protocol):
    """Draws seal images (Pillow): generated templates and processed photographs of molds."""

    def render(self, spec: TemplateSpec) -> SealImageData:
        """ConfigurationError (``image.font``) when the CJK font lacks a glyph of the text."""
        ...

    def process(self, photo: bytes, processing: MoldProcessing) -> SealImageData:
        """InvalidInput (``image.*``) for anything that is not a sound PNG/JPEG photo within the
        limits; PayloadTooLarge (``image.too_large``) beyond them."""
        ...

    def handwriting(self, picture: bytes) -> HandwritingData:
        """A handwritten signature (PNG/JPEG) as black ink on transparent, fitted to its box;
        errors as for ``process``."""
        ...


class PersonRepository(Protocol):
    def add(self, person: Person) -> None: ...

    def get(self, person_id: uuid.UUID) -> Person | None: ...

    def by_phone(self, phone: str) -> Person | None: ...

    def by_id_hmac(self, id_hmac: str) -> Person | None: ...


class EnterpriseRepository(Protocol):
    def add(self, enterprise: Enterprise) -> None: ...

    def get(self, enterprise_id: uuid.UUID, *, lock: bool = False) -> Enterprise | None:
        """With ``lock``, hold the row until commit (serializes role changes per enterprise)."""
        ...

    def by_legal_rep(self, id_hmac: str) -> list[Enterprise]: ...

    def by_uscc(self, uscc: str) -> Enterprise | None: ...

    def many_by_uscc(self, usccs: Sequence[str]) -> dict[str, Enterprise]: ...

    def search(self, query: str | None, *, limit: int, offset: int) -> list[Enterprise]: ...


class SmsCodeRepository(Protocol):
    def add(self, code: SmsCode) -> None: ...

    def latest(self, phone: str, purpose: CodePurpose, subject: str | None = None) -> SmsCode | None: ...


class MembershipRepository(Protocol):
    def add(self, membership: Membership) -> None: ...

    def active(self, person_id: uuid.UUID, enterprise_id: uuid.UUID) -> Membership | None: ...

    def of_person(self, person_id: uuid.UUID) -> list[Membership]:
        """The person's active memberships."""
        ...

    def of_enterprise(self, enterprise_id: uuid.UUID) -> list[Membership]:
        """The enterprise's active memberships."""
        ...

    def count_role(self, enterprise_id: uuid.UUID, role: Role) -> int: ...

    def active_with_grants(self, person_id: uuid.UUID, enterprise_id: uuid.UUID, *, scope: str,
                           ending_after: datetime) -> tuple[Membership | None, list[Grant]]:
        """The facts of a business:act decision in ``scope``, read together: the active
        membership (None when there is none) and the person's business grants there of any
        status whose window ends after ``ending_after``, in id order (none without a membership).
        Grants that cannot cover ``scope`` may be left out; every grant that covers it is there.
        Copies, for reading: change grants through ``GrantRepository``."""
        ...

    def active_with_seal_grants(self, person_id: uuid.UUID, enterprise_id: uuid.UUID,
                                seal_id: str, business_system: str, *,
                                ending_after: datetime) -> tuple[Membership | None, list[SealGrant]]:
        """The same for a seal:use decision: the active membership and the person's grants for
        this seal in this business system ending after ``ending_after``, in id order."""
        ...


class ApplicationRepository(Protocol):
    def add(self, application: RoleApplication) -> None: ...

    def get(self, application_id: int) -> RoleApplication | None: ...

    def pending(self, enterprise_id: uuid.UUID) -> list[RoleApplication]: ...

    def pending_of(self, applicant_id: uuid.UUID, enterprise_id: uuid.UUID) -> list[RoleApplication]: ...


class GrantRepository(Protocol):
    def add(self, grant: Grant) -> None: ...

    def get(self, grant_id: int) -> Grant | None: ...

    def of_grantee(self, grantee_id: uuid.UUID, enterprise_id: uuid.UUID, *,
                   ending_after: datetime) -> list[Grant]:
        """Grants of any status whose window ends after ``ending_after``, for decisions."""
        ...

    def of_enterprise(self, enterprise_id: uuid.UUID) -> list[Grant]: ...


class SealGrantRepository(Protocol):
    def add(self, grant: SealGrant) -> None: ...

    def get(self, grant_id: int) -> SealGrant | None: ...

    def for_use(self, grantee_id: uuid.UUID, enterprise_id: uuid.UUID, seal_id: str,
                business_system: str, *, ending_after: datetime) -> list[SealGrant]: ...

    def of_grantee(self, grantee_id: uuid.UUID, enterprise_id: uuid.UUID, *,
                   ending_after: datetime) -> list[SealGrant]: ...

    def of_enterprise(self, enterprise_id: uuid.UUID) -> list[SealGrant]: ...


class BusinessSystemRepository(Protocol):
    def add(self, system: BusinessSystem) -> None: ...

    def by_client_id(self, client_id: str, *, lock: bool = False) -> BusinessSystem | None: ...

    def get(self, system_id: uuid.UUID) -> BusinessSystem | None: ...

    def all(self) -> list[BusinessSystem]: ...


class AutoStampGrantRepository(Protocol):
    def add(self, grant: AutoStampGrant) -> None: ...

    def get(self, grant_id: int) -> AutoStampGrant | None: ...

    def for_use(self, system_id: uuid.UUID, enterprise_id: uuid.UUID, seal_id: str, *,
                ending_after: datetime) -> list[AutoStampGrant]:
        """The system's grants of any status on this seal ending after ``ending_after``."""
        ...

    def use_one(self, grant_id: int) -> bool:
        """Count one stamp against the grant, atomically: False (nothing counted) when the grant
        is no longer active or its maximum is reached, even under concurrent stamps."""
        ...

    def of_enterprise(self, enterprise_id: uuid.UUID) -> list[AutoStampGrant]: ...


class DeviceRepository(Protocol):
    def add(self, device: Device) -> None: ...

    def get(self, device_id: uuid.UUID) -> Device | None: ...

    def with_owner(self, device_id: uuid.UUID) -> tuple[Device, Person] | None:
        """The device and the person it belongs to, read at once (each wallet answer)."""
        ...

    def of_person(self, person_id: uuid.UUID) -> list[Device]: ...


class ScanSessionRepository(Protocol):
    def add(self, session: ScanSession) -> None: ...

    def get(self, session_id: str, *, lock: bool = False) -> ScanSession | None: ...


class SigningRequestRepository(Protocol):
    def add(self, request: SigningRequest, steps: list[RequestStep],
            documents: list[RequestDocument]) -> None: ...

    def get(self, request_id: uuid.UUID, *, lock: bool = False) -> SigningRequest | None: ...

    def steps(self, request_id: uuid.UUID) -> list[RequestStep]:
        """In order of position."""
        ...

    def step(self, step_id: uuid.UUID) -> RequestStep | None: ...

    def documents(self, request_id: uuid.UUID) -> list[RequestDocument]:
        """In order of position, with their current content."""
        ...

    def keep_prepared(self, session_id: str, prepared: list[PreparedSignature]) -> None:
        """Documents made ready for a wallet's signature between its scan and its confirmation."""
        ...

    def prepared(self, session_id: str) -> list[PreparedSignature]: ...


class WebhookRepository(Protocol):
    def add(self, delivery: WebhookDelivery) -> None: ...

    def get(self, delivery_id: uuid.UUID) -> WebhookDelivery | None: ...

    def due(self, now: datetime, *, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries whose time has come, locked (skipped by other deliverers)."""
        ...

    def recent(self, business_system: str, *, limit: int) -> list[WebhookDelivery]: ...


class SignatureImageRepository(Protocol):
    def add(self, image: SignatureImage) -> None: ...

    def current(self, person_id: uuid.UUID) -> SignatureImage | None:
        """The newest one."""
        ...


class BindingRepository(Protocol):
    def add(self, binding: Binding) -> None: ...

    def get(self, binding_id: uuid.UUID) -> Binding | None: ...

    def of_system(self, business_system: str, *, account: str | None = None) -> list[Binding]:
        """Active bindings, newest first."""
        ...


class StampRepository(Protocol):
    def add(self, record: StampRecord) -> None: ...

    def by_idempotency_key(self, business_system: str, key: str) -> StampRecord | None: ...

    def get(self, stamp_id: uuid.UUID) -> StampRecord | None: ...


class CertificateRepository(Protocol):
    def add(self, certificate: Certificate) -> None: ...

    def get(self, certificate_id: uuid.UUID) -> Certificate | None: ...

    def by_serial(self, issuer: CaName, serial: str) -> Certificate | None: ...

    def many_by_serial(self, issuer: CaName, serials: list[str]) -> dict[str, Certificate]: ...

    def of_subject(self, subject_ref: str) -> list[Certificate]: ...

    def revoked(self, issuer: CaName) -> list[Certificate]: ...


class AuthorityRepository(Protocol):
    def add(self, authority: Authority) -> None: ...

    def get(self, name: CaName, *, lock: bool = False) -> Authority | None: ...

    def all(self) -> list[Authority]: ...


class StaffRepository(Protocol):
    def add(self, member: StaffMember) -> None: ...

    def get(self, person_id: uuid.UUID, role: StaffRole) -> StaffMember | None: ...

    def remove(self, member: StaffMember) -> None: ...

    def roles_of(self, person_id: uuid.UUID) -> frozenset[StaffRole]: ...

    def all(self) -> list[StaffMember]: ...


class SealTypeRepository(Protocol):
    def add(self, seal_type: SealType) -> None: ...

    def get(self, code: str) -> SealType | None: ...

    def all(self) -> list[SealType]: ...


class SealRepository(Protocol):
    def add(self, seal: Seal) -> None: ...

    def get(self, seal_id: uuid.UUID, *, lock: bool = False) -> Seal | None:
        """With ``lock``, hold the row until commit (one claim, one state change at a time)."""
        ...

    def of_enterprise(self, enterprise_id: uuid.UUID) -> list[Seal]: ...

    def with_pending_molds(self, *, limit: int) -> list[Seal]: ...


class SealImageRepository(Protocol):
    def add(self, image: SealImage) -> None: ...

    def get(self, image_id: int) -> SealImage | None: ...

    def of_seal(self, seal_id: uuid.UUID) -> list[SealImage]: ...


class OutboxRepository(Protocol):
    def add(self, message: OutboxMessage) -> None: ...

    def get(self, message_id: uuid.UUID) -> OutboxMessage | None: ...

    def due(self, at: datetime, *, limit: int) -> list[OutboxMessage]:
        """Pending messages whose next try is due, locked against other deliverers."""
        ...

    def recent(self, *, limit: int, recipient: str | None = None) -> list[OutboxMessage]: ...


class AuthorizationRepository(Protocol):
    """OpenID Connect authorizations (docs/oidc.md)."""

    def add(self, authorization: Authorization) -> None: ...

    def get(self, authorization_id: str, *, lock: bool = False) -> Authorization | None: ...

    def by_code_hash(self, code_hash: str, *, lock: bool = False) -> Authorization | None: ...

    def by_access_hash(self, access_hash: str) -> Authorization | None: ...

    def by_refresh_hash(self, refresh_hash: str) -> Authorization | None:
        """The login whose current or previous refresh token this is, locked."""
        ...

    def live(self, person_id: uuid.UUID, client_id: str,
             enterprise_id: uuid.UUID | None) -> list[Authorization]:
        """The person's authorizations at this business system for this enterprise whose tokens
        may still work, locked."""
        ...


class ConsentRepository(Protocol):
    def add(self, consent: Consent) -> None: ...

    def get(self, consent_id: uuid.UUID, *, lock: bool = False) -> Consent | None: ...

    def find(self, person_id: uuid.UUID, client_id: str, enterprise_id: uuid.UUID | None, *,
             lock: bool = False) -> Consent | None: ...

    def of_person(self, person_id: uuid.UUID) -> list[Consent]: ...


class SessionRepository(Protocol):
    def add(self, web_session: WebSession) -> None: ...

    def by_token_hash(self, token_hash: str) -> WebSession | None: ...


class AuditLog(Protocol):
    def record(self, record: AuditRecord) -> None:
        """Queue an event; it is chained and written when the unit of work commits."""
        ...

    def events(self, *, batch: int = 1000) -> Iterator[AuditEvent]: ...

    def head(self) -> tuple[int, str]: ...

    def recent(self, *, limit: int, subject: str | None = None) -> list[AuditEvent]: ...


class TokenKeyRepository(Protocol):
    def add(self, key: TokenKey) -> None: ...

    def of_purpose(self, purpose: TokenPurpose) -> list[TokenKey]:
        """Newest first."""
        ...


class LicenseRepository(Protocol):
    def add(self, license: License) -> None: ...

    def get(self, license_id: uuid.UUID) -> License | None: ...

    def of_person(self, person_id: uuid.UUID) -> list[License]:
        """Newest first."""
        ...

    def active_of_device(self, device_id: uuid.UUID) -> list[License]: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without ``commit()`` rolls everything back."""

    @property
    def persons(self) -> PersonRepository: ...

    @property
    def token_keys(self) -> TokenKeyRepository: ...

    @property
    def licenses(self) -> LicenseRepository: ...

    @property
    def enterprises(self) -> EnterpriseRepository: ...

    @property
    def sms_codes(self) -> SmsCodeRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def memberships(self) -> MembershipRepository: ...

    @property
    def applications(self) -> ApplicationRepository: ...

    @property
    def grants(self) -> GrantRepository: ...

    @property
    def seal_grants(self) -> SealGrantRepository: ...

    @property
    def certificates(self) -> CertificateRepository: ...

    @property
    def authorities(self) -> AuthorityRepository: ...

    @property
    def staff(self) -> StaffRepository: ...

    @property
    def seal_types(self) -> SealTypeRepository: ...

    @property
    def seals(self) -> SealRepository: ...

    @property
    def seal_images(self) -> SealImageRepository: ...

    @property
    def business_systems(self) -> BusinessSystemRepository: ...

    @property
    def auto_stamp_grants(self) -> AutoStampGrantRepository: ...

    @property
    def stamps(self) -> StampRepository: ...

    @property
    def devices(self) -> DeviceRepository: ...

    @property
    def scan_sessions(self) -> ScanSessionRepository: ...

    @property
    def signing_requests(self) -> SigningRequestRepository: ...

    @property
    def signature_images(self) -> SignatureImageRepository: ...

    @property
    def bindings(self) -> BindingRepository: ...

    @property
    def webhooks(self) -> WebhookRepository: ...

    @property
    def oidc_authorizations(self) -> AuthorizationRepository: ...

    @property
    def consents(self) -> ConsentRepository: ...


    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, request_id: str = "-") -> UnitOfWork: ...
