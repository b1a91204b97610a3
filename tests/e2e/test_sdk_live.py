"""The SDK's request client and webhook check against a running server (uvicorn, real HTTP): the
demo bidding system creates a stamp request with the SDK, shows the step's QR code, the
reference wallet confirms it, the SDK follows the scan by long polling, sees the request
completed and downloads the stamped PDF (pdfsig and qpdf judge it); the webhooks the server
sends verify with the SDK, and a changed body, a wrong secret or an old delivery do not. The
platform's refusals reach the business system as SdkError with the platform's code."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.test_pki_live import OPERATOR, server  # noqa: F401
from tests.e2e.test_requests_live import LEGAL_REP, ROOT, wallet
from tests.e2e.test_stamping import signatures_valid
from tests.e2e.test_wallet import LICENSE
from tests.e2e.test_webhooks_api import Receiver
from yunzhang.bootstrap import Container
from yunzhang.sdk import (
    Document,
    Placement,
    PlatformClient,
    ScanResult,
    SdkError,
    Step,
    verify_webhook,
)
from yunzhang.services import business_systems, webhooks
from yunzhang.services.demo import DEMO_CLIENT_SECRET, DEMO_USCC, seed_demo


def seeded(c: Container) -> None:
    seed_demo(caller=OPERATOR, uow=c.uow, keyring=c.keyring, passwords=c.passwords,
              clock=c.clock, settings=c.settings, scopes=c.scopes, keys=c.keys, factory=c.x509,
              artist=c.artist)


def test_a_stamp_request_through_the_sdk(server: Container, tmp_path: Path) -> None:  # noqa: F811
    c = server
    seeded(c)
    base = c.settings.public_url
    hooks = Receiver()
    hooks.up = True
    secret = business_systems.set_webhook("demo.bidding", hooks.url, caller=OPERATOR,
                                          uow=c.uow, keyring=c.keyring).webhook_secret
    assert secret is not None
    legal = wallet(base, tmp_path / "legal", LEGAL_REP)
    platform = PlatformClient(base, client_id="demo.bidding", client_secret=DEMO_CLIENT_SECRET)
    original = (ROOT / "examples" / "contract.pdf").read_bytes()
    made = platform.create_request(
        "采购合同", [Document("contract.pdf", original)],
        [Step.stamp(f"{DEMO_USCC}:contract", Placement(keyword="盖章处"))],
        scope="ecommerce.bidding", reference="PO-SDK-1")
    assert (made.status, made.done, made.total, made.reference) == ("open", 0, 1, "PO-SDK-1")
    assert made.steps[0].kind == "stamp" and not made.finished
    qr = platform.open_step(made.id)
    assert qr.url.startswith(f"{base}/s/") and qr.binding_code and qr.action == "stamp"
    assert qr.poll_token not in repr(qr)

    followed: list[ScanResult] = []
    screen = threading.Thread(target=lambda: followed.append(platform.scan_result(qr, wait=20)))
    screen.start()
    request = legal.read(qr.url)
    assert request.view["binding_code"] == qr.binding_code  # the screen and the wallet agree
    legal.scan(request, license_password=LICENSE)
    screen.join(timeout=30)
    assert followed and followed[0].state == "scanned" and not followed[0].decided
    assert legal.confirm(request, license_password=LICENSE) == "confirmed"
    # The business system stored only the id and the poll token.
    result = platform.scan_result(qr.id, poll_token=qr.poll_token)
    assert result.state == "confirmed" and result.decided and result.person_id

    done = platform.get_request(made.id)
    assert done.completed and done.finished and (done.done, done.total) == (1, 1)
    signed = platform.download(made.id, 1)
    assert signed.name == "contract.pdf" and signed.sha256 == done.documents[0].sha256
    assert signed.content.startswith(original)
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed.content)
    assert "合同专用章" in signatures_valid(path, 1)
    assert [d.content for d in platform.download_all(made.id)] == [signed.content]

    # The completion is announced; the SDK verifies what the server sent.
    report = webhooks.deliver_due_webhooks(uow=c.uow, sender=c.webhooks, clock=c.clock,
                                           keyring=c.keyring, settings=c.settings)
    assert report.delivered == 1
    headers, body = hooks.received[0]
    event = verify_webhook(secret, headers, body)
    assert event.type == "signing_request.completed" and event.data["id"] == str(made.id)
    assert event.data["reference"] == "PO-SDK-1"
    for bad_secret, bad_body, at, code in (
            (secret, body.replace(b"completed", b"declined"), None, "webhook.signature"),
            ("whsec_" + "QUFB" * 11, body, None, "webhook.signature"),
            (secret, body, c.clock.now() + timedelta(minutes=6), "webhook.stale")):
        with pytest.raises(SdkError) as caught:
            verify_webhook(bad_secret, headers, bad_body, now=at)
        assert caught.value.code == code
    hooks.stop()


def test_the_platforms_refusals_reach_the_business_system(server: Container) -> None:  # noqa: F811
    c = server
    seeded(c)
    base = c.settings.public_url
    wrong = PlatformClient(base, client_id="demo.bidding", client_secret="not-the-secret")
    with pytest.raises(SdkError) as caught:
        wrong.get_request("00000000-0000-4000-8000-000000000000")
    assert caught.value.status == 401 and caught.value.code == "client.auth"
    platform = PlatformClient(base, client_id="demo.bidding", client_secret=DEMO_CLIENT_SECRET)
    pdf = (ROOT / "examples" / "contract.pdf").read_bytes()
    cases = [
        (lambda: platform.get_request("00000000-0000-4000-8000-000000000000"), 404),
        (lambda: platform.create_request("t", [Document("a.pdf", pdf)],
                                         [Step.stamp(f"{DEMO_USCC}:finance")]), 404),
        (lambda: platform.create_request("t", [Document("a.pdf", pdf)],
                                         [Step.stamp(f"{DEMO_USCC}:contract")],
                                         scope="registration.establish"), 422),
        (lambda: platform.create_request("t", [Document("a.pdf", b"not a pdf at all")],
                                         [Step.stamp(f"{DEMO_USCC}:contract")]), 422),
    ]
    for call, status in cases:
        with pytest.raises(SdkError) as caught:
            call()
        assert caught.value.status == status, caught.value
        assert caught.value.code and caught.value.detail
    with pytest.raises(SdkError) as caught:
        Step().wire()
    assert caught.value.code == "request.step"
    # Only the holder of the poll token learns a session's result.
    session = platform.open_scan_session("login")
    with pytest.raises(SdkError) as caught:
        platform.scan_result(session.id, poll_token="a-guess")
    assert caught.value.status == 404
    assert platform.scan_result(session).state == "pending"
    # Another business system does not see this one's requests.
    made = platform.create_request("t", [Document("a.pdf", pdf)],
                                   [Step.stamp(f"{DEMO_USCC}:contract")])
    other = PlatformClient(base, client_id="demo.social-insurance",
                           client_secret="demo-social-insurance-client-secret-yunzhang-2026")
    with pytest.raises(SdkError) as caught:
        other.get_request(made.id)
    assert caught.value.status == 404
    assert platform.cancel_request(made.id).status == "cancelled"
    unreachable = PlatformClient("http://127.0.0.1:9", client_id="x", client_secret="y")
    with pytest.raises(SdkError) as caught:
        unreachable.get_request(made.id)
    assert caught.value.code == "platform.unreachable"
