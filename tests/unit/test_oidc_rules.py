"""The OpenID Connect provider's pure rules: PKCE S256 (RFC 7636 Appendix B's example), scope
parsing, the grants claim for each role, consent remembered and withdrawn, a code used once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from yunzhang.domain.grants import Grant, GrantKind, GrantStatus
from yunzhang.domain.oidc import (
    Authorization,
    AuthorizationStatus,
    Consent,
    grant_claims,
    half_hash,
    parse_scopes,
    s256,
    verifier_matches,
)
from yunzhang.domain.roles import Role
from yunzhang.errors import OAuthError

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
TREE = ["ecommerce", "ecommerce.bidding", "ecommerce.bidding.full_process", "hr",
        "hr.social_insurance"]


def test_s256_is_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert verifier_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert not verifier_matches(verifier[:-1] + "Y", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert not verifier_matches("short", s256("short"))  # under 43 characters: not a verifier
    assert len(half_hash("token")) == 22  # 128 bits, base64url without padding


def test_scopes() -> None:
    assert parse_scopes("openid  profile openid ecommerce.bidding.full_process", known=TREE,
                        registered=["ecommerce.bidding"]) == [
        "openid", "profile", "ecommerce.bidding.full_process"]
    for raw, code in (("profile", "oidc.scope_openid"), (None, "oidc.scope_openid"),
                      ("openid ecommerce", "oidc.scope_not_registered"),
                      ("openid hr.social_insurance", "oidc.scope_not_registered"),
                      ("openid no.such", "oidc.scope_unknown"),
                      ("openid \"quoted\"", "oidc.scope_unknown")):
        with pytest.raises(OAuthError) as refused:
            parse_scopes(raw, known=TREE, registered=["ecommerce.bidding"])
        assert (refused.value.error, refused.value.code) == ("invalid_scope", code)


def grant(kind: GrantKind, scopes: list[str], *, start: timedelta = timedelta(0),
          end: timedelta = timedelta(days=1), status: GrantStatus = GrantStatus.ACTIVE) -> Grant:
    return Grant(enterprise_id=uuid.uuid4(), grantee_id=uuid.uuid4(), starts_at=NOW + start,
                 ends_at=NOW + end, granted_by=uuid.uuid4(), authority="legal_rep",
                 created_at=NOW, kind=kind, scopes=scopes, status=status)


def test_grants_claim() -> None:
    wanted = ["ecommerce.bidding"]
    assert grant_claims(Role.LEGAL_REP, [], wanted, NOW) == [{"scope": "*"}]
    assert grant_claims(Role.ADMIN, [], wanted, NOW) == [{"scope": "*"}]
    assert grant_claims(None, [grant(GrantKind.ALL_BUSINESS, [])], wanted, NOW) == []
    found = grant_claims(Role.AGENT, [
        grant(GrantKind.PRECISE, ["ecommerce"]),  # broader: told as what was asked
        grant(GrantKind.PRECISE, ["ecommerce.bidding.full_process"], start=timedelta(days=2),
              end=timedelta(days=3)),  # narrower and later: its own name and window
        grant(GrantKind.PRECISE, ["hr.social_insurance"]),  # not this system's business
        grant(GrantKind.PRECISE, ["ecommerce.bidding"], end=timedelta(0)),  # ended
        grant(GrantKind.PRECISE, ["ecommerce.bidding"], status=GrantStatus.REVOKED),
        grant(GrantKind.ALL_BUSINESS, [], start=timedelta(hours=1)),
    ], wanted, NOW)
    assert found == [
        {"scope": "*", "starts_at": "2026-12-07T09:00:00Z", "ends_at": "2026-12-08T08:00:00Z"},
        {"scope": "ecommerce.bidding", "starts_at": "2026-12-07T08:00:00Z",
         "ends_at": "2026-12-08T08:00:00Z"},
        {"scope": "ecommerce.bidding.full_process", "starts_at": "2026-12-09T08:00:00Z",
         "ends_at": "2026-12-10T08:00:00Z"}]


def test_consent_remembered_extended_withdrawn_given_again() -> None:
    consent = Consent(uuid.uuid4(), "bidding.portal", None, ["openid", "profile"],
                      granted_at=NOW, updated_at=NOW)
    assert consent.covers(["openid"]) and not consent.covers(["openid", "enterprise"])
    consent.give(["openid", "enterprise"], NOW + timedelta(hours=1))
    assert consent.scopes == ["openid", "profile", "enterprise"]
    assert consent.granted_at == NOW  # extended, not new
    consent.withdraw(NOW + timedelta(hours=2))
    assert not consent.covers(["openid"])
    consent.give(["openid"], NOW + timedelta(hours=3))
    assert consent.scopes == ["openid"] and consent.granted_at == NOW + timedelta(hours=3)


def test_a_code_is_redeemed_once_and_not_after_it_expires() -> None:
    def issued() -> Authorization:
        made = Authorization(id="x", client_id="c", redirect_uri="https://c/cb",
                             scopes=["openid"], code_challenge=s256("v" * 43), created_at=NOW,
                             expires_at=NOW + timedelta(minutes=10))
        made.authenticated(uuid.uuid4(), NOW)
        made.issue_code("hash", NOW, NOW + timedelta(seconds=60))
        return made

    code = issued()
    code.redeem("access", NOW + timedelta(seconds=59), NOW + timedelta(hours=1))
    assert code.status is AuthorizationStatus.REDEEMED and code.live
    assert code.access_valid(NOW + timedelta(minutes=59))
    assert not code.access_valid(NOW + timedelta(hours=1))
    with pytest.raises(OAuthError) as again:
        code.redeem("access2", NOW + timedelta(seconds=59), NOW + timedelta(hours=1))
    assert again.value.code == "oidc.code_used"
    code.revoke(NOW)
    assert not code.access_valid(NOW) and not code.live
    late = issued()
    with pytest.raises(OAuthError) as expired:
        late.redeem("access", NOW + timedelta(seconds=60), NOW + timedelta(hours=1))
    assert expired.value.code == "oidc.code_expired"
    with pytest.raises(OAuthError):
        late.issue_code("other", NOW, NOW)  # one code per login
