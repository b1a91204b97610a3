"""Benchmark of stamping: yunzhang's stamping engine against pyHanko's plain ``sign_pdf``
pipeline, in the same run, on the same 1-page and 50-page PDFs with the same seal image and key
(ECDSA P-256, PAdES B-B, visible seal). Run ``.venv/bin/python benchmarks/stamp.py``.

Output: per case, signatures per second on one thread (= per core) for each, and
``ratio Nx`` (yunzhang over pyHanko). The target of the signing issue is >= 10x (DESIGN.md:
pyHanko does about 28/s per core here); each output is also checked with poppler's pdfsig.

What is timed: the whole call, from the document's bytes to the stamped document's bytes, one
document after another. yunzhang signs through its software key store (key cached in memory
after the first use, as in a running server) and renders the seal image into the appearance for
every stamp, as pyHanko does.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from PIL import Image  # noqa: E402
from pyhanko.keys import load_private_key_from_pemder_data  # noqa: E402
from pyhanko.pdf_utils.images import PdfImage  # noqa: E402
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.sign import fields, signers  # noqa: E402
from pyhanko.stamp import StaticStampStyle  # noqa: E402
from pyhanko_certvalidator.registry import SimpleCertificateStore  # noqa: E402

from tests.keystores import software_store  # noqa: E402
from tests.unit.test_x509 import build  # noqa: E402
from asn1crypto import x509 as ax  # noqa: E402
from yunzhang.adapters.pdf.signing import PyHankoStamper  # noqa: E402
from yunzhang.adapters.seal_images import PillowSealArtist  # noqa: E402
from yunzhang.domain.keys import KeyAlgorithm  # noqa: E402
from yunzhang.domain.pki import CertificateRequest, Profile  # noqa: E402
from yunzhang.domain.seal_images import SealShape, SealSize, TemplateSpec  # noqa: E402
from yunzhang.domain.stamping import MM_TO_PT, PadesProfile, Placement  # noqa: E402

ANCHOR = "pyHanko's default pipeline: about 28/s per core here (DESIGN.md); target >= 10x"


def pdf(pages: int) -> bytes:
    out = io.BytesIO()
    sheets = [Image.new("RGB", (1240, 1754), "white") for _ in range(pages)]
    sheets[0].save(out, format="PDF", resolution=150, save_all=True, append_images=sheets[1:])
    return out.getvalue()


def rate(run: Callable[[], bytes], seconds: float = 3.0) -> tuple[float, bytes]:
    last = run()  # warm-up
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or count < 5:
        last = run()
        count += 1
    return count / (time.perf_counter() - started), last


def pdfsig_ok(data: bytes) -> bool:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        report = subprocess.run(["pdfsig", f.name], capture_output=True, text=True).stdout
    return "Signature is Valid." in report


def main() -> int:
    now = datetime.now(UTC)
    pki = build(KeyAlgorithm.EC_P256)
    store = software_store(Path(tempfile.mkdtemp(prefix="yunzhang-bench-stamp-")))
    key = store.generate(KeyAlgorithm.EC_P256, label="bench seal")
    cert = pki.factory.issue(CertificateRequest(
        profile=Profile.SEAL, subject=(("country_name", "CN"), ("common_name", "示范合同专用章")),
        public_key=key.public_key, serial=4242, not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=30), issuer_key_id=pki.ca_key,
        issuer_algorithm=KeyAlgorithm.EC_P256, issuer_certificate=pki.ca))
    image = PillowSealArtist(None, max_image_bytes=1 << 20, max_megapixels=10).render(
        TemplateSpec(SealShape.ROUND, SealSize.of(42), "上海云章示范科技有限公司", lower_text="合同专用章"))
    ours = PyHankoStamper(store, lambda request: b"")
    private = store._private(key.key_id)  # the same key, for pyHanko's own signer
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    plain_signer = signers.SimpleSigner(
        signing_cert=ax.Certificate.load(cert), signing_key=load_private_key_from_pemder_data(pem, None),
        cert_registry=SimpleCertificateStore.from_certs([ax.Certificate.load(pki.ca),
                                                         ax.Certificate.load(pki.root)]))
    size = 42 * MM_TO_PT
    box = (int(20 * MM_TO_PT), int(842 - 20 * MM_TO_PT - size), int(20 * MM_TO_PT + size),
           int(842 - 20 * MM_TO_PT))

    def plain(document: bytes) -> bytes:
        with Image.open(io.BytesIO(image.png)) as seal_image:
            seal_image.load()
            style = StaticStampStyle(background=PdfImage(seal_image), border_width=0)
        signer = signers.PdfSigner(
            signers.PdfSignatureMetadata(field_name="Seal", subfilter=fields.SigSeedSubFilter.PADES),
            signer=plain_signer, stamp_style=style,
            new_field_spec=fields.SigFieldSpec("Seal", on_page=0, box=box))
        out = io.BytesIO()
        signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(document), strict=False), output=out)
        return out.getvalue()

    def yunzhang(document: bytes) -> bytes:
        return ours.stamp(document, key_id=key.key_id, algorithm=KeyAlgorithm.EC_P256,
                          certificate=cert, chain=[pki.ca, pki.root], image_png=image.png,
                          size_mm=(42, 42), placement=Placement(1, 20, 20),
                          profile=PadesProfile.B_B, field_name="Seal")

    print(f"stamp benchmark: ECDSA P-256, PAdES B-B, visible 42 mm seal, one thread; {ANCHOR}")
    for pages in (1, 50):
        document = pdf(pages)
        theirs, their_out = rate(lambda: plain(document))
        mine, my_out = rate(lambda: yunzhang(document))
        print(f"{pages:>2}-page ({len(document):,} bytes): pyhanko {theirs:6.1f}/s "
              f"(pdfsig {'valid' if pdfsig_ok(their_out) else 'INVALID'}), yunzhang {mine:6.1f}/s "
              f"(pdfsig {'valid' if pdfsig_ok(my_out) else 'INVALID'}), ratio {mine / theirs:.2f}x")
    print("1 GB PDF: not measured yet (documents are held in memory; see docs/stamping.md)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
