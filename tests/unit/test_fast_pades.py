"""The fast path of stamping, on its own: its hand-written incremental updates and hand-assembled
CMS must satisfy every independent validator (pdfsig, qpdf, pyHanko's validation and difference
analysis, `openssl cms -verify`) on classic and cross-reference-stream files, forms, existing
annotations and earlier signatures; and it must decline what it does not handle."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms  # type: ignore[import-untyped]
from asn1crypto import x509 as ax
from PIL import Image, ImageDraw
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from tests.unit.x509_support import Pki, build, write_pem
from yunzhang.adapters.pdf.fastpath import (
    CmsTemplate,
    FastPathUnsupported,
    SealAppearance,
    fast_stamp,
)
from yunzhang.domain.keys import KeyAlgorithm

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def tool(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(args[0]) is None:
        pytest.fail(f"{args[0]} is missing: run `bash scripts/ensure-packages.sh test`")
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def seal_png() -> bytes:
    image = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, 390, 390), outline=(220, 20, 20, 255), width=24)
    draw.regular_polygon((200, 200, 70), 5, fill=(220, 20, 20, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pillow_pdf(pages: int) -> bytes:
    out = io.BytesIO()
    sheets = [Image.new("RGB", (620, 877), "white") for _ in range(pages)]
    sheets[0].save(out, format="PDF", resolution=75, save_all=True, append_images=sheets[1:])
    return out.getvalue()


@pytest.fixture(scope="module", params=[KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_2048],
                ids=lambda a: str(a.value))
def pki(request: pytest.FixtureRequest) -> Pki:
    return build(request.param)


def fast(pki: Pki, document: bytes, *, page: int = 0, name: str = "Seal-1",
         box: tuple[float, float, float, float] = (50, 600, 169, 719)) -> bytes:
    out = io.BytesIO()
    fast_stamp(io.BytesIO(document), out, page_index=page, box=box,
               appearance=SealAppearance.from_png(seal_png()), field_name=name,
               cms=CmsTemplate.build(pki.der["seal"], [pki.ca, pki.root]),
               sign=lambda data: pki.keys.sign(pki.key_ids["seal"], data), timestamp=None,
               signing_time=datetime.now(UTC))
    return out.getvalue()


def judged(pki: Pki, signed: bytes, tmp_path: Path, count: int) -> list[str]:
    """Every validator's verdict; returns pyHanko's modification level of each signature."""
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    report = tool("pdfsig", str(path)).stdout
    assert report.count("Signature Validation: Signature is Valid.") == count, report
    assert "No syntax or stream encoding errors" in tool("qpdf", "--check", str(path)).stdout
    levels = []
    for embedded in PdfFileReader(io.BytesIO(signed), strict=False).embedded_signatures:
        status = validate_pdf_signature(embedded, ValidationContext(
            trust_roots=[ax.Certificate.load(pki.root)], allow_fetching=False))
        assert status.intact and status.valid, status.pretty_print_details()
        diff = status.diff_result
        levels.append(getattr(getattr(diff, "modification_level", None), "name", repr(diff)))
    return levels


def qpdf_made(tmp_path: Path, *options: str) -> bytes:
    plain, made = tmp_path / "plain.pdf", tmp_path / "made.pdf"
    plain.write_bytes(pillow_pdf(3))
    done = tool("qpdf", *options, str(plain), str(made))
    assert done.returncode == 0, done.stderr
    return made.read_bytes()


@pytest.mark.parametrize("source", ["pillow-1", "pillow-5", "libreoffice.pdf", "latex.pdf",
                                    "form.pdf", "object-streams.pdf", "browser.pdf",
                                    "linearized", "linearized-object-streams"])
def test_a_fast_stamp_satisfies_every_validator(pki: Pki, tmp_path: Path, source: str) -> None:
    if source.startswith("linearized"):
        streams = ["--object-streams=generate"] if source.endswith("streams") else []
        document = qpdf_made(tmp_path, "--linearize", *streams)
        assert b"/Linearized" in document[:1024]
    elif source.startswith("pillow"):
        document = pillow_pdf(int(source.split("-")[1]))
    else:
        document = (CORPUS / source).read_bytes()
    signed = fast(pki, document)
    assert signed.startswith(document)
    assert judged(pki, signed, tmp_path, 1) == ["NONE"]
    # The update begins on a line of its own (Pillow's files end "%%EOF" with no end of line).
    assert re.match(rb"\r?\n?\d+ 0 obj\n", signed[len(document):]) and (
        document.endswith((b"\n", b"\r")) or signed[len(document):].startswith(b"\n"))
    xref_stream = not document[int(re.findall(rb"startxref\s+(\d+)", document)[-1]):].startswith(b"xref")
    update = signed[len(document):]
    assert (b"/Type/XRef" in update) is xref_stream  # the update keeps the file's kind of xref
    # OpenSSL checks the hand-assembled CMS over the signed byte ranges on its own.
    [embedded] = PdfFileReader(io.BytesIO(signed), strict=False).embedded_signatures
    start, first, second, rest = embedded.sig_object["/ByteRange"]
    (tmp_path / "content.bin").write_bytes(signed[start:start + first] + signed[second:second + rest])
    contents = embedded.sig_object.raw_get("/Contents")  # the ContentInfo, zero-padded
    (tmp_path / "cms.der").write_bytes(cms.ContentInfo.load(bytes(contents)).dump())
    root = write_pem(tmp_path / "root.pem", "CERTIFICATE", pki.root)
    done = tool("openssl", "cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "cms.der"),
                "-binary", "-content", str(tmp_path / "content.bin"), "-CAfile", str(root),
                "-purpose", "any", "-out", "/dev/null")
    assert done.returncode == 0 and "Verification successful" in done.stderr, done.stderr


def test_successive_signatures_mixing_both_pipelines(pki: Pki, tmp_path: Path) -> None:
    first = fast(pki, pillow_pdf(2), name="Seal-1")
    out = io.BytesIO()
    signer = signers.SimpleSigner.load(*_pem_key_and_cert(pki, tmp_path))
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(first), strict=False),
                     signers.PdfSignatureMetadata(field_name="Other",
                                                  subfilter=fields.SigSeedSubFilter.PADES),
                     signer=signer, new_field_spec=fields.SigFieldSpec(
                         "Other", on_page=1, box=(300, 100, 400, 200)), output=out)
    third = fast(pki, out.getvalue(), page=1, name="Seal-3", box=(60, 300, 179, 419))
    # Each later signature only adds a signature field: pyHanko's policy calls that form filling.
    assert judged(pki, third, tmp_path, 3) == ["FORM_FILLING", "FORM_FILLING", "NONE"]


def _pem_key_and_cert(pki: Pki, tmp_path: Path) -> tuple[str, str]:
    """pyHanko's own signer with its own key: an EC key and a self-signed certificate."""
    key, cert = tmp_path / "other.key", tmp_path / "other.crt"
    done = tool("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-days", "30", "-subj", "/CN=Other", "-keyout", str(key), "-out", str(cert))
    assert done.returncode == 0, done.stderr
    return str(key), str(cert)


