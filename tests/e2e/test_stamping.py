"""用印 with a cloud seal: PAdES B-B and B-T signatures that poppler's pdfsig and qpdf accept,
one after another on the same document, refused for a suspended seal, an agent without a seal
grant, and documents that are not usable PDFs."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.e2e.persons_support import limiter_on_test_clock  # noqa: F401
from tests.e2e.roles_support import API, Cast, Person, cast, company, post  # noqa: F401
from tests.e2e.seals_support import active_seal, pki, reviewer  # noqa: F401
from yunzhang.adapters.clock import FixedClock
from yunzhang.bootstrap import Container
from yunzhang.domain.stamping import PadesProfile, Placement
from yunzhang.errors import Conflict, InvalidInput, PermissionDenied, YunzhangError
from yunzhang.services import stamping
from yunzhang.services.audit import recent_events
from yunzhang.services.context import Caller


def tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(name) is None:
        pytest.fail(f"{name} is missing: run `bash scripts/ensure-packages.sh test`")
    return subprocess.run([name, *args], capture_output=True, text=True, timeout=60)


def pdf(pages: int = 2) -> bytes:
    out = io.BytesIO()
    sheets = [Image.new("RGB", (1240, 1754), "white") for _ in range(pages)]
    sheets[0].save(out, format="PDF", resolution=150, save_all=True, append_images=sheets[1:])
    return out.getvalue()


def signatures_valid(path: Path, count: int) -> str:
    """pdfsig's report; every one of ``count`` signatures "Signature is Valid"."""
    report = tool("pdfsig", str(path)).stdout
    assert report.count("Signature Validation: Signature is Valid.") == count, report
    assert "No syntax or stream encoding errors" in tool("qpdf", "--check", str(path)).stdout
    return report


def stamp(container: Container, person: Person, seal: dict[str, Any], document: bytes,
          **kwargs: Any) -> bytes:
    output = io.BytesIO()
    stamping.stamp_document(
        stamping.StampDocument(uuid.UUID(person.id), uuid.UUID(seal["id"]), "bidding",
                               io.BytesIO(document), **kwargs),
        output=output, caller=Caller(actor=f"person:{person.id}"), uow=container.uow,
        stamper=container.pdf, clock=container.clock, settings=container.settings,
        factory=container.x509)
    return output.getvalue()


@pytest.fixture
def seal(client: TestClient, cast: Cast, reviewer: Person, pki: list[dict[str, Any]]) -> dict[str, Any]:
    return active_seal(client, cast.company, reviewer)


