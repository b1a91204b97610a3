"""The signing engine beyond page-and-position: a seal anchored to a keyword of the text, a
cross-page seal (骑缝章) over every page's right edge, PAdES B-LT with the revocation data
embedded, and the external signer (a key on the person's phone signs the prepared bytes).
Every output is judged by poppler's pdfsig and qpdf, and by our verifier."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from fpdf import FPDF
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader

from tests.e2e.persons_support import limiter_on_test_clock  # noqa: F401
from tests.e2e.roles_support import Cast, cast, company  # noqa: F401
from tests.e2e.seals_support import active_seal, pki, reviewer  # noqa: F401
from tests.e2e.test_stamping import pdf, signatures_valid, stamp, tool
from tests.unit.x509_support import Spec, build
from yunzhang.bootstrap import Container
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import Profile
from yunzhang.domain.stamping import PadesProfile, Placement
from yunzhang.errors import InvalidInput, SigningError
from yunzhang.services import verification

FONT = "/usr/share/fonts/truetype/arphic/uming.ttc"  # fonts-arphic-uming (ensure-packages.sh)


def contract(pages: int = 3, keyword_page: int = 2) -> bytes:
    """A text PDF (fpdf2, the CJK font embedded with its ToUnicode map) with "盖章处" on one page."""
    if not Path(FONT).exists():
        pytest.fail("the CJK font is missing: run `bash scripts/ensure-packages.sh test`")
    doc = FPDF(format="A4")
    doc.add_font("uming", fname=FONT)
    doc.set_font("uming", size=14)
    for page in range(1, pages + 1):
        doc.add_page()
        doc.cell(text=f"采购合同 第 {page} 页")
        if page == keyword_page:
            doc.set_xy(120, 230)
            doc.cell(text="甲方（盖 章处）")
    return bytes(doc.output())


def red_pixels(path: Path, page: int, directory: Path) -> list[tuple[int, int]]:
    """Where the rendered page (72 dpi: one pixel per point) is seal-red."""
    prefix = directory / f"render-{page}"
    tool("pdftoppm", "-r", "72", "-f", str(page), "-l", str(page), "-png", str(path), str(prefix))
    [png] = list(directory.glob(f"render-{page}-*.png"))
    with Image.open(png) as rendered:
        rgb = rendered.convert("RGB")
        width, height = rgb.size
        pixels = rgb.load()
        assert pixels is not None
        return [(x, y) for y in range(height) for x in range(width)
                if (p := pixels[x, y])[0] > 180 and p[1] < 120 and p[2] < 120]  # type: ignore[index]


@pytest.fixture
def seal(client: TestClient, cast: Cast, reviewer: Any, pki: list[dict[str, Any]]) -> dict[str, Any]:
    return active_seal(client, cast.company, reviewer)


def test_a_seal_on_a_keyword_is_centred_on_it(container: Container, cast: Cast,
                                               seal: dict[str, Any], tmp_path: Path) -> None:
    signed = stamp(container, cast.company.legal_rep, seal, contract(),
                   placement=Placement(keyword="盖章处"), profile=PadesProfile.B_B)
    path = tmp_path / "keyword.pdf"
    path.write_bytes(signed)
    signatures_valid(path, 1)
    assert red_pixels(path, 1, tmp_path) == [] and red_pixels(path, 3, tmp_path) == []
    reds = red_pixels(path, 2, tmp_path)
    xs, ys = [x for x, _ in reds], [y for _, y in reds]
    # fpdf2 placed the text at 120 mm, 230 mm from the top-left; "盖章处" follows "甲方（".
    centre_x, centre_y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    assert 120 * 72 / 25.4 < centre_x < 175 * 72 / 25.4 and abs(centre_y - 234 * 72 / 25.4) < 15
    with pytest.raises(InvalidInput) as missing:
        stamp(container, cast.company.legal_rep, seal, contract(), placement=Placement(keyword="乙方签字"))
    assert missing.value.code == "stamp.keyword_not_found"
    with pytest.raises(InvalidInput) as later:  # searched from page 3 on: the keyword is on 2
        stamp(container, cast.company.legal_rep, seal, contract(),
              placement=Placement(page=3, keyword="盖章处"))
    assert later.value.code == "stamp.keyword_not_found" and "from page 3 on" in later.value.detail
    with pytest.raises(InvalidInput) as scanned:  # an image-only PDF has no text to search
        stamp(container, cast.company.legal_rep, seal, pdf(2), placement=Placement(keyword="盖章处"))
    assert "scanned page has no text" in scanned.value.detail


def test_a_cross_page_seal_spans_the_right_edge_of_every_page(
        container: Container, cast: Cast, seal: dict[str, Any], tmp_path: Path) -> None:
    document = contract(pages=4)
    # The cross-page seal first, then the signing seal: each later signature is a signature
    # field added, which pyHanko's difference policy accepts for the earlier one.
    first = stamp(container, cast.company.legal_rep, seal, document,
                  placement=Placement(y_mm=120, cross_page=True), profile=PadesProfile.B_B)
    signed = stamp(container, cast.company.legal_rep, seal, first, placement=Placement(1, 20, 30))
    path = tmp_path / "cross.pdf"
    path.write_bytes(signed)
    report = signatures_valid(path, 2)
    assert report.count("Total document signed") == 1  # the last signature covers everything
    page_width = round(210 * 72 / 25.4)
    strip = 42 * 72 / 25.4 / 4
    for page in (1, 2, 3, 4):
        reds = [(x, y) for x, y in red_pixels(path, page, tmp_path) if x > page_width / 2]
        assert reds, page
        assert min(x for x, _ in reds) >= page_width - strip - 2  # only the strip, at the edge
        assert max(x for x, _ in reds) >= page_width - 3
        ys = [y for _, y in reds]
        assert abs(min(ys) - 120 * 72 / 25.4) < 20
    # Each page carries its own locked, printable stamp annotation with its strip.
    reader = PdfFileReader(io.BytesIO(signed), strict=False)
    for index in range(4):
        annots = [a.get_object() for a in reader.root["/Pages"]["/Kids"][index]
                  .get_object()["/Annots"]]
        stamps = [a for a in annots if a["/Subtype"] == "/Stamp"]
        assert [(s["/NM"], int(s["/F"])) for s in stamps] == [(f"yunzhang-cross-page-{index + 1}", 132)]
    report_ours = verification.verify_document(signed, uow=container.uow,
                                               verifier=container.verifier, clock=container.clock,
                                               settings=container.settings)
    assert [(s.facts.intact, s.facts.valid, s.facts.trusted, s.facts.modified_after)
            for s in report_ours.signatures] == [(True, True, True, "form_filling"),
                                                  (True, True, True, "none")]
    # Strips added after an earlier signature are changes pyHanko's policy does not recognise:
    # the earlier signature's report says so (apply the cross-page seal first).
    late = stamp(container, cast.company.legal_rep, seal, first,
                 placement=Placement(y_mm=60, cross_page=True))
    [earlier, _] = verification.verify_document(
        late, uow=container.uow, verifier=container.verifier, clock=container.clock,
        settings=container.settings).signatures
    assert earlier.facts.modified_after.startswith("suspicious: The newly added annotations")
    with pytest.raises(InvalidInput) as single:
        stamp(container, cast.company.legal_rep, seal, contract(pages=1, keyword_page=1),
              placement=Placement(cross_page=True))
    assert single.value.code == "stamp.cross_page"
    with pytest.raises(InvalidInput) as both:
        Placement(keyword="盖章处", cross_page=True)
    assert both.value.code == "stamp.placement"


def test_b_lt_embeds_the_chain_and_the_crls(container: Container, cast: Cast,
                                            seal: dict[str, Any], tmp_path: Path) -> None:
    signed = stamp(container, cast.company.legal_rep, seal, pdf(1), profile=PadesProfile.B_LT)
    path = tmp_path / "blt.pdf"
    path.write_bytes(signed)
    signatures_valid(path, 1)
    reader = PdfFileReader(io.BytesIO(signed), strict=False)
    dss = reader.root["/DSS"]
    assert len(dss["/CRLs"]) >= 2 and len(dss["/Certs"]) >= 3  # org CA + root CRLs; the chain
    [embedded] = reader.embedded_signatures
    assert [a["type"].native for a in embedded.signer_info["unsigned_attrs"]] == [
        "signature_time_stamp_token"]
    report = verification.verify_document(signed, uow=container.uow, verifier=container.verifier,
                                          clock=container.clock, settings=container.settings)
    assert report.ok, report


def test_an_external_signer_signs_the_prepared_bytes(container: Container, tmp_path: Path,
                                                     pki: list[dict[str, Any]]) -> None:
    test_pki = build(KeyAlgorithm.EC_P256)
    phone = ec.generate_private_key(ec.SECP256R1())
    public = phone.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    subject = (("country_name", "CN"), ("common_name", "张三"))
    test_pki.add("phone", Spec(Profile.PERSON, "person-ca", subject, 0x5EED, 90), public, subject)
    chain = [test_pki.der["person-ca"], test_pki.root]
    handwriting = io.BytesIO()
    Image.new("RGBA", (300, 120), (0, 0, 0, 0)).save(handwriting, format="PNG")
    document = contract(pages=2, keyword_page=2)
    pending = container.pdf.prepare_external(
        document, certificate=test_pki.der["phone"], chain=chain, image_png=handwriting.getvalue(),
        size_mm=(30, 12), placement=Placement(keyword="盖章处"), field_name="person-signature")
    assert pending.prepared.startswith(document) and len(pending.to_sign) > 100
    # A signature over anything else is refused before any document is made.
    with pytest.raises(SigningError) as wrong:
        container.pdf.finish_external(pending, phone.sign(b"other", ec.ECDSA(hashes.SHA256())),
                                      timestamped=False)
    assert wrong.value.code == "signing.bad_signature"
    signature = phone.sign(pending.to_sign, ec.ECDSA(hashes.SHA256()))
    signed = container.pdf.finish_external(pending, signature, timestamped=True)
    path = tmp_path / "person.pdf"
    path.write_bytes(signed)
    report = signatures_valid(path, 1)
    assert "Signer Certificate Common Name: 张三" in report
    [embedded] = PdfFileReader(io.BytesIO(signed), strict=False).embedded_signatures
    assert [a["type"].native for a in embedded.signer_info["unsigned_attrs"]] == [
        "signature_time_stamp_token"]
    # One changed byte inside the signed range breaks it for pdfsig.
    tampered = bytearray(signed)
    tampered[len(document) - 20] ^= 0x01
    bad = tmp_path / "person-tampered.pdf"
    bad.write_bytes(bytes(tampered))
    assert "Signature is Valid" not in tool("pdfsig", str(bad)).stdout