def test_existing_annotations_and_an_indirect_acroform_are_kept(pki: Pki, tmp_path: Path) -> None:
    # LibreOffice's form has a direct AcroForm with NeedAppearances; pyHanko's writer makes the
    # signed-elsewhere file's AcroForm and the page's /Annots indirect objects.
    original = (CORPUS / "signed-elsewhere.pdf").read_bytes()
    before = PdfFileReader(io.BytesIO(original), strict=False)
    annots_before = len(before.root["/Pages"]["/Kids"][0]["/Annots"])
    signed = fast(pki, original)
    after = PdfFileReader(io.BytesIO(signed), strict=False)
    annots = after.root["/Pages"]["/Kids"][0]["/Annots"]
    assert len(annots) == annots_before + 1
    # Annotations stay indirect references (ISO 32000-1 §12.5.2), the old ones and the widget.
    assert all(isinstance(annots.raw_get(i), generic.IndirectObject) for i in range(len(annots)))
    assert len(after.root["/AcroForm"]["/Fields"]) == 2
    assert judged(pki, signed, tmp_path, 2) == ["FORM_FILLING", "NONE"]
    form = fast(pki, (CORPUS / "form.pdf").read_bytes())
    acro = PdfFileReader(io.BytesIO(form), strict=False).root["/AcroForm"]
    assert "/NeedAppearances" not in acro and int(acro["/SigFlags"]) == 3
    assert len(acro["/Fields"]) == 5


