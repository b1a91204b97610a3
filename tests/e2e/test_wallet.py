"""The reference wallet against the platform: the library enrols its device key and answers a
stamp session the business system opened (the screen then sees the person); a wrong license
password answers nothing; a platform whose digest does not match what it shows is not answered;
and the `yunzhang wallet` commands do the same against a real HTTP server."""

from __future__ import annotations

import os
from datetime import timedelta
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.e2e.persons_support import PASSWORD, limiter_on_test_clock  # noqa: F401
from tests.e2e.roles_support import Cast, cast, company, granted  # noqa: F401
from tests.e2e.test_pki_live import OPERATOR, server  # noqa: F401
from tests.e2e.test_scan_sessions_api import DOC, open_session, result
from tests.e2e.test_stamps_api import basic, register
from yunzhang.bootstrap import Container
from yunzhang.services.demo import DEMO_CLIENT_SECRET, DEMO_PASSWORD, seed_demo
from yunzhang.wallet import WalletClient, WalletError, WalletStore

FAST = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
LICENSE = "license-123"


@pytest.fixture
def system(client: TestClient) -> dict[str, str]:
    return register(client)


@pytest.fixture
def enrolled(client: TestClient, cast: Cast, tmp_path: Path) -> WalletClient:
    store = WalletStore(tmp_path / "wallet", kdf=FAST)
    store.create(client.app.state.container.settings.public_url, LICENSE)
    # The wallet has its own connection (and cookie jar), as a phone would.
    wallet = WalletClient(store, TestClient(client.app, base_url="http://testserver"))
    device = wallet.enroll(phone=cast.company.legal_rep.phone, password=PASSWORD,
                           license_password=LICENSE, name="张三的手机")
    assert store.device_id() == device
    return wallet


def test_the_wallet_answers_a_stamp_session(client: TestClient, cast: Cast,
                                            system: dict[str, str],
                                            enrolled: WalletClient) -> None:
    opened = open_session(client, system, action="stamp", documents=[DOC],
                          scope="ecommerce.bidding")
    request = enrolled.read(opened["url"])
    shown = "\n".join(request.lines())
    assert "某某公共资源交易平台 (bidding.portal)" in shown and DOC["sha256"] in shown
    assert f"binding code:    {opened['binding_code']}" in shown and "BidPortal/3.1" in shown
    assert enrolled.answer(request, "scan", license_password=LICENSE) == "scanned"
    assert enrolled.answer(request, "confirm", license_password=LICENSE) == "confirmed"
    assert result(client, opened).json()["person_id"] == cast.company.legal_rep.id
    with pytest.raises(WalletError) as used:
        enrolled.answer(request, "confirm", license_password=LICENSE)
    assert used.value.code == "scan.used"


def test_a_wrong_license_password_answers_nothing(client: TestClient, system: dict[str, str],
                                                  enrolled: WalletClient) -> None:
    opened = open_session(client, system)
    request = enrolled.read(opened["id"])
    for _ in range(5):
        with pytest.raises(WalletError) as wrong:
            enrolled.answer(request, "scan", license_password="not-it")
        assert wrong.value.code == "wallet.password"
    with pytest.raises(WalletError) as locked:
        enrolled.answer(request, "scan", license_password=LICENSE)
    assert locked.value.code == "wallet.locked"
    assert result(client, opened).json()["state"] == "pending"


def test_a_digest_that_does_not_match_what_is_shown_is_not_answered(tmp_path: Path) -> None:
    shown = {"id": "a" * 32, "business_system": "x", "business_system_name": "X", "action": "login",
             "subject": None, "documents": [], "scope": None, "binding_code": None, "nonce": "n",
             "requester_ip": None, "requester_agent": None, "created_at": "2026-11-22T08:00:00Z",
             "expires_at": "2026-11-22T08:02:00Z", "state": "pending", "digest": "0" * 64}
    lying = httpx.Client(base_url="http://platform.test", transport=httpx.MockTransport(
        lambda request: httpx.Response(200, json=shown)))
    store = WalletStore(tmp_path / "w", kdf=FAST)
    store.create("http://platform.test", LICENSE)
    with pytest.raises(WalletError) as refused:
        WalletClient(store, lying).read("http://platform.test/s/" + "a" * 32)
    assert refused.value.code == "wallet.digest"


def test_a_tampered_qr_url_is_not_opened(client: TestClient, system: dict[str, str],
                                         enrolled: WalletClient) -> None:
    opened = open_session(client, system)
    url, session_id = opened["url"], opened["id"]
    base = url.rsplit("/s/", 1)[0]
    for foreign in (url.replace("127.0.0.1", "127.0.0.2"), url.replace("http://", "https://"),
                    f"{base}/x/s/{session_id}", f"{url}?next=http://evil.example", f"{url}#x",
                    f"{base}/s/{session_id}/confirm", "javascript:alert(1)", f"{base}/s/short"):
        with pytest.raises(WalletError) as refused:
            enrolled.read(foreign)
        assert refused.value.code == "wallet.foreign_url", foreign
    altered = session_id[:-1] + ("A" if session_id[-1] != "A" else "B")
    with pytest.raises(WalletError) as unknown:
        enrolled.read(f"{base}/s/{altered}")
    assert unknown.value.code == "scan.not_found"
    assert enrolled.read(url).view["state"] == "pending"  # the real one still opens
    assert enrolled.read(session_id).view["id"] == session_id  # as does a bare id
    assert result(client, opened).json()["state"] == "pending"  # nothing was answered


