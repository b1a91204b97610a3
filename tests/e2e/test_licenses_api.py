"""E-licenses (电子营业执照) end to end: the reference wallet downloads the license bound to its
device key and checks the platform's signature; Authlib (a JOSE library written by others)
verifies the same credential against the published JWKS; a login confirmed with the license
tells the screen the enterprise and role. An agent's license before their window is held, not
used (seed 002 §2.3). Refusals: no role, no grant, unverified, someone else's device, a role
revoked, a device or license revoked, a license id the signature does not cover, a license on a
stamp session, key rotation keeping old licenses verifiable until they expire."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from authlib.jose import JsonWebKey, jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from authlib.jose.errors import BadSignatureError
from fastapi.testclient import TestClient

from tests.e2e.persons_support import (  # noqa: F401
    PASSWORD,
    limiter_on_test_clock,
    problem,
    tiny_png,
)
from tests.e2e.roles_support import (  # noqa: F401
    API,
    Cast,
    Person,
    cast,
    company,
    granted,
    liveness,
    post,
    revoke_role,
)
from tests.e2e.test_scan_sessions_api import DOC, b64, new_wallet, open_session, result, view
from tests.e2e.test_stamps_api import register
from yunzhang.adapters.clock import FixedClock
from yunzhang.bootstrap import Container
from yunzhang.domain.tokens import TokenPurpose
from yunzhang.services import token_keys
from yunzhang.services.audit import recent_events
from yunzhang.services.context import Caller
from yunzhang.wallet import WalletClient, WalletError, WalletStore

FAST = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
LICENSE_PASSWORD = "license-123"
LICENSES, JWKS = f"{API}/me/licenses", f"{API}/licenses/jwks"


@pytest.fixture
def system(client: TestClient) -> dict[str, str]:
    return register(client)


def wallet_of(client: TestClient, person: Person, directory: Path) -> WalletClient:
    store = WalletStore(directory, kdf=FAST)
    store.create(client.app.state.container.settings.public_url, LICENSE_PASSWORD)
    wallet = WalletClient(store, TestClient(client.app, base_url="http://testserver"))
    wallet.enroll(phone=person.phone, password=PASSWORD, license_password=LICENSE_PASSWORD)
    return wallet


def download(wallet: WalletClient, person: Person, uscc: str) -> Any:
    return wallet.download_license(uscc, phone=person.phone, password=PASSWORD)


def login(client: TestClient, wallet: WalletClient, system: dict[str, str],
          uscc: str | None) -> dict[str, Any]:
    """A login scan confirmed with the license held for ``uscc`` (the wallet judges it on the
    test's clock, as a phone would on its own)."""
    opened = open_session(client, system)
    request = wallet.read(opened["url"])
    wallet.scan(request, license_password=LICENSE_PASSWORD)
    now = client.app.state.container.clock.now()  # type: ignore[attr-defined]
    assert wallet.confirm(request, license_password=LICENSE_PASSWORD, license=uscc,
                          now=now) == "confirmed"
    seen: dict[str, Any] = result(client, opened).json()
    return seen


def test_the_legal_representative_downloads_and_logs_in_with_the_license(
        client: TestClient, container: Container, cast: Cast, system: dict[str, str],
        tmp_path: Path) -> None:
    rep = cast.company.legal_rep
    wallet = wallet_of(client, rep, tmp_path / "rep")
    liveness(client, rep, tiny_png())
    held = download(wallet, rep, cast.company.uscc)
    assert held.claims["enterprise"] == {"uscc": cast.company.uscc, "name": cast.company.name}
    assert held.claims["role"] == "legal_rep" and held.claims["sub"] == rep.id
    # Verified by a library written by others, against the published key set.
    keys = JsonWebKey.import_key_set(client.get(JWKS).json())
    claims = jwt.decode(held.credential, keys)
    claims.validate(now=int(container.clock.now().timestamp()))
    assert claims["jti"] == held.id and claims["cnf"]["jkt"]
    assert held.credential.count(".") == 2
    # The wallet lists it red; the platform lists it valid.
    assert [h.colour for h in wallet.holdings(phone=rep.phone, password=PASSWORD,
                                             now=container.clock.now())
            if h.kind == "license"] == ["red"]
    listed = client.get(LICENSES, headers=rep.headers()).json()
    assert [(x["id"], x["state"], x["credential"]) for x in listed] == [(held.id, "valid", None)]
    seen = login(client, wallet, system, cast.company.uscc)
    assert seen["enterprise"] == {"uscc": cast.company.uscc, "name": cast.company.name}
    assert (seen["role"], seen["person_id"]) == ("legal_rep", rep.id)
    events = recent_events(uow=container.uow, limit=5)
    confirm = next(e for e in events if e.action == "scan_session:confirm")
    assert confirm.details["license"] == held.id and confirm.details["role"] == "legal_rep"
    assert any(e.action == "license:download" and e.outcome == "success"
               for e in recent_events(uow=container.uow, limit=20))


def test_a_login_without_a_license_is_a_natural_persons(
        client: TestClient, cast: Cast, system: dict[str, str], tmp_path: Path) -> None:
    wallet = wallet_of(client, cast.stranger, tmp_path / "w")
    seen = login(client, wallet, system, None)
    assert (seen["person_id"], seen["enterprise"], seen["role"]) == (cast.stranger.id, None, None)


def test_an_agents_license_before_the_window_is_held_not_used(
        client: TestClient, container: Container, clock: FixedClock, cast: Cast,
        system: dict[str, str], tmp_path: Path) -> None:
    rep, agent, now = cast.company.legal_rep, cast.agent, clock.now()
    granted(client, cast.company, rep, agent, scopes=["ecommerce.bidding"],
            starts_at=(now + timedelta(days=1)).isoformat(),
            ends_at=(now + timedelta(days=4)).isoformat())
    wallet = wallet_of(client, agent, tmp_path / "agent")
    liveness(client, agent, tiny_png())
    held = download(wallet, agent, cast.company.uscc)
    start, end = held.window()
    assert (start, end) == (now + timedelta(days=1), now + timedelta(days=4))
    assert client.get(LICENSES, headers=agent.headers()).json()[0]["state"] == "not_yet_valid"
    # The wallet will not use it...
    opened = open_session(client, system)
    request = wallet.read(opened["url"])
    wallet.scan(request, license_password=LICENSE_PASSWORD)
    with pytest.raises(WalletError) as early:
        wallet.confirm(request, license_password=LICENSE_PASSWORD, license=cast.company.uscc,
                       now=now)
    assert early.value.code == "wallet.license_unusable"
    # ...and neither will the platform, asked directly: the session ends refused, with why.
    with pytest.raises(WalletError) as refused:
        wallet.confirm(request, license_password=LICENSE_PASSWORD, license=cast.company.uscc,
                       now=now + timedelta(days=2))
    assert refused.value.code == "license.not_yet_valid"
    seen = result(client, opened).json()
    assert seen["state"] == "refused" and seen["outcome"].startswith("license.not_yet_valid")
    assert seen["person_id"] is None and seen["enterprise"] is None
    clock.advance(days=1, minutes=1)
    assert login(client, wallet, system, cast.company.uscc)["role"] == "agent"
    clock.advance(days=3)
    with pytest.raises(WalletError) as expired:
        login(client, wallet, system, cast.company.uscc)
    assert expired.value.code == "wallet.license_unusable"


def test_who_may_download_a_license(client: TestClient, container: Container, cast: Cast,
                                    tmp_path: Path) -> None:
    agent, linked = cast.agent, cast.linked
    wallet = wallet_of(client, agent, tmp_path / "agent")
    device = wallet.store.device_id()
    body = {"uscc": cast.company.uscc, "device_id": device}
    problem(post(client, LICENSES, agent, body), 403, "license.unverified")
    liveness(client, agent, tiny_png())
    refused = problem(post(client, LICENSES, agent, body), 403, "permission.denied")
    assert "none of your authorizations" in refused["detail"]
    other = wallet_of(client, linked, tmp_path / "linked")
    liveness(client, linked, tiny_png())
    problem(post(client, LICENSES, linked, {**body, "device_id": other.store.device_id()}), 403,
            "permission.denied")
    # Someone else's wallet, an unknown one, an unknown enterprise, a malformed body.
    problem(post(client, LICENSES, linked, body), 404, "device.not_found")
    problem(post(client, LICENSES, agent, {**body, "device_id": str(uuid.uuid4())}), 404,
            "device.not_found")
    problem(post(client, LICENSES, agent, {**body, "uscc": "91350100M000100Y43"}), 404,
            "enterprise.not_found")
    problem(post(client, LICENSES, agent, {**body, "extra": 1}), 422, "request.unknown_field")
    problem(post(client, LICENSES, agent, {"uscc": "x" * 19, "device_id": device}), 422,
            "request.invalid")
    stranger = TestClient(client.app, base_url="http://testserver")  # no session at all
    assert stranger.post(LICENSES, json=body).status_code == 401
    assert client.get(LICENSES, headers=agent.headers()).json() == []
    denied = [e for e in recent_events(uow=container.uow, limit=30)
              if e.action == "license:download" and e.outcome == "denied"]
    assert len(denied) >= 3


def test_a_license_ends_with_the_role_the_device_or_the_holder(
        client: TestClient, container: Container, clock: FixedClock, cast: Cast,
        system: dict[str, str], tmp_path: Path) -> None:
    rep, admin = cast.company.legal_rep, cast.admin
    wallet = wallet_of(client, admin, tmp_path / "admin")
    mine = wallet_of(client, rep, tmp_path / "rep")
    liveness(client, admin, tiny_png())
    download(wallet, admin, cast.company.uscc)
    assert login(client, wallet, system, cast.company.uscc)["role"] == "admin"
    liveness(client, rep, tiny_png())
    assert revoke_role(client, cast.company, rep, admin.id).status_code == 204
    with pytest.raises(WalletError) as ended:
        login(client, wallet, system, cast.company.uscc)
    assert ended.value.code == "license.role_ended"
    assert client.get(LICENSES, headers=admin.headers()).json()[0]["state"] == "role_ended"
    # The legal representative's license, given up by its holder, then a revoked device.
    held = download(mine, rep, cast.company.uscc)
    gone = post(client, f"{LICENSES}/{held.id}/revoke", rep)
    assert gone.status_code == 200 and gone.json()["state"] == "revoked"
    problem(post(client, f"{LICENSES}/{held.id}/revoke", rep), 409, "license.ended")
    problem(post(client, f"{LICENSES}/{held.id}/revoke", admin), 404, "license.not_found")
    with pytest.raises(WalletError) as revoked:
        login(client, mine, system, cast.company.uscc)
    assert revoked.value.code == "license.revoked"
    again = download(mine, rep, cast.company.uscc)
    assert post(client, f"{API}/me/devices/{mine.store.device_id()}/revoke",
                rep).status_code == 200
    states = {x["id"]: x["state"] for x in client.get(LICENSES, headers=rep.headers()).json()}
    assert states == {held.id: "revoked", again.id: "revoked"}


def test_the_signature_covers_the_license_and_only_logins_take_one(
        client: TestClient, cast: Cast, system: dict[str, str], tmp_path: Path) -> None:
    rep = cast.company.legal_rep
    wallet = wallet_of(client, rep, tmp_path / "rep")
    liveness(client, rep, tiny_png())
    held = download(wallet, rep, cast.company.uscc)
    # A device key's signature of a confirmation without a license, sent with one: refused.
    raw = new_wallet()
    assert raw.enroll(client, rep).status_code == 201
    opened = open_session(client, system)
    shown = view(client, opened["id"])
    assert raw.step(client, shown, "scan").status_code == 200
    swapped = client.post(f"{API}/scan-sessions/{opened['id']}/confirm", json={
        "device_id": raw.device_id, "signature": raw.signature(shown, "confirm"),
        "license_id": held.id})
    problem(swapped, 403, "scan.signature")
    # The license of another wallet (bound to another device key) is refused.
    message = b"\n".join([b"yunzhang-scan-v1", b"confirm", shown["id"].encode(),
                          shown["nonce"].encode(), raw.digest(shown).encode(),
                          b"license:" + held.id.encode()])
    other_device = client.post(f"{API}/scan-sessions/{opened['id']}/confirm", json={
        "device_id": raw.device_id, "license_id": held.id,
        "signature": b64(raw.key.sign(message, ec.ECDSA(hashes.SHA256())))})
    problem(other_device, 403, "license.other_device")
    assert result(client, opened).json()["state"] == "refused"
    # A stamp session is not confirmed with a license.
    stamp = open_session(client, system, action="stamp", documents=[DOC],
                         scope="ecommerce.bidding")
    request = wallet.read(stamp["url"])
    wallet.scan(request, license_password=LICENSE_PASSWORD)
    with pytest.raises(WalletError) as wrong:
        wallet.confirm(request, license_password=LICENSE_PASSWORD, license=cast.company.uscc)
    assert wrong.value.code == "scan.license"
    assert result(client, stamp).json()["state"] == "scanned"


def test_rotation_keeps_old_licenses_verifiable_until_they_expire(
        client: TestClient, container: Container, clock: FixedClock, cast: Cast,
        tmp_path: Path) -> None:
    c, rep = container, cast.company.legal_rep
    wallet = wallet_of(client, rep, tmp_path / "rep")
    liveness(client, rep, tiny_png())
    first = download(wallet, rep, cast.company.uscc)
    before = client.get(JWKS).json()["keys"]
    new = token_keys.rotate(TokenPurpose.LICENSE, caller=Caller.system(), uow=c.uow, keys=c.keys,
                            jose=c.jose, clock=c.clock, settings=c.settings)
    after = client.get(JWKS).json()["keys"]
    assert [k["kid"] for k in after] == [new.kid, before[0]["kid"]]
    assert all(k["kty"] == "EC" and k["alg"] == "ES256" and "d" not in k for k in after)
    second = download(wallet, rep, cast.company.uscc)
    assert jwt.decode(first.credential, JsonWebKey.import_key_set({"keys": after}))["jti"]
    assert jwt.decode(second.credential, JsonWebKey.import_key_set({"keys": after}))["jti"]
    with pytest.raises(BadSignatureError):  # the new key does not verify the old token
        jwt.decode(first.credential, JsonWebKey.import_key({**after[0]}))
    # Past the longest license's life the retired key leaves the set.
    clock.advance(days=c.settings.license_days, seconds=1)
    assert [k["kid"] for k in client.get(JWKS).json()["keys"]][-1] != before[0]["kid"]
    assert before[0]["kid"] not in [k["kid"] for k in client.get(JWKS).json()["keys"]]
    # A key older than the rotation period was replaced at the next use; it stays published.
    kids = [k["kid"] for k in client.get(JWKS).json()["keys"]]
    assert len(kids) == 2 and kids[1] == new.kid
    assert any(e.action == "token_key:rotate" for e in recent_events(uow=c.uow, limit=40))
