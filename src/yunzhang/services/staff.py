"""Platform staff roles, appointed by the operator: who may review seals (印章审核员)."""

from __future__ import annotations

from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.ids import Phone
from yunzhang.domain.staff import StaffMember, StaffRole
from yunzhang.errors import Conflict, NotFound
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.ports import Clock, UnitOfWorkFactory


@refusals_audited(AuditTag.STAFF_GRANT, lambda phone, role: f"staff:{role}")
def grant_staff(phone: str, role: str, *, caller: Caller, uow: UnitOfWorkFactory,
                clock: Clock) -> StaffMember:
    staff_role = StaffRole.parse(role)
    with uow(request_id=caller.request_id) as tx:
        number = Phone.parse(phone).value
        person = tx.persons.by_phone(number)
        if person is None:
            raise NotFound(f"no person registered with phone {number}", code="person.not_found")
        if tx.staff.get(person.id, staff_role) is not None:
            raise Conflict(f"{number} already has the {staff_role.value} role", code="staff.exists")
        member = StaffMember(person_id=person.id, role=staff_role, granted_at=clock.now(),
                             granted_by=caller.actor)
        tx.staff.add(member)
        tx.audit.record(AuditRecord(AuditTag.STAFF_GRANT, caller.actor, f"person:{person.id}",
                                    details={"role": staff_role.value}))
        tx.commit()
        return member


@refusals_audited(AuditTag.STAFF_REVOKE, lambda phone, role: f"staff:{role}")
def revoke_staff(phone: str, role: str, *, caller: Caller, uow: UnitOfWorkFactory) -> None:
    staff_role = StaffRole.parse(role)
    with uow(request_id=caller.request_id) as tx:
        number = Phone.parse(phone).value
        person = tx.persons.by_phone(number)
        member = tx.staff.get(person.id, staff_role) if person else None
        if person is None or member is None:
            raise NotFound(f"{number} does not have the {staff_role.value} role",
                           code="staff.not_found")
        tx.staff.remove(member)
        tx.audit.record(AuditRecord(AuditTag.STAFF_REVOKE, caller.actor, f"person:{person.id}",
                                    details={"role": staff_role.value}))
        tx.commit()


def list_staff(*, uow: UnitOfWorkFactory) -> list[tuple[StaffMember, str]]:
    """Each staff role with the holder's phone."""
    with uow() as tx:
        result = []
        for member in tx.staff.all():
            person = tx.persons.get(member.person_id)
            result.append((member, person.phone if person else "?"))
        return result
