"""Benchmark of stamping: yunzhang's stamping engine against pyHanko's plain ``sign_pdf``
pipeline, in the same run, on the same 1-page and 50-page PDFs with the same seal image and key
(ECDSA P-256, PAdES B-B, visible seal). Run ``.venv/bin/python benchmarks/stamp.py``
(``--no-large`` skips the 1 GB case).

Output: per case, signatures per second on one thread (= per core) for each, and
``ratio Nx`` (yunzhang over pyHanko). The target of the signing issue is >= 10x (DESIGN.md:
pyHanko does about 28/s per core here). The last output of each side is checked by the same
validators: poppler's pdfsig, qpdf --check and pyHanko's validation against the test root.

What is timed: the whole call, from the document's bytes to the stamped document's bytes, one
document after another. yunzhang signs through its software key store (key cached in memory
after the first use, as in a running server); its fast path encodes the seal image once per
image and the CMS constants once per certificate, which pyHanko's pipeline redoes every time.

Then a PDF of 1 GB is written to a temporary file and stamped from file to file in a child
process, which reports its time and its peak resident memory (target < 150 MB).
"""

from __future__ import annotations

import io
import os
import resource
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
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign.validation import validate_pdf_signature  # noqa: E402
from pyhanko_certvalidator import ValidationContext  # noqa: E402
from pyhanko.sign import fields, signers  # noqa: E402
from pyhanko.stamp import StaticStampStyle  # noqa: E402
from pyhanko_certvalidator.registry import SimpleCertificateStore  # noqa: E402

from tests.keystores import software_store  # noqa: E402
from tests.unit.x509_support import Pki, build  # noqa: E402
from yunzhang.adapters.keystore import SoftwareKeyStore  # noqa: E402
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


def validators(data: bytes, root: bytes) -> str:
    """What pdfsig, qpdf and pyHanko's validation say of the stamped document."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        report = subprocess.run(["pdfsig", f.name], capture_output=True, text=True).stdout
        check = subprocess.run(["qpdf", "--check", f.name], capture_output=True, text=True).stdout
    [signature] = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
    status = validate_pdf_signature(signature, ValidationContext(
        trust_roots=[ax.Certificate.load(root)], allow_fetching=False))
    verdicts = [
        "pdfsig valid" if "Signature is Valid." in report else "pdfsig INVALID",
        "qpdf ok" if "No syntax or stream encoding errors" in check else "qpdf ERRORS",
        "pyHanko intact+valid+trusted" if status.bottom_line else "pyHanko REFUSES",
    ]
    return ", ".join(verdicts)


def seal_key() -> tuple[Pki, SoftwareKeyStore, str, bytes]:
    """A test PKI, a software key store with a seal key, and the seal's certificate."""
    now = datetime.now(UTC)
    pki = build(KeyAlgorithm.EC_P256)
    store = software_store(Path(tempfile.mkdtemp(prefix="yunzhang-bench-stamp-")))
    key = store.generate(KeyAlgorithm.EC_P256, label="bench seal")
    cert = pki.factory.issue(CertificateRequest(
        profile=Profile.SEAL, subject=(("country_name", "CN"), ("common_name", "示范合同专用章")),
        public_key=key.public_key, serial=4242, not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=30), issuer_key_id=pki.ca_key,
        issuer_algorithm=KeyAlgorithm.EC_P256, issuer_certificate=pki.ca))
    return pki, store, key.key_id, cert


def main() -> int:
    pki, store, key_id, cert = seal_key()
    image = PillowSealArtist(None, max_image_bytes=1 << 20, max_megapixels=10).render(
        TemplateSpec(SealShape.ROUND, SealSize.of(42), "上海云章示范科技有限公司", lower_text="合同专用章"))
    ours = PyHankoStamper(store, lambda request: b"")
    private = store._private(key_id)  # the same key, for pyHanko's own signer
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
        return ours.stamp(document, key_id=key_id, algorithm=KeyAlgorithm.EC_P256,
                          certificate=cert, chain=[pki.ca, pki.root], image_png=image.png,
                          size_mm=(42, 42), placement=Placement(1, 20, 20),
                          profile=PadesProfile.B_B, field_name="Seal")

    print(f"stamp benchmark: ECDSA P-256, PAdES B-B, visible 42 mm seal, one thread; {ANCHOR}")
    for pages in (1, 50):
        document = pdf(pages)
        theirs, their_out = rate(lambda: plain(document))
        mine, my_out = rate(lambda: yunzhang(document))
        print(f"{pages:>2}-page ({len(document):,} bytes): pyhanko {theirs:6.1f}/s, "
              f"yunzhang {mine:7.1f}/s, ratio {mine / theirs:.2f}x")
        print(f"    pyhanko output: {validators(their_out, pki.root)}")
        print(f"    yunzhang output: {validators(my_out, pki.root)}")
    if "--no-large" not in sys.argv:
        large(image.png)
    return 0


