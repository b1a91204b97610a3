"""Wallet devices: a person enrols a phone's device key (with proof that the phone holds it),
lists and revokes them. Scan sessions accept only steps signed by an active device."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.devices import Device, DeviceStatus, enrollment_message
from yunzhang.domain.enterprises import clean_name
from yunzhang.errors import Conflict, InvalidInput, NotFound
from yunzhang.services import licenses
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.ports import Clock, DeviceKeys, UnitOfWorkFactory

MAX_DEVICES = 10


@dataclass(frozen=True)
class EnrollDevice:
    person_id: uuid.UUID
    name: str
    public_key: bytes  # DER SubjectPublicKeyInfo
    proof: bytes  # the device key's signature of enrollment_message(person, key)


@refusals_audited(AuditTag.DEVICE_ENROLL, lambda cmd: f"person:{cmd.person_id}")
def enroll_device(cmd: EnrollDevice, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
                  device_keys: DeviceKeys) -> Device:
    name = clean_name(cmd.name, what="the device name", code="device.name", max_len=100)
    key = device_keys.public_key(cmd.public_key)
    if not device_keys.verify(key, enrollment_message(cmd.person_id, key), cmd.proof):
        raise InvalidInput("the proof is not the device key's signature of the enrolment "
                           "message for this account", code="device.proof")
    with uow(request_id=caller.request_id) as tx:
        mine = [d for d in tx.devices.of_person(cmd.person_id) if d.status is DeviceStatus.ACTIVE]
        if any(d.public_key == key for d in mine):
            raise Conflict("this device key is already enrolled", code="device.exists")
        if len(mine) >= MAX_DEVICES:
            raise Conflict(f"at most {MAX_DEVICES} active devices; revoke one first",
                           code="device.too_many")
        device = Device(person_id=cmd.person_id, name=name, public_key=key,
                        created_at=clock.now())
        tx.devices.add(device)
        tx.audit.record(AuditRecord(AuditTag.DEVICE_ENROLL, caller.actor,
                                    f"person:{cmd.person_id}",
                                    details={"device": str(device.id), "name": name}))
        tx.commit()
        return device


def list_devices(person_id: uuid.UUID, *, uow: UnitOfWorkFactory) -> list[Device]:
    with uow() as tx:
        return tx.devices.of_person(person_id)


@refusals_audited(AuditTag.DEVICE_REVOKE, lambda person_id, device_id: f"device:{device_id}")
def revoke_device(person_id: uuid.UUID, device_id: uuid.UUID, *, caller: Caller,
                  uow: UnitOfWorkFactory, clock: Clock) -> Device:
    """A lost or replaced phone: its signatures count no more, from the next step on."""
    with uow(request_id=caller.request_id) as tx:
        device = tx.devices.get(device_id)
        if device is None or device.person_id != person_id:
            raise NotFound(f"you have no device {device_id}", code="device.not_found")
        if device.status is DeviceStatus.REVOKED:
            raise Conflict(f"device {device_id} is already revoked", code="device.revoked")
        device.status, device.revoked_at = DeviceStatus.REVOKED, clock.now()
        ended = licenses.end_for_device(tx, device_id, clock.now())
        tx.audit.record(AuditRecord(AuditTag.DEVICE_REVOKE, caller.actor, f"device:{device_id}",
                                    details={"person": str(person_id),
                                             "licenses": [str(i) for i in ended]}))
        tx.commit()
        return device
