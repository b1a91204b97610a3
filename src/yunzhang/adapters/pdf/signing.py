"""PAdES signatures (ETSI EN 319 142) with pyHanko, signed through the KeyStore, with a visible
seal image, and a time-stamp from the platform TSA asked in-process.

pyHanko's one narrow seam, ``Signer.async_sign_raw``, is where the KeyStore signs; nothing else
of pyHanko's signing pipeline is changed here.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from asn1crypto import algos, tsp  # type: ignore[import-untyped]
from asn1crypto import x509 as ax
from PIL import Image
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.stamping import MM_TO_PT, PadesProfile, Placement
from yunzhang.errors import InvalidInput, SigningError
from yunzhang.services.ports import KeyStore


class KeyStoreSigner(signers.Signer):
    """A pyHanko signer whose private key is in the KeyStore (software or HSM)."""

    def __init__(self, keys: KeyStore, key_id: str, algorithm: KeyAlgorithm, certificate: bytes,
                 chain: list[bytes]) -> None:
        mechanism = algos.SignedDigestAlgorithm(
            {"algorithm": "sha256_ecdsa" if algorithm is KeyAlgorithm.EC_P256 else "sha256_rsa"})
        super().__init__(signature_mechanism=mechanism,
                         signing_cert=ax.Certificate.load(certificate),
                         cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                             [ax.Certificate.load(c) for c in chain]))
        self._keys, self._key_id = keys, key_id
        self._ecdsa = algorithm is KeyAlgorithm.EC_P256

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != "sha256":
            raise SigningError(f"the key store signs SHA-256, not {digest_algorithm}",
                               code="signing.digest")
        if dry_run:  # pyHanko sizes the signature container with a dummy signature
            return bytes(72 if self._ecdsa else 512)
        signature: bytes = self._keys.sign(self._key_id, data)
        return signature


class InProcessTimeStamper(TimeStamper):
    """Asks the platform TSA directly (no HTTP round trip to itself)."""

    def __init__(self, answer: Callable[[bytes], bytes]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._answer = answer

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return tsp.TimeStampResp.load(self._answer(req.dump()))


class PyHankoStamper:
    def __init__(self, keys: KeyStore, timestamp: Callable[[bytes], bytes]) -> None:
        self._keys = keys
        self._timestamper = InProcessTimeStamper(timestamp)

    def stamp(self, document: bytes, *, key_id: str, algorithm: KeyAlgorithm, certificate: bytes,
              chain: list[bytes], image_png: bytes, size_mm: tuple[float, float],
              placement: Placement, profile: PadesProfile, field_name: str) -> bytes:
        """The document with one more PAdES signature and the seal image at ``placement``."""
        try:
            reader = PdfFileReader(io.BytesIO(document), strict=False)
            if reader.encrypted:
                raise InvalidInput("the PDF is password-protected; remove the protection first",
                                   code="pdf.encrypted")
            pages = int(reader.root["/Pages"]["/Count"])
            if placement.page > pages:
                raise InvalidInput(f"page {placement.page} is out of range: the PDF has {pages}",
                                   code="stamp.page")
            height = _page_height(reader, placement.page - 1)
            writer = IncrementalPdfFileWriter(io.BytesIO(document), strict=False)
        except InvalidInput:
            raise
        except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise InvalidInput(f"not a readable PDF ({type(exc).__name__})",
                               code="pdf.unreadable") from None
        width_pt, height_pt = size_mm[0] * MM_TO_PT, size_mm[1] * MM_TO_PT
        left = placement.x_mm * MM_TO_PT
        top = height - placement.y_mm * MM_TO_PT
        box = (int(left), int(top - height_pt), int(left + width_pt), int(top))
        with Image.open(io.BytesIO(image_png)) as seal_image:
            seal_image.load()
            style = StaticStampStyle(background=PdfImage(seal_image), border_width=0,
                                     background_opacity=1.0)
        signer = KeyStoreSigner(self._keys, key_id, algorithm, certificate, chain)
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256")
        pdf_signer = signers.PdfSigner(
            metadata, signer=signer, stamp_style=style,
            timestamper=self._timestamper if profile is PadesProfile.B_T else None,
            new_field_spec=fields.SigFieldSpec(field_name, on_page=placement.page - 1, box=box))
        out = io.BytesIO()
        try:
            pdf_signer.sign_pdf(writer, output=out)
        except (PdfError, ValueError) as exc:
            raise SigningError(f"the PDF could not be signed ({type(exc).__name__}: {exc})",
                               code="signing.failed") from None
        return out.getvalue()


def _page_height(reader: PdfFileReader, index: int) -> float:
    ref, _ = reader.find_page_for_modification(index)  # type: ignore[no-untyped-call]
    page = ref.get_object()
    box = page.get("/MediaBox") or [0, 0, 595, 842]  # inherited boxes: A4 as the fallback
    return float(box[3]) - float(box[1])
