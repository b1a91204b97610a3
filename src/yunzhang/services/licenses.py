"""E-licenses (电子营业执照): downloaded by a person to one of their wallets, as a credential the
platform signs (a JWS, docs/licenses.md), listed with what each is good for now, revoked by the
holder, and presented when a login scan is confirmed.

The decision function says who may hold the enterprise's license (Action.HOLD_LICENSE); the
credential is bound to the wallet's device key (RFC 7800 "cnf" with the key's RFC 7638
thumbprint), so it is worth nothing away from that wallet.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.authz import Action, Resource
from yunzhang.domain.devices import DeviceStatus
from yunzhang.domain.enterprises import Enterprise
from yunzhang.domain.licenses import (
    CREDENTIAL_TYPE,
    License,
    LicenseState,
    LicenseStatus,
    LoginLicense,
    license_window,
)
from yunzhang.domain.persons import VerificationLevel
from yunzhang.domain.tokens import TokenPurpose
from yunzhang.errors import Conflict, NotFound, PermissionDenied
from yunzhang.services import authorization, token_keys
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.ports import Clock, JoseCodec, KeyStore, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class DownloadLicense:
    person_id: uuid.UUID
    uscc: str
    device_id: uuid.UUID  # the wallet the license is bound to


@dataclass(frozen=True)
class LicenseView:
    license: License
    enterprise: Enterprise
    state: LicenseState
    credential: str | None = None  # the signed JWS, only when just downloaded


def _unix(at: datetime) -> int:
    return int(at.astimezone(UTC).timestamp())


@refusals_audited(AuditTag.LICENSE_DOWNLOAD, lambda cmd: f"enterprise:{cmd.uscc[:18]}")
def download(cmd: DownloadLicense, *, caller: Caller, uow: UnitOfWorkFactory, keys: KeyStore,
             jose: JoseCodec, clock: Clock, settings: Settings) -> LicenseView:
    """Seed 002 §2: after identity and liveness checks, a member with a role takes the
    license into a wallet; a newer download to the same wallet replaces the older one."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        person = tx.persons.get(cmd.person_id)
        if person is None or person.verification_level is not VerificationLevel.LIVENESS:
            raise PermissionDenied("verify your identity and pass the liveness check (实名认证, "
                                   "实人认证) before downloading a license",
                                   code="license.unverified")
        device = tx.devices.get(cmd.device_id)
        if device is None or device.person_id != cmd.person_id \
                or device.status is not DeviceStatus.ACTIVE:
            raise NotFound(f"you have no active wallet device {cmd.device_id}",
                           code="device.not_found")
        enterprise = tx.enterprises.by_uscc(cmd.uscc.strip().upper())
        if enterprise is None:
            raise NotFound(f"no enterprise {cmd.uscc[:18]!r}", code="enterprise.not_found")
        decision = authorization.require(
            cmd.person_id, Action.HOLD_LICENSE,
            Resource(enterprise.id, enterprise.name, enterprise.uscc), now,
            tx=tx, caller=caller, uow=uow)
        membership = tx.memberships.active(cmd.person_id, enterprise.id)
        assert membership is not None and membership.role is not None and membership.id  # allowed
        windows = [(g.starts_at, g.ends_at)
                   for g in (*tx.grants.of_grantee(cmd.person_id, enterprise.id, ending_after=now),
                             *tx.seal_grants.of_grantee(cmd.person_id, enterprise.id,
                                                        ending_after=now))
                   if g.id in decision.grant_ids]
        window = license_window(membership.role, now, timedelta(days=settings.license_days),
                                windows)
        if window is None:  # the decision found a grant; its window is the license's
            raise Conflict("no authorization window to issue the license for",
                           code="license.window")
        for older in tx.licenses.of_person(cmd.person_id):
            if older.enterprise_id == enterprise.id and older.device_id == device.id:
                older.end(LicenseStatus.SUPERSEDED, now)
        issued = License(person_id=cmd.person_id, enterprise_id=enterprise.id,
                         membership_id=membership.id, role=membership.role, device_id=device.id,
                         issued_at=now.replace(microsecond=0),
                         not_before=window.not_before.replace(microsecond=0),
                         expires_at=window.expires_at.replace(microsecond=0))
        tx.licenses.add(issued)
        credential = token_keys.sign(tx, TokenPurpose.LICENSE, {
            "iss": settings.public_url.rstrip("/"), "sub": str(person.id),
            "jti": str(issued.id), "iat": _unix(issued.issued_at),
            "nbf": _unix(issued.not_before), "exp": _unix(issued.expires_at),
            "enterprise": {"uscc": enterprise.uscc, "name": enterprise.name},
            "role": issued.role.value, "holder": {"name": person.name or ""},
            "cnf": {"jkt": jose.jwk(device.public_key)["kid"]},
        }, typ=CREDENTIAL_TYPE, keys=keys, jose=jose, clock=clock, settings=settings)
        tx.audit.record(AuditRecord(AuditTag.LICENSE_DOWNLOAD, caller.actor,
                                    f"enterprise:{enterprise.uscc}", details={
                                        "license": str(issued.id), "role": issued.role.value,
                                        "device": str(device.id), "reason": decision.reason,
                                        "not_before": issued.not_before.isoformat(),
                                        "expires_at": issued.expires_at.isoformat()}))
        tx.commit()
        return LicenseView(issued, enterprise, _state(tx, issued, now), credential)