def write_large_pdf(path: Path, total: int, image_bytes: int = 8 << 20) -> int:
    """A PDF of about ``total`` bytes, written without holding it: pages that each draw one
    large uncompressed greyscale image (random bytes, so nothing compresses it away)."""
    pages = max(1, total // image_bytes)
    side = int(image_bytes ** 0.5)
    block = os.urandom(1 << 20)
    offsets: dict[int, int] = {}
    with path.open("wb") as f:
        def start(number: int) -> None:
            offsets[number] = f.tell()
            f.write(b"%d 0 obj\n" % number)

        f.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        start(1)
        f.write(b"<</Type/Catalog/Pages 2 0 R>>\nendobj\n")
        start(2)
        kids = b" ".join(b"%d 0 R" % (3 + 3 * i) for i in range(pages))
        f.write(b"<</Type/Pages/Count %d/Kids[%s]>>\nendobj\n" % (pages, kids))
        draw = b"q 500 0 0 700 50 70 cm /Im Do Q"
        for i in range(pages):
            page, content, image = 3 + 3 * i, 4 + 3 * i, 5 + 3 * i
            start(page)
            f.write(b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents %d 0 R"
                    b"/Resources<</XObject<</Im %d 0 R>>>>>>\nendobj\n" % (content, image))
            start(content)
            f.write(b"<</Length %d>>\nstream\n%s\nendstream\nendobj\n" % (len(draw), draw))
            start(image)
            size = side * side
            f.write(b"<</Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceGray"
                    b"/BitsPerComponent 8/Length %d>>\nstream\n" % (side, side, size))
            for at in range(0, size, len(block)):
                f.write(block[:min(len(block), size - at)])
            f.write(b"\nendstream\nendobj\n")
        xref, count = f.tell(), 3 + 3 * pages
        f.write(b"xref\n0 %d\n0000000000 65535 f \n" % count)
        f.write(b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, count)))
        f.write(b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (count, xref))
    return pages


def large(seal_png: bytes) -> None:
    """The 1 GB case: written here, stamped in a child process (its peak memory is its own; the
    seal image, drawn here at 600 dpi, is handed over as a file)."""
    work = Path(tempfile.mkdtemp(prefix="yunzhang-bench-large-"))
    source, target, seal = work / "large.pdf", work / "large-stamped.pdf", work / "seal.png"
    try:
        seal.write_bytes(seal_png)
        pages = write_large_pdf(source, 1 << 30)
        child = subprocess.run([sys.executable, __file__, "--large-child", str(source), str(target),
                                str(seal)], capture_output=True, text=True)
        if child.returncode != 0:
            print(f"1 GB PDF: the child failed:\n{child.stderr[-2000:]}")
            return
        started = time.perf_counter()
        report = subprocess.run(["pdfsig", str(target)], capture_output=True, text=True).stdout
        checked = time.perf_counter() - started
        verdict = "pdfsig valid" if "Signature is Valid." in report else "pdfsig INVALID"
        print(f"1 GB PDF ({source.stat().st_size:,} bytes, {pages} pages): {child.stdout.strip()}; "
              f"output {verdict} (pdfsig took {checked:.1f} s); target peak < 150 MB")
    finally:
        for path in (source, target, seal):
            path.unlink(missing_ok=True)
        work.rmdir()


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not carried over from the
    parent across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def large_child(source: Path, target: Path, seal: Path) -> None:
    pki, store, key_id, cert = seal_key()
    stamper = PyHankoStamper(store, lambda request: b"")
    before = peak_memory_mb()
    started = time.perf_counter()
    with source.open("rb") as inf, target.open("wb+") as outf:
        stamper.stamp_stream(inf, outf, key_id=key_id, algorithm=KeyAlgorithm.EC_P256,
                             certificate=cert, chain=[pki.ca, pki.root],
                             image_png=seal.read_bytes(), size_mm=(42, 42),
                             placement=Placement(1, 20, 20), profile=PadesProfile.B_B,
                             field_name="Seal")
    took = time.perf_counter() - started
    peak = peak_memory_mb()
    print(f"stamped in {took:.1f} s, peak memory {peak:.0f} MB ({before:.0f} MB before stamping, "
          f"after imports and set-up)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--large-child":
        large_child(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
        raise SystemExit(0)
    raise SystemExit(main())