def test_what_the_fast_path_declines(pki: Pki, tmp_path: Path) -> None:
    plain, locked = tmp_path / "plain.pdf", tmp_path / "locked.pdf"
    plain.write_bytes(pillow_pdf(1))
    assert tool("qpdf", "--encrypt", "u", "o", "256", "--", str(plain), str(locked)).returncode == 0
    with pytest.raises(FastPathUnsupported, match="encrypted"):
        fast(pki, locked.read_bytes())
    once = fast(pki, pillow_pdf(1), name="Same")
    with pytest.raises(FastPathUnsupported, match="a field named Same exists"):
        fast(pki, once, name="Same")
    with pytest.raises(FastPathUnsupported, match="does not hold the page"):
        fast(pki, pillow_pdf(1), page=3)
    with pytest.raises(FastPathUnsupported):
        fast(pki, b"%PDF-1.7\nnot really\n")
    document = pillow_pdf(1)
    with pytest.raises(FastPathUnsupported, match="header"):
        fast(pki, b"junk" + document)
    # A startxref pyHanko must correct to read the file: the update would chain onto nothing.
    wrong = re.sub(rb"startxref\n(\d+)", lambda m: b"startxref\n%d" % (int(m[1]) - 7), document)
    with pytest.raises(FastPathUnsupported):
        fast(pki, wrong)
    # A certified document: pyHanko's pipeline applies the DocMDP rules, not the fast path.
    writer = IncrementalPdfFileWriter(io.BytesIO(document), strict=False)
    writer.root[generic.NameObject("/Perms")] = generic.DictionaryObject()
    writer.update_root()
    certified = io.BytesIO()
    writer.write(certified)
    with pytest.raises(FastPathUnsupported, match="certified"):
        fast(pki, certified.getvalue())


def test_the_template_reserves_room_and_the_der_parses(pki: Pki) -> None:
    template = CmsTemplate.build(pki.der["seal"], [pki.ca, pki.root])
    attributes = template.signed_attributes(bytes(range(32)))
    parsed = cms.CMSAttributes.load(attributes)
    assert {a["type"].native for a in parsed} == {
        "content_type", "message_digest", "signing_certificate_v2"}
    assert [a["values"][0].native for a in parsed
            if a["type"].native == "message_digest"] == [bytes(range(32))]
    members = [a.dump(force=True) for a in parsed]
    assert members == sorted(members)  # DER: a SET OF in ascending order of the encodings
    [certificate_id] = [a for a in parsed if a["type"].native == "signing_certificate_v2"][0][
        "values"][0]["certs"]
    assert certificate_id["cert_hash"].native == hashlib.sha256(pki.der["seal"]).digest()
    signature = pki.keys.sign(pki.key_ids["seal"], attributes)
    info = cms.ContentInfo.load(template.content_info(attributes, signature, None))
    signer = info["content"]["signer_infos"][0]
    assert signer["signature"].native == signature
    assert signer["signed_attrs"].dump()[1:] == attributes[1:]
    assert len(template.content_info(attributes, signature, None)) < template.reserve(False)