def test_successive_stamps_all_stay_valid(container: Container, cast: Cast, seal: dict[str, Any],
                                          tmp_path: Path) -> None:
    legal = cast.company.legal_rep
    first = stamp(container, legal, seal, pdf(), placement=Placement(2, 130, 220),
                  profile=PadesProfile.B_B)
    second = stamp(container, legal, seal, first, placement=Placement(1, 20, 30))
    path = tmp_path / "stamped.pdf"
    path.write_bytes(second)
    report = signatures_valid(path, 2)
    assert report.count(f"Signer Certificate Common Name: {seal['name']}") == 2
    assert "ETSI.CAdES.detached" in report and "Total document signed" in report
    # The seal image is on the pages where it was put (the rendered pixels are red there).
    tool("pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "page"))
    for page in (1, 2):
        with Image.open(tmp_path / f"page-{page}.png") as rendered:
            reds = [p for p in rendered.convert("RGB").get_flattened_data()
                    if p[0] > 180 and p[1] < 120 and p[2] < 120]
            assert len(reds) > 20, page
    events = [e for e in recent_events(uow=container.uow, limit=5) if e.action == "seal:use"]
    assert len(events) == 2 and events[0].details["business_system"] == "bidding"
    assert events[0].details["sha256_in"] == hashlib.sha256(first).hexdigest()
    # One changed byte after signing, in the header's binary comment that both signatures
    # cover (the file still parses): pdfsig finds neither valid any more.
    tampered = bytearray(second)
    assert tampered[:5] == b"%PDF-" and tampered[9] == ord("%")
    tampered[10] ^= 0x01
    bad = tmp_path / "tampered.pdf"
    bad.write_bytes(bytes(tampered))
    report = tool("pdfsig", str(bad)).stdout
    assert report.count("Signature #") == 2 and "Signature is Valid" not in report, report


def test_b_t_carries_the_platform_time_stamp(container: Container, cast: Cast,
                                            seal: dict[str, Any], tmp_path: Path) -> None:
    from asn1crypto import cms  # type: ignore[import-untyped]
    from pyhanko.pdf_utils.reader import PdfFileReader

    signed = stamp(container, cast.company.legal_rep, seal, pdf(1))
    path = tmp_path / "bt.pdf"
    path.write_bytes(signed)
    signatures_valid(path, 1)
    [embedded] = PdfFileReader(io.BytesIO(signed), strict=False).embedded_signatures
    unsigned = embedded.signer_info["unsigned_attrs"]
    kinds = [attr["type"].native for attr in unsigned]
    assert kinds == ["signature_time_stamp_token"]
    token = unsigned[0]["values"][0]
    assert isinstance(token, cms.ContentInfo)
    tst = token["content"]["encap_content_info"]["content"].parsed
    assert tst["gen_time"].native == container.clock.now()


def test_refusals(client: TestClient, container: Container, cast: Cast, seal: dict[str, Any]) -> None:
    legal = cast.company.legal_rep
    cases: list[tuple[Any, bytes, dict[str, Any], type[YunzhangError], str]] = [
        (legal, b"%PDF-1.4 not really", {}, InvalidInput, "pdf.unreadable"),
        (legal, "合同".encode(), {}, InvalidInput, "pdf.unreadable"),
        (legal, pdf(1), {"placement": Placement(3)}, InvalidInput, "stamp.page"),
        (cast.agent, pdf(1), {}, PermissionDenied, "permission.denied"),
    ]
    for person, document, kwargs, error, code in cases:
        with pytest.raises(error) as refused:
            stamp(container, person, seal, document, **kwargs)
        assert refused.value.code == code
    assert post(client, f"{API}/seals/{seal['id']}/suspend", legal,
                {"reason": "印章遗失"}).status_code == 200
    with pytest.raises(Conflict) as suspended:
        stamp(container, legal, seal, pdf(1))
    assert suspended.value.code == "seal.not_usable"


def test_a_password_protected_pdf_is_refused(container: Container, cast: Cast,
                                             seal: dict[str, Any], tmp_path: Path) -> None:
    plain, locked = tmp_path / "plain.pdf", tmp_path / "locked.pdf"
    plain.write_bytes(pdf(1))
    done = tool("qpdf", "--encrypt", "user", "owner", "256", "--", str(plain), str(locked))
    assert done.returncode == 0, done.stderr
    with pytest.raises(InvalidInput) as refused:
        stamp(container, cast.company.legal_rep, seal, locked.read_bytes())
    assert refused.value.code == "pdf.encrypted"


# --- 验章: verification ------------------------------------------------------------------------

def verify(client: TestClient, document: bytes) -> dict[str, Any]:
    answer = client.post(f"{API}/verify", content=document,
                         headers={"content-type": "application/pdf"})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_verification_names_the_seal_and_catches_changes(
        client: TestClient, container: Container, cast: Cast, seal: dict[str, Any],
        clock: FixedClock) -> None:
    signed = stamp(container, cast.company.legal_rep, seal, pdf(1))
    report = verify(client, signed)
    assert report["ok"] is True
    [one] = report["signatures"]
    assert (one["kind"], one["signer"], one["uscc"], one["seal_id"], one["seal_type"]) == (
        "seal", seal["name"], cast.company.uscc, seal["id"], "contract")
    assert (one["intact"], one["valid"], one["trusted"], one["revocation"],
            one["modified_after"]) == (True, True, True, "good", "none")
    assert one["timestamp_time"].startswith("2026-11-22T08:00:00")

    tampered = bytearray(signed)
    tampered[10] ^= 0x01
    changed = verify(client, bytes(tampered))
    assert changed["ok"] is False and changed["signatures"][0]["intact"] is False
    assert verify(client, pdf(1)) == {"ok": False, "signatures": []}

    # Revoked after it was used: the time stamp proves the stamp came first.
    clock.advance(minutes=1)
    assert post(client, f"{API}/seals/{seal['id']}/revoke", cast.company.legal_rep,
                {"reason": "企业注销"}).status_code == 200
    later = verify(client, signed)["signatures"][0]
    assert later["revocation"] == "revoked_after_signing" and later["ok"] is True


def test_a_signature_not_issued_here_is_not_trusted(client: TestClient, tmp_path: Path,
                                                    pki: list[dict[str, Any]]) -> None:
    from tests.fakes import MemoryKeyStore
    from tests.unit.test_x509 import build
    from yunzhang.adapters.pdf.signing import PyHankoStamper
    from yunzhang.adapters.seal_images import PillowSealArtist
    from yunzhang.domain.keys import KeyAlgorithm
    from yunzhang.domain.seal_images import SealShape, SealSize, TemplateSpec

    other = build(KeyAlgorithm.EC_P256)  # someone else's CA
    assert isinstance(other.keys, MemoryKeyStore)
    image = PillowSealArtist(None, max_image_bytes=1024, max_megapixels=1).render(
        TemplateSpec(SealShape.ROUND, SealSize.of(40), "别处的公司"))
    foreign = PyHankoStamper(other.keys, lambda request: b"").stamp(
        pdf(1), key_id=other.ca_key, algorithm=KeyAlgorithm.EC_P256, certificate=other.ca,
        chain=[other.root], image_png=image.png, size_mm=(40, 40), placement=Placement(),
        profile=PadesProfile.B_B, field_name="elsewhere")
    [one] = verify(client, foreign)["signatures"]
    assert (one["intact"], one["valid"], one["trusted"], one["kind"], one["ok"]) == (
        True, True, False, "other", False)


def test_the_public_page_and_bad_uploads(client: TestClient, container: Container, cast: Cast,
                                         seal: dict[str, Any]) -> None:
    page = client.get("/verify")
    assert page.status_code == 200 and "验章" in page.text and 'type="file"' in page.text
    signed = stamp(container, cast.company.legal_rep, seal, pdf(1))
    shown = client.post("/verify", files={"file": ("contract.pdf", signed, "application/pdf")})
    assert shown.status_code == 200 and "全部签章有效" in shown.text and seal["name"] in shown.text
    not_pdf = client.post(f"{API}/verify", content=b"hello", headers={"content-type": "application/pdf"})
    assert not_pdf.status_code == 422 and not_pdf.json()["code"] == "pdf.unreadable"
    wrong = client.post(f"{API}/verify", content=signed, headers={"content-type": "text/plain"})
    assert wrong.status_code == 415 and wrong.json()["code"] == "verify.media_type"
    huge = client.post(f"{API}/verify", content=b"%PDF" + b"0" * (container.settings.max_document_bytes + 70_000),
                       headers={"content-type": "application/pdf"})
    assert huge.status_code == 413