def wallet_cli(directory: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("YUNZHANG_")}
    environment.update(env)
    done = subprocess.run([sys.executable, "-m", "yunzhang.cli.main", "wallet", *args,
                           "--dir", str(directory)], env=environment, capture_output=True,
                          text=True, timeout=120)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def test_the_wallet_commands_against_a_running_server(server: Container,  # noqa: F811
                                                      tmp_path: Path) -> None:
    c = server
    demo = seed_demo(caller=OPERATOR, uow=c.uow, keyring=c.keyring, passwords=c.passwords,
                     clock=c.clock, settings=c.settings, scopes=c.scopes, keys=c.keys,
                     factory=c.x509, artist=c.artist)
    base = c.settings.public_url
    directory = tmp_path / "wallet"
    secrets: dict[str, Any] = {"YUNZHANG_LICENSE_PASSWORD": LICENSE,
                               "YUNZHANG_PASSWORD": DEMO_PASSWORD}
    made = wallet_cli(directory, "init", "--server", base, **secrets)
    assert made.returncode == 0 and "wallet created" in made.stdout, made.stderr
    joined = wallet_cli(directory, "enroll", "--phone", demo.people[0].phone, **secrets)
    assert joined.returncode == 0 and "enrolled" in joined.stdout, joined.stderr
    http = httpx.Client(base_url=base, headers=basic(demo.client_id, DEMO_CLIENT_SECRET))
    opened = http.post("/api/v1/scan-sessions", json={"action": "login"}).json()
    answered = wallet_cli(directory, "scan", opened["url"], "--yes", **secrets)
    assert answered.returncode == 0, answered.stderr
    assert "示范招投标系统 demo bidding portal (demo.bidding)" in answered.stdout
    assert answered.stdout.strip().endswith("confirmed")
    seen = http.get(f"/api/v1/scan-sessions/{opened['id']}/result",
                    headers={"X-Poll-Token": opened["poll_token"]}).json()
    assert seen["state"] == "confirmed" and seen["person_id"] and seen["enterprise"] is None
    # With the enterprise's e-license in the wallet, the login is for the enterprise.
    took = wallet_cli(directory, "license", demo.uscc, "--phone", demo.people[0].phone, **secrets)
    assert took.returncode == 0 and "legal_rep" in took.stdout, took.stderr
    listed = wallet_cli(directory, "list", "--phone", demo.people[0].phone, **secrets)
    assert listed.stdout.splitlines()[0].startswith("license  red"), listed.stdout
    third = http.post("/api/v1/scan-sessions", json={"action": "login"}).json()
    answered = wallet_cli(directory, "scan", third["url"], "--yes", **secrets)
    assert answered.returncode == 0 and f"({demo.uscc}), legal_rep" in answered.stdout, \
        answered.stderr
    seen = http.get(f"/api/v1/scan-sessions/{third['id']}/result",
                    headers={"X-Poll-Token": third["poll_token"]}).json()
    assert (seen["enterprise"]["uscc"], seen["role"]) == (demo.uscc, "legal_rep")
    foreign = wallet_cli(directory, "license", "91350100M000100Y43", "--phone",
                         demo.people[0].phone, **secrets)
    assert foreign.returncode != 0 and foreign.stderr.strip().endswith("[enterprise.not_found]")
    assert "Traceback" not in foreign.stderr
    # A wrong license password: one line, its code, and the session left as it was.
    second = http.post("/api/v1/scan-sessions", json={"action": "login"}).json()
    wrong = wallet_cli(directory, "scan", second["url"], "--deny",
                       **{**secrets, "YUNZHANG_LICENSE_PASSWORD": "not-it"})
    assert wrong.returncode == 13 and wrong.stderr.strip().endswith("[wallet.password]")
    assert http.get(f"/api/v1/scan-sessions/{second['id']}/result",
                    headers={"X-Poll-Token": second["poll_token"]}).json()["state"] == "pending"


def test_the_wallet_lists_roles_grants_and_seals_red_or_grey(
        client: TestClient, container: Container, cast: Cast, tmp_path: Path) -> None:
    now = container.clock.now()
    rep, agent = cast.company.legal_rep, cast.agent
    granted(client, cast.company, rep, agent, scopes=["ecommerce.bidding"],
            ends_at=(now + timedelta(days=1)).isoformat())
    granted(client, cast.company, rep, agent, scopes=["hr.social_insurance"],
            starts_at=(now + timedelta(days=2)).isoformat(),
            ends_at=(now + timedelta(days=3)).isoformat())
    store = WalletStore(tmp_path / "w", kdf=FAST)
    store.create(client.app.state.container.settings.public_url, LICENSE)
    wallet = WalletClient(store, TestClient(client.app, base_url="http://testserver"))
    held = wallet.holdings(phone=agent.phone, password=PASSWORD, now=now)
    lines = [h.line() for h in held]
    assert [h.kind for h in held][0] == "role" and held[0].colour == "red"
    assert held[0].what == "agent" and cast.company.uscc in held[0].enterprise
    grants = {h.what.split()[0].rstrip(","): h for h in held if h.kind == "grant"}
    assert (grants["ecommerce.bidding"].colour, grants["ecommerce.bidding"].why) == ("red", "")
    assert (grants["hr.social_insurance"].colour,
            grants["hr.social_insurance"].why) == ("grey", "not yet valid"), lines
    later = wallet.holdings(phone=agent.phone, password=PASSWORD, now=now + timedelta(days=2, hours=1))
    assert [h.colour for h in later if h.kind == "grant"].count("red") == 1  # swapped over
    assert {h.why for h in later if h.kind == "grant"} == {"expired", ""}
    seals = [h for h in held if h.kind == "seal"]
    assert len(seals) == 2 and all(h.colour == "grey" for h in seals), lines  # never claimed
    with pytest.raises(WalletError) as wrong:
        wallet.holdings(phone=agent.phone, password="not-the-password")
    assert wrong.value.code == "auth.invalid_credentials"
