"""Seal rules without a database: the lifecycle, who may apply, claim, manage and review, the
names and templates a seal type gives, and the bounds of sizes and processing parameters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from yunzhang.domain.authz import Action, Facts, Resource, decide
from yunzhang.domain.enterprises import EnterpriseKind
from yunzhang.domain.grants import SealGrant
from yunzhang.domain.roles import Membership, Role
from yunzhang.domain.seal_images import MoldProcessing, SealColour, SealShape, SealSize
from yunzhang.domain.seals import (
    BUILTIN_TYPES,
    Seal,
    SealStatus,
    SealType,
    default_seal_name,
    parse_filing_number,
    parse_seal_code,
    template_for,
)
from yunzhang.errors import Conflict, InvalidInput

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
ENTERPRISE = uuid.uuid4()
ACTOR = uuid.uuid4()
SEAL = uuid.uuid4()
NAME = "上海云章示范科技有限公司"


def types() -> dict[str, SealType]:
    return {code: SealType(code=code, name=name, shape=shape, kinds=list(kinds),
                           filing_required=filing, builtin=True, created_at=T0)
            for code, name, shape, kinds, filing in BUILTIN_TYPES}


def seal(status: SealStatus = SealStatus.PENDING_REVIEW) -> Seal:
    return Seal(enterprise_id=ENTERPRISE, name=f"{NAME}合同专用章", type_code="contract",
                applied_by=ACTOR, applied_at=T0, status=status, id=SEAL)


def member(role: Role | None) -> Membership:
    return Membership(enterprise_id=ENTERPRISE, person_id=ACTOR, role=role, started_at=T0,
                      authority="test")


def seal_grant(seal_id: uuid.UUID, *, ends: timedelta = timedelta(days=1)) -> SealGrant:
    return SealGrant(enterprise_id=ENTERPRISE, grantee_id=ACTOR, starts_at=T0 - timedelta(hours=1),
                     ends_at=T0 + ends, granted_by=uuid.uuid4(), authority="legal_rep",
                     created_at=T0, seal_id=str(seal_id), business_system="bidding", id=7)


RESOURCE = Resource(enterprise_id=ENTERPRISE, enterprise_name=NAME, seal_id=str(SEAL))


# --- lifecycle -------------------------------------------------------------------------------

def test_a_seal_goes_from_review_to_grey_to_red_and_is_revoked_for_good() -> None:
    s = seal()
    assert s.status.colour == "none" and not s.status.can_stamp()
    s.mold_reviewed(approved=True, by=uuid.uuid4(), at=T0, note=None)
    assert s.status is SealStatus.APPROVED and s.status.colour == "grey"
    s.claim(by=ACTOR, at=T0, key_id="sw-1", certificate_id=uuid.uuid4())
    assert s.status is SealStatus.ACTIVE and s.status.colour == "red" and s.status.can_stamp()
    s.suspend(at=T0, reason="seal lost")
    with pytest.raises(Conflict) as refused:
        s.check_can_stamp()
    assert refused.value.code == "seal.not_usable" and "seal lost" in refused.value.detail
    s.resume(at=T0)
    s.check_can_stamp()
    s.revoke(at=T0, reason="company closed")
    for change in (lambda: s.resume(at=T0), lambda: s.suspend(at=T0, reason="x"),
                   lambda: s.revoke(at=T0, reason="x"), lambda: s.mold_uploaded(T0)):
        with pytest.raises(Conflict):
            change()
    assert s.status is SealStatus.REVOKED


def test_claiming_before_approval_twice_or_after_rejection_is_refused() -> None:
    with pytest.raises(Conflict) as early:
        seal().claim(by=ACTOR, at=T0, key_id="k", certificate_id=uuid.uuid4())
    assert early.value.code == "seal.not_approved"
    for status in (SealStatus.ACTIVE, SealStatus.SUSPENDED):
        with pytest.raises(Conflict) as twice:
            seal(status).check_claimable()
        assert twice.value.code == "seal.already_claimed"
    for status in (SealStatus.REJECTED, SealStatus.REVOKED):
        with pytest.raises(Conflict) as other:
            seal(status).check_claimable()
        assert other.value.code == "seal.state"


def test_a_rejected_application_returns_to_review_with_a_new_mold() -> None:
    s = seal()
    s.mold_reviewed(approved=False, by=uuid.uuid4(), at=T0, note="图像模糊")
    assert s.status is SealStatus.REJECTED and s.status_reason == "图像模糊"
    s.mold_uploaded(T0)
    assert s.status is SealStatus.PENDING_REVIEW


def test_a_later_mold_does_not_change_a_seal_in_use() -> None:
    s = seal(SealStatus.ACTIVE)
    s.mold_uploaded(T0)
    s.mold_reviewed(approved=False, by=uuid.uuid4(), at=T0, note="no")
    assert s.status is SealStatus.ACTIVE


# --- who may do what -------------------------------------------------------------------------

@pytest.mark.parametrize("action", [Action.APPLY_SEAL, Action.MANAGE_SEAL,
                                    Action.MANAGE_CERTIFICATE, Action.CLAIM_SEAL])
def test_the_legal_representative_and_administrators_manage_seals(action: Action) -> None:
    for role in (Role.LEGAL_REP, Role.ADMIN):
        assert decide(ACTOR, action, RESOURCE, T0, Facts(member(role))).allowed


@pytest.mark.parametrize("action", [Action.APPLY_SEAL, Action.MANAGE_SEAL,
                                    Action.MANAGE_CERTIFICATE])
def test_agents_do_not_manage_seals_or_certificates(action: Action) -> None:
    decision = decide(ACTOR, action, RESOURCE, T0, Facts(member(Role.AGENT)))
    assert not decision.allowed and decision.reason.startswith("agents cannot")


def test_an_agent_claims_only_a_seal_they_hold_a_current_grant_for() -> None:
    agent = member(Role.AGENT)
    none = decide(ACTOR, Action.CLAIM_SEAL, RESOURCE, T0, Facts(agent))
    assert not none.allowed and "no seal grant of yours names seal" in none.reason
    other = decide(ACTOR, Action.CLAIM_SEAL, RESOURCE, T0,
                   Facts(agent, seal_grants=(seal_grant(uuid.uuid4()),)))
    assert not other.allowed
    held = decide(ACTOR, Action.CLAIM_SEAL, RESOURCE, T0,
                  Facts(agent, seal_grants=(seal_grant(SEAL),)))
    assert held.allowed and held.grant_ids == (7,)
    expired = decide(ACTOR, Action.CLAIM_SEAL, RESOURCE, T0 + timedelta(days=2),
                     Facts(agent, seal_grants=(seal_grant(SEAL),)))
    assert not expired.allowed and "expired" in expired.reason


def test_only_seal_reviewers_review_and_membership_does_not_help() -> None:
    legal_rep = decide(ACTOR, Action.REVIEW_SEAL, RESOURCE, T0, Facts(member(Role.LEGAL_REP)))
    assert not legal_rep.allowed and "seal_reviewer" in legal_rep.reason
    reviewer = decide(ACTOR, Action.REVIEW_SEAL, RESOURCE, T0,
                      Facts(None, staff_roles=frozenset({"seal_reviewer"})))
    assert reviewer.allowed and "reviewer" in reviewer.reason


def test_non_members_and_members_without_a_role_are_refused_seal_actions() -> None:
    for facts in (Facts(None), Facts(member(None))):
        assert not decide(ACTOR, Action.CLAIM_SEAL, RESOURCE, T0, facts).allowed


# --- types, names, templates -----------------------------------------------------------------

def test_the_name_seal_is_not_for_individual_businesses() -> None:
    t = types()
    assert not t["legal_rep_name"].allows(EnterpriseKind.INDIVIDUAL_BUSINESS)
    assert t["legal_rep_name"].allows(EnterpriseKind.COMPANY)
    assert all(t[c].allows(EnterpriseKind.INDIVIDUAL_BUSINESS)
               for c in ("official", "contract", "finance", "invoice"))
    assert [c for c, st in t.items() if st.filing_required] == ["official"]


def test_default_names_follow_the_seal_type() -> None:
    t = types()
    names = {code: default_seal_name(t[code], enterprise_name=NAME, legal_rep_name="张云章")
             for code in t}
    assert names == {"official": NAME, "contract": f"{NAME}合同专用章",
                     "finance": f"{NAME}财务专用章", "invoice": f"{NAME}发票专用章",
                     "legal_rep_name": "张云章"}


def test_templates_place_name_purpose_code_and_tax_number() -> None:
    t = types()
    kw = dict(enterprise_name=NAME, uscc="91310115MA1K4DEM05", legal_rep_name="张云章",
              seal_code="3101150012345", size=None)
    official = template_for(t["official"], **kw)  # type: ignore[arg-type]
    assert (official.shape, official.upper_text, official.lower_text, official.code) == \
        (SealShape.ROUND, NAME, "", "3101150012345")
    assert official.size == SealSize(42.0, 42.0)
    contract = template_for(t["contract"], **kw)  # type: ignore[arg-type]
    assert contract.lower_text == "合同专用章"
    invoice = template_for(t["invoice"], **kw)  # type: ignore[arg-type]
    assert (invoice.shape, invoice.middle_text, invoice.lower_text, invoice.code) == \
        (SealShape.OVAL, "91310115MA1K4DEM05", "发票专用章", "")
    assert invoice.size == SealSize(40.0, 30.0)
    assert template_for(t["finance"], **kw).middle_text == ""  # type: ignore[arg-type]
    name_seal = template_for(t["legal_rep_name"], **kw)  # type: ignore[arg-type]
    assert (name_seal.shape, name_seal.upper_text) == (SealShape.SQUARE, "张云章")


@pytest.mark.parametrize("raw", ["12345", "３１０１１５００１", "31011500'; --", "x" * 33])
def test_bad_filing_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        parse_filing_number(raw)
    assert bad.value.code == "seal.filing_number"


def test_filing_numbers_and_seal_codes() -> None:
    assert parse_filing_number("  ") is None and parse_filing_number(" 3101-150012 ") == "3101-150012"
    assert parse_seal_code("3101150012345") == "3101150012345"
    for raw in ("310115001234", "31011500123456", "３１０１１５００１２３４５"):
        with pytest.raises(InvalidInput):
            parse_seal_code(raw)


def test_sizes_and_processing_parameters_are_bounded() -> None:
    assert SealSize.of(42).pixels(600) == (992, 992)
    for bad in (9.9, 80.1, -1):
        with pytest.raises(InvalidInput):
            SealSize.of(bad)
    size = SealSize.of(42)
    for kwargs in ({"rotate": 45}, {"brightness": 0.1}, {"contrast": 3.5}):
        with pytest.raises(InvalidInput):
            MoldProcessing(shape=SealShape.ROUND, size=size, **kwargs)  # type: ignore[arg-type]
    assert MoldProcessing(shape=SealShape.ROUND, size=size, rotate=270,
                          colour=SealColour.PURPLE).colour.rgb == (120, 30, 160)
