"""Demo data for the quick start: one enterprise from a registry row, its legal representative
and members, all verified, with passwords printed for the person trying the platform; a seal
reviewer; the platform PKI; a claimed contract seal and an approved official seal; the two demo
business systems (招投标 demo.bidding, 社保申报 demo.social-insurance) with the redirect URIs and
webhook URLs of the demo sites served under /demo/ (yunzhang.demo_sites)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import timedelta

from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.ids import ResidentId
from yunzhang.config import Settings
from yunzhang.domain.persons import Person
from yunzhang.domain.roles import Role
from yunzhang.domain.scopes import ScopeTree
from yunzhang.services import webhooks
from yunzhang.services.context import Caller
from yunzhang.services.enterprises import ImportRegistry, import_registry
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.staff import StaffRole
from yunzhang.services.business_systems import RegisterSystem, register
from yunzhang.services.grants import (
    CreateAutoStampGrant,
    CreateGrant,
    CreateSealGrant,
    create_auto_stamp_grant,
    create_grant,
    create_seal_grant,
)
from yunzhang.services.pki import InitPki, init_pki
from yunzhang.services.seals import (
    ApplySeal,
    ClaimSeal,
    Generated,
    ReviewMold,
    apply_seal,
    claim_seal,
    review_mold,
)
from yunzhang.services.staff import grant_staff
from yunzhang.services.roles import GrantRole, grant_role, sync_legal_representative
from yunzhang.services.ports import (
    CertificateFactory,
    Clock,
    Keyring,
    KeyStore,
    PasswordHasher,
    SealArtist,
    UnitOfWorkFactory,
)

DEMO_PASSWORD = "Yunzhang-demo-2026"
DEMO_USCC = "91310115MA1K4DEM05"  # check character computed per GB 32100; tests verify it


@dataclass(frozen=True)
class DemoPerson:
    role: str
    name: str
    phone: str
    id_number: str


DEMO_PEOPLE = (
    DemoPerson("legal representative (法定代表人)", "张云章", "13800000001", "310115198001010016"),
    DemoPerson("license administrator (证照管理员)", "李管理", "13800000002",
               "310115198502020028"),
    DemoPerson("agent (经办人), authorized for bidding and social-insurance declarations", "王经办",
               "13800000003", "310115199003030031"),
    DemoPerson("platform seal reviewer (印章审核员)", "赵审核", "13800000004",
               "310115198804040040"),
)
DEMO_FILING_NUMBER = "3101150012345"  # the official seal's (made-up) filing number
DEMO_BUSINESS_SYSTEM = "demo.bidding"
DEMO_SYSTEM_NAME = "示范招投标系统 demo bidding portal"
# Development only (the demo refuses to run otherwise), printed like the people's password.
DEMO_CLIENT_SECRET = "demo-bidding-client-secret-yunzhang-2026"
DEMO_AUTO_STAMP_DAYS = 365


@dataclass(frozen=True)
class DemoSystem:
    """A demo business system and what its demo site (under /demo/<site>/) needs to call the
    platform: fixed development secrets, printed by `yunzhang demo`, refused elsewhere."""

    client_id: str
    name: str
    site: str  # the path under /demo/
    scopes: tuple[str, ...]
    client_secret: str
    webhook_secret: str  # whsec_ + base64 of 32 bytes (Standard Webhooks)

    def site_url(self, public_url: str) -> str:
        return f"{public_url.rstrip('/')}/demo/{self.site}/"

    def redirect_uris(self, public_url: str) -> list[str]:
        """The OpenID Connect callback (after logout the provider sends the browser back to the
        site's home page, at the same origin)."""
        return [f"{self.site_url(public_url)}callback"]

    def webhook_url(self, public_url: str) -> str:
        return f"{self.site_url(public_url)}webhooks"


def _whsec(text: str) -> str:
    assert len(text) == 32
    return "whsec_" + base64.b64encode(text.encode()).decode()


DEMO_SYSTEMS = (
    DemoSystem(DEMO_BUSINESS_SYSTEM, DEMO_SYSTEM_NAME, "bidding", ("ecommerce.bidding",),
               DEMO_CLIENT_SECRET, _whsec("demo-bidding-webhooks-yunzhang26")),
    DemoSystem("demo.social-insurance", "示范社保申报系统 demo social-insurance filing",
               "social-insurance", ("hr.social_insurance",),
               "demo-social-insurance-client-secret-yunzhang-2026",
               _whsec("demo-social-insurance-webhooks26")),
)


@dataclass(frozen=True)
class DemoData:
    uscc: str
    enterprise_name: str
    people: tuple[DemoPerson, ...]
    password: str
    created: bool
    seals: tuple[tuple[str, str, str], ...] = ()  # (id, name, status)
    client_id: str = DEMO_BUSINESS_SYSTEM
    client_secret: str = DEMO_CLIENT_SECRET
    systems: tuple[DemoSystem, ...] = DEMO_SYSTEMS


def seed_demo(
    *, caller: Caller, uow: UnitOfWorkFactory, keyring: Keyring, passwords: PasswordHasher,
    clock: Clock, settings: Settings, scopes: ScopeTree, keys: KeyStore,
    factory: CertificateFactory, artist: SealArtist,
) -> DemoData:
    """Idempotent: a second run finds everything in place and changes nothing."""
    legal = DEMO_PEOPLE[0]
    name = "上海云章示范科技有限公司"
    import_registry(
        ImportRegistry(
            rows=[{"uscc": DEMO_USCC, "name": name, "kind": "company", "status": "active",
                   "legal_rep_name": legal.name, "legal_rep_id_number": legal.id_number}],
            source="demo",
        ),
        caller=caller, uow=uow, keyring=keyring, clock=clock,
    )
    created = False
    password_hash = passwords.hash(DEMO_PASSWORD)
    with uow(request_id=caller.request_id) as tx:
        for person in DEMO_PEOPLE:
            if tx.persons.by_phone(person.phone):
                continue
            id_number = ResidentId.parse(person.id_number)
            now = clock.now()
            record = Person(phone=person.phone, password_hash=password_hash, created_at=now)
            record.record_identity(name=person.name, id_hmac=keyring.pii_hash(id_number.value),
                                   id_masked=id_number.masked, at=now)
            record.record_liveness(at=now)
            tx.persons.add(record)
            tx.audit.record(AuditRecord(AuditTag.DEMO_SEED, caller.actor, f"person:{record.id}",
                                        details={"name": person.name}))
            created = True
        enterprise = tx.enterprises.by_uscc(DEMO_USCC)
        assert enterprise is not None
        sync_legal_representative(tx, enterprise, at=clock.now(), actor=caller.actor)
        tx.commit()
    if created:
        _appoint(caller=caller, uow=uow, keyring=keyring, clock=clock, settings=settings,
                 scopes=scopes)
    with uow() as tx:
        pki_ready = bool(tx.authorities.all())
    if not pki_ready:
        init_pki(InitPki(KeyAlgorithm(settings.key_algorithm)), caller=caller, uow=uow, keys=keys,
                 factory=factory, clock=clock, settings=settings)
    registered = _business_systems(caller=caller, uow=uow, clock=clock, keyring=keyring,
                                   scopes=scopes, settings=settings)
    if created:
        _seals(caller=caller, uow=uow, keys=keys, factory=factory, artist=artist, clock=clock,
               settings=settings, keyring=keyring, scopes=scopes)
    elif DEMO_SYSTEMS[1].client_id in registered:  # a demo database from before this system
        _social_insurance_seal_grant(caller=caller, uow=uow, clock=clock, settings=settings)
    with uow() as tx:
        enterprise = tx.enterprises.by_uscc(DEMO_USCC)
        assert enterprise is not None
        made = tuple((str(s.id), s.name, s.status.colour if s.status.colour != "none"
                      else s.status.value) for s in tx.seals.of_enterprise(enterprise.id))
    return DemoData(DEMO_USCC, name, DEMO_PEOPLE, DEMO_PASSWORD, created, made)


def _seals(*, caller: Caller, uow: UnitOfWorkFactory, keys: KeyStore, factory: CertificateFactory,
           artist: SealArtist, clock: Clock, settings: Settings, keyring: Keyring,
           scopes: ScopeTree) -> None:
    """The reviewer is made platform staff; the legal representative applies for the contract
    seal (claimed: red, and the agent may use it in the demo bidding system) and for the
    official seal (approved, still to be claimed: grey). The demo bidding system is registered
    and may stamp bidding documents with the contract seal by itself (平台自动签) for a year."""
    legal, _, agent, reviewer = (_person_id(uow, p.phone) for p in DEMO_PEOPLE)
    grant_staff(DEMO_PEOPLE[3].phone, StaffRole.SEAL_REVIEWER.value, caller=caller, uow=uow,
                clock=clock)
    contract = apply_seal(ApplySeal(legal, DEMO_USCC, "contract", Generated()), caller=caller,
                          uow=uow, artist=artist, clock=clock)
    official = apply_seal(ApplySeal(legal, DEMO_USCC, "official", Generated(),
                                    filing_number=DEMO_FILING_NUMBER),
                          caller=caller, uow=uow, artist=artist, clock=clock)
    for seal in (contract, official):
        review_mold(ReviewMold(reviewer, seal.id, True), caller=caller, uow=uow, clock=clock)
    claim_seal(ClaimSeal(legal, contract.id), caller=caller, uow=uow, keys=keys, factory=factory,
               clock=clock, settings=settings)
    create_seal_grant(CreateSealGrant(legal, DEMO_USCC, agent, str(contract.id),
                                      DEMO_BUSINESS_SYSTEM),
                      caller=caller, uow=uow, clock=clock, settings=settings)
    _social_insurance_seal_grant(caller=caller, uow=uow, clock=clock, settings=settings)
    now = clock.now()
    create_auto_stamp_grant(
        CreateAutoStampGrant(legal, DEMO_USCC, DEMO_BUSINESS_SYSTEM, str(contract.id),
                             ["ecommerce.bidding"], now, now + timedelta(days=DEMO_AUTO_STAMP_DAYS)),
        caller=caller, uow=uow, clock=clock, scopes=scopes, settings=settings)


def _business_systems(*, caller: Caller, uow: UnitOfWorkFactory, clock: Clock, keyring: Keyring,
                      scopes: ScopeTree, settings: Settings) -> set[str]:
    """Register the demo business systems that are missing, with their demo site's redirect
    URIs and webhook URL, and the fixed development webhook secret (sealed, as the platform
    keeps every webhook secret) the demo site verifies with. A system whose webhook was changed
    since (`yunzhang rp set-webhook`) keeps it. The client ids newly registered."""
    made = set()
    public = settings.public_url
    for demo in DEMO_SYSTEMS:
        with uow() as tx:
            known = tx.business_systems.by_client_id(demo.client_id) is not None
        if not known:
            register(RegisterSystem(demo.client_id, demo.name, list(demo.scopes),
                                    demo.redirect_uris(public), demo.client_secret),
                     caller=caller, uow=uow, clock=clock, keyring=keyring, scopes=scopes)
            made.add(demo.client_id)
        with uow(request_id=caller.request_id) as tx:
            system = tx.business_systems.by_client_id(demo.client_id, lock=True)
            assert system is not None
            if system.webhook_url:
                continue
            system.webhook_url = demo.webhook_url(public)
            system.webhook_secret = keyring.seal(webhooks.SECRET_PURPOSE,
                                                 demo.webhook_secret.encode())
            tx.audit.record(AuditRecord(AuditTag.BUSINESS_SYSTEM_UPDATE, caller.actor,
                                        f"business_system:{demo.client_id}",
                                        details={"webhook_url": system.webhook_url,
                                                 "change": "demo webhook"}))
            tx.commit()
    return made


def _social_insurance_seal_grant(*, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
                                 settings: Settings) -> None:
    """The agent may also use the contract seal in the demo social-insurance system."""
    legal, agent = _person_id(uow, DEMO_PEOPLE[0].phone), _person_id(uow, DEMO_PEOPLE[2].phone)
    with uow() as tx:
        enterprise = tx.enterprises.by_uscc(DEMO_USCC)
        assert enterprise is not None
        contract = next((s for s in tx.seals.of_enterprise(enterprise.id)
                         if s.type_code == "contract" and s.status.can_stamp()), None)
    if contract is None:
        return
    create_seal_grant(CreateSealGrant(legal, DEMO_USCC, agent, str(contract.id),
                                      DEMO_SYSTEMS[1].client_id),
                      caller=caller, uow=uow, clock=clock, settings=settings)


def _appoint(*, caller: Caller, uow: UnitOfWorkFactory, keyring: Keyring, clock: Clock,
             settings: Settings, scopes: ScopeTree) -> None:
    """The legal representative appoints the administrator and the agent, and authorizes the
    agent for bidding and social-insurance declarations for the default three days."""
    legal, admin, agent, _ = (_person_id(uow, p.phone) for p in DEMO_PEOPLE)
    for person, role in ((DEMO_PEOPLE[1], Role.ADMIN), (DEMO_PEOPLE[2], Role.AGENT)):
        grant_role(GrantRole(legal, DEMO_USCC, person.name, person.id_number, person.phone, role),
                   caller=caller, uow=uow, clock=clock, keyring=keyring, settings=settings)
    create_grant(CreateGrant(legal, DEMO_USCC, agent, False,
                             ["ecommerce.bidding.full_process", "hr.social_insurance.declare"]),
                 caller=caller, uow=uow, clock=clock, scopes=scopes, settings=settings)


def _person_id(uow: UnitOfWorkFactory, phone: str) -> uuid.UUID:
    with uow() as tx:
        person = tx.persons.by_phone(phone)
        assert person is not None
        return person.id