def list_licenses(person_id: uuid.UUID, *, uow: UnitOfWorkFactory,
                  clock: Clock) -> list[LicenseView]:
    now = clock.now()
    with uow() as tx:
        views = []
        for held in tx.licenses.of_person(person_id):
            enterprise = tx.enterprises.get(held.enterprise_id)
            assert enterprise is not None  # a foreign key
            views.append(LicenseView(held, enterprise, _state(tx, held, now)))
        return views


@refusals_audited(AuditTag.LICENSE_REVOKE, lambda person_id, license_id: f"license:{license_id}")
def revoke(person_id: uuid.UUID, license_id: uuid.UUID, *, caller: Caller,
           uow: UnitOfWorkFactory, clock: Clock) -> License:
    """The holder gives a license up (a phone lost, a wallet reset): it logs in nowhere more."""
    with uow(request_id=caller.request_id) as tx:
        held = tx.licenses.get(license_id)
        if held is None or held.person_id != person_id:
            raise NotFound(f"you hold no license {license_id}", code="license.not_found")
        if held.status is not LicenseStatus.ACTIVE:
            raise Conflict(f"license {license_id} is already {held.status.value}",
                           code="license.ended")
        held.end(LicenseStatus.REVOKED, clock.now())
        tx.audit.record(AuditRecord(AuditTag.LICENSE_REVOKE, caller.actor,
                                    f"license:{license_id}", details={"person": str(person_id)}))
        tx.commit()
        return held


def end_for_device(tx: UnitOfWork, device_id: uuid.UUID, at: datetime) -> list[uuid.UUID]:
    """A revoked wallet takes its licenses with it; the ids ended."""
    ended = tx.licenses.active_of_device(device_id)
    for held in ended:
        held.end(LicenseStatus.REVOKED, at)
    return [held.id for held in ended]


def for_login(tx: UnitOfWork, license_id: uuid.UUID, *, person_id: uuid.UUID,
              device_id: uuid.UUID, at: datetime) -> LoginLicense:
    """The license a login is confirmed with, once it is the person's, from this wallet, and
    good now (PermissionDenied ``license.*`` otherwise)."""
    held = tx.licenses.get(license_id)
    if held is None or held.person_id != person_id:
        raise PermissionDenied("this license is not yours", code="license.not_found")
    held.require_usable(at, device_id=device_id, role_held=_role_held(tx, held))
    enterprise = tx.enterprises.get(held.enterprise_id)
    assert enterprise is not None  # a foreign key
    return LoginLicense(held.id, enterprise.id, enterprise.uscc, enterprise.name, held.role)


def _role_held(tx: UnitOfWork, held: License) -> bool:
    membership = tx.memberships.active(held.person_id, held.enterprise_id)
    return membership is not None and membership.id == held.membership_id \
        and membership.role is held.role


def _state(tx: UnitOfWork, held: License, at: datetime) -> LicenseState:
    return held.state_at(at, role_held=_role_held(tx, held))
