"""An auto-stamp grant's maximum holds when a business system stamps in parallel: eight stamps
at the same moment under a grant of three make exactly three signed documents, three stamp
records and a count of three; the others are refused. On a database of its own with real
commits, both backends."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from tests.e2e.test_stamping import pdf
from tests.integration.test_admin_limit_concurrency import CALLER, live, race  # noqa: F401
from tests.integration.test_seal_claim_concurrency import approved_seal
from yunzhang.adapters.db import tables
from yunzhang.bootstrap import Container
from yunzhang.domain.stamping import PadesProfile, Placement
from yunzhang.services import business_systems, grants, seals, stamping
from yunzhang.services.audit import verify_audit_chain
from yunzhang.services.context import Caller

STAMPS, MAXIMUM = 8, 3


def test_parallel_stamps_never_exceed_the_grant(live: Container) -> None:  # noqa: F811
    legal_rep, uscc, seal = approved_seal(live, 91)
    with live.uow() as tx:  # 平台自动签 is granted after a liveness check
        person = tx.persons.get(legal_rep.id)
        assert person is not None
        person.record_liveness(at=live.clock.now())
        tx.commit()
    seals.claim_seal(seals.ClaimSeal(legal_rep.id, seal.id), caller=CALLER, uow=live.uow,
                     keys=live.keys, factory=live.x509, clock=live.clock, settings=live.settings)
    registered = business_systems.register(
        business_systems.RegisterSystem("bidding.portal", "交易平台", ["ecommerce.bidding"], []),
        caller=CALLER, uow=live.uow, clock=live.clock, keyring=live.keyring, scopes=live.scopes)
    now = live.clock.now()
    grant = grants.create_auto_stamp_grant(
        grants.CreateAutoStampGrant(legal_rep.id, uscc, "bidding.portal", str(seal.id),
                                    ["ecommerce.bidding"], now, now + timedelta(days=1), MAXIMUM),
        caller=CALLER, uow=live.uow, clock=live.clock, scopes=live.scopes, settings=live.settings)
    caller = Caller(actor="system:bidding.portal")
    document = pdf(1)

    outcomes = race(lambda i: stamping.stamp_as_system(
        stamping.SystemStamp(registered.system, uuid.UUID(str(seal.id)),
                             "ecommerce.bidding.full_process", io.BytesIO(document),
                             Placement(1, 20 + i, 20), PadesProfile.B_B,
                             idempotency_key=f"doc-{i}"),
        output=io.BytesIO(), caller=caller, uow=live.uow, stamper=live.pdf, clock=live.clock,
        settings=live.settings, factory=live.x509), STAMPS)

    assert outcomes.count("ok") == MAXIMUM, outcomes
    assert set(outcomes) - {"ok"} <= {"permission.denied", "grant.used_up"}, outcomes
    with live.session_factory() as session:
        c = tables.auto_stamp_grants.c
        assert session.scalar(select(c.used_count).where(c.id == grant.id)) == MAXIMUM
        assert session.scalar(select(func.count()).select_from(tables.stamps)) == MAXIMUM
    assert verify_audit_chain(uow=live.uow).problems == []
