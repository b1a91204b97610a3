"""PAdES signatures (ETSI EN 319 142) with pyHanko: B-B, B-T with a time-stamp from the platform
TSA asked in-process, B-LT with the certificates and CRLs embedded; a visible seal placed by
page and position, on a keyword of the text, or cut across the right edge of every page (骑缝章).

Two signers behind pyHanko's one seam (``Signer``): the KeyStore signs for seals and the
enterprise certificate (``async_sign_raw``); for a key held elsewhere (a person's phone), the
document is prepared, the bytes to sign are handed out, and the signature made elsewhere is
embedded later (``prepare_external`` / ``finish_external``), the prepared state kept by the
caller in between.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from asn1crypto import algos, cms, tsp  # type: ignore[import-untyped]
from asn1crypto import x509 as ax
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import load_der_x509_certificate
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from yunzhang.adapters.pdf.fastpath import (
    CmsTemplate,
    FastPathUnsupported,
    SealAppearance,
    fast_stamp,
)
from yunzhang.adapters.pdf.text import find_keyword
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.stamping import MM_TO_PT, PadesProfile, Placement, PreparedSignature
from yunzhang.errors import InvalidInput, SigningError
from yunzhang.services.ports import Clock, KeyStore

_PDF_ERRORS = (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError)
_EXTERNAL_RESERVE = 16_384  # bytes of /Contents for a CMS signed elsewhere (plus time-stamp)


def _mechanism(algorithm: KeyAlgorithm) -> algos.SignedDigestAlgorithm:
    return algos.SignedDigestAlgorithm(
        {"algorithm": "sha256_ecdsa" if algorithm is KeyAlgorithm.EC_P256 else "sha256_rsa"})


def _registry(chain: Sequence[bytes]) -> SimpleCertificateStore:
    store: SimpleCertificateStore = SimpleCertificateStore.from_certs(
        [ax.Certificate.load(c) for c in chain])
    return store


class KeyStoreSigner(signers.Signer):
    """A pyHanko signer whose private key is in the KeyStore (software or HSM)."""

    def __init__(self, keys: KeyStore, key_id: str, algorithm: KeyAlgorithm, certificate: bytes,
                 chain: list[bytes]) -> None:
        super().__init__(signature_mechanism=_mechanism(algorithm),
                         signing_cert=ax.Certificate.load(certificate),
                         cert_registry=_registry(chain))
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
        super().__init__()
        self._answer = answer

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return tsp.TimeStampResp.load(self._answer(req.dump()))


@dataclass(frozen=True)
class _Layout:
    """What pyHanko is asked to do for a placement: the signature field's page and box (None:
    invisible), and the strips of a cross-page seal already added to the pages."""

    page_index: int
    box: tuple[int, int, int, int] | None


class PyHankoStamper:
    def __init__(self, keys: KeyStore, timestamp: Callable[[bytes], bytes],
                 clock: Clock | None = None) -> None:
        self._keys = keys
        self._answer = timestamp
        # B-LT validates the chain when it signs: at the platform's time, the one its CRLs and
        # time stamps are made at (without a clock, the machine's).
        self._clock = clock
        self._timestamper = InProcessTimeStamper(timestamp)

    def stamp(self, document: bytes, *, key_id: str, algorithm: KeyAlgorithm, certificate: bytes,
              chain: list[bytes], image_png: bytes, size_mm: tuple[float, float],
              placement: Placement, profile: PadesProfile, field_name: str,
              crls: Sequence[bytes] = ()) -> bytes:
        """The document with one more PAdES signature and the seal image at ``placement``."""
        out = io.BytesIO()
        self.stamp_stream(io.BytesIO(document), out, key_id=key_id, algorithm=algorithm,
                          certificate=certificate, chain=chain, image_png=image_png,
                          size_mm=size_mm, placement=placement, profile=profile,
                          field_name=field_name, crls=crls)
        return out.getvalue()

    def stamp_stream(self, source: BinaryIO, output: BinaryIO, *, key_id: str,
                     algorithm: KeyAlgorithm, certificate: bytes, chain: list[bytes],
                     image_png: bytes, size_mm: tuple[float, float], placement: Placement,
                     profile: PadesProfile, field_name: str, crls: Sequence[bytes] = ()) -> None:
        """The same from a seekable file to another, never holding the document in memory on
        the fast path (a 1 GB PDF is stamped in little memory: benchmarks/stamp.py). The fast
        path when it can; else pyHanko's general pipeline."""
        if profile is not PadesProfile.B_LT and not placement.cross_page:
            try:
                self._fast(source, output, key_id, certificate, chain, image_png, size_mm,
                           placement, profile, field_name)
                return
            except FastPathUnsupported:
                output.seek(0)
                output.truncate()  # pyHanko signs it, or names what is wrong with the document
        writer, layout, style = self._prepare(source, image_png, size_mm, placement)
        signer = KeyStoreSigner(self._keys, key_id, algorithm, certificate, chain)
        pdf_signer = self._pdf_signer(signer, layout, style, profile, field_name, chain, crls)
        try:
            pdf_signer.sign_pdf(writer, output=output)
        except (PdfError, ValueError) as exc:
            raise SigningError(f"the PDF could not be signed ({type(exc).__name__}: {exc})",
                               code="signing.failed") from None

    def prepare_external(self, document: bytes, *, certificate: bytes, chain: list[bytes],
                         image_png: bytes, size_mm: tuple[float, float], placement: Placement,
                         field_name: str) -> PreparedSignature:
        """The document made ready for a signature whose key is elsewhere: the CMS signed
        attributes to sign (``to_sign``, DER) and the state ``finish_external`` needs."""
        writer, layout, style = self._prepare(io.BytesIO(document), image_png, size_mm, placement)
        cert = ax.Certificate.load(certificate)
        signer = signers.ExternalSigner(cert, _registry(chain), signature_value=bytes(512),
                                        signature_mechanism=_public_mechanism(certificate))
        pdf_signer = self._pdf_signer(signer, layout, style, PadesProfile.B_B, field_name, chain, ())

        async def prepare() -> tuple[PreparedByteRangeDigest, bytes, bytes]:
            digest, _, output = await pdf_signer.async_digest_doc_for_signing(
                writer, bytes_reserved=_EXTERNAL_RESERVE)
            attrs = await signer.signed_attrs(digest.document_digest, "sha256", use_pades=True)
            output.seek(0)
            return digest, attrs.dump(), output.read()

        try:
            digest, to_sign, prepared = asyncio.run(prepare())
        except (PdfError, ValueError) as exc:
            raise SigningError(f"the PDF could not be prepared ({type(exc).__name__}: {exc})",
                               code="signing.failed") from None
        return PreparedSignature(prepared=prepared, to_sign=to_sign,
                                 document_digest=digest.document_digest,
                                 reserved_start=digest.reserved_region_start,
                                 reserved_end=digest.reserved_region_end,
                                 certificate=certificate, chain=tuple(chain))

    def finish_external(self, pending: PreparedSignature, signature: bytes, *,
                        timestamped: bool) -> bytes:
        """Embed ``signature`` (over ``pending.to_sign``, made by the certificate's key); it is
        checked first, so a wrong signature never produces a document."""
        _check_signature(pending.certificate, pending.to_sign, signature)
        signer = signers.ExternalSigner(
            ax.Certificate.load(pending.certificate), _registry(pending.chain),
            signature_value=signature, signature_mechanism=_public_mechanism(pending.certificate))
        digest = PreparedByteRangeDigest(document_digest=pending.document_digest,
                                         reserved_region_start=pending.reserved_start,
                                         reserved_region_end=pending.reserved_end)

        async def finish() -> bytes:
            attrs = cms.CMSAttributes.load(pending.to_sign)
            signed = await signer.async_sign_prescribed_attributes(
                "sha256", signed_attrs=attrs,
                timestamper=self._timestamper if timestamped else None)
            output = io.BytesIO(pending.prepared)
            await PdfTBSDocument.async_finish_signing(output, digest, signed)
            return output.getvalue()

        try:
            return asyncio.run(finish())
        except (PdfError, ValueError) as exc:
            raise SigningError(f"the signature could not be embedded ({type(exc).__name__}: "
                               f"{exc})", code="signing.failed") from None

    def _fast(self, source: BinaryIO, output: BinaryIO, key_id: str, certificate: bytes,
              chain: list[bytes], image_png: bytes, size_mm: tuple[float, float],
              placement: Placement, profile: PadesProfile, field_name: str) -> None:
        try:
            source.seek(0)
            reader = PdfFileReader(source, strict=False)
            if reader.encrypted:
                raise FastPathUnsupported("encrypted")
            pages = int(reader.root["/Pages"]["/Count"])
            if placement.page > pages:
                raise InvalidInput(f"page {placement.page} is out of range: the PDF has {pages}",
                                   code="stamp.page")
            index, box = _box(reader, source, placement, size_mm)
        except (InvalidInput, FastPathUnsupported):
            raise
        except _PDF_ERRORS:
            raise FastPathUnsupported("unreadable") from None
        fast_stamp(source, output, page_index=index, box=box,
                   appearance=SealAppearance.from_png(image_png), field_name=field_name,
                   cms=CmsTemplate.build(certificate, chain),
                   sign=lambda data: self._keys.sign(key_id, data),
                   timestamp=self._answer if profile is PadesProfile.B_T else None,
                   signing_time=datetime.now(UTC), reader=reader)

    # -- shared steps --------------------------------------------------------------------

    def _prepare(self, source: BinaryIO, image_png: bytes, size_mm: tuple[float, float],
                 placement: Placement) -> tuple[IncrementalPdfFileWriter, _Layout,
                                                StaticStampStyle | None]:
        try:
            source.seek(0)
            reader = PdfFileReader(source, strict=False)
            if reader.encrypted:
                raise InvalidInput("the PDF is password-protected; remove the protection first",
                                   code="pdf.encrypted")
            pages = int(reader.root["/Pages"]["/Count"])
            if placement.page > pages:
                raise InvalidInput(f"page {placement.page} is out of range: the PDF has {pages}",
                                   code="stamp.page")
            writer = IncrementalPdfFileWriter(source, strict=False)
            with Image.open(io.BytesIO(image_png)) as opened:
                opened.load()
                seal_image = opened.copy()
            width, height = size_mm[0] * MM_TO_PT, size_mm[1] * MM_TO_PT
            if placement.cross_page:
                if pages < 2:
                    raise InvalidInput("a cross-page seal (骑缝章) needs two pages or more",
                                       code="stamp.cross_page")
                _cross_page_strips(writer, seal_image, pages, (width, height), placement.y_mm)
                return writer, _Layout(pages - 1, None), None
            index, box = _box(reader, source, placement, size_mm)
        except InvalidInput:
            raise
        except _PDF_ERRORS as exc:
            raise InvalidInput(f"not a readable PDF ({type(exc).__name__})",
                               code="pdf.unreadable") from None
        style = StaticStampStyle(background=PdfImage(seal_image), border_width=0,
                                 background_opacity=1.0)
        whole = (int(round(box[0])), int(round(box[1])), int(round(box[2])), int(round(box[3])))
        return writer, _Layout(index, whole), style

    def _pdf_signer(self, signer: signers.Signer, layout: _Layout, style: StaticStampStyle | None,
                    profile: PadesProfile, field_name: str, chain: Sequence[bytes],
                    crls: Sequence[bytes]) -> signers.PdfSigner:
        long_term = profile is PadesProfile.B_LT
        context = None
        if long_term:
            # Everything a verifier needs later, embedded now (the document security store):
            # the chain to the platform root and the CAs' current CRLs; nothing is fetched.
            context = ValidationContext(
                trust_roots=[ax.Certificate.load(chain[-1])],
                other_certs=[ax.Certificate.load(c) for c in chain[:-1]],
                crls=list(crls), allow_fetching=False, revocation_mode="hard-fail",
                moment=self._clock.now() if self._clock is not None else None)
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256",
            embed_validation_info=long_term, validation_context=context)
        return signers.PdfSigner(
            metadata, signer=signer, stamp_style=style,
            timestamper=self._timestamper if profile is not PadesProfile.B_B else None,
            new_field_spec=fields.SigFieldSpec(field_name, on_page=layout.page_index,
                                               box=layout.box))


def _box(reader: PdfFileReader, source: BinaryIO, placement: Placement,
         size_mm: tuple[float, float]) -> tuple[int, tuple[float, float, float, float]]:
    """The page (from 0) and the seal's box in its user space, for a position or a keyword."""
    width, height = size_mm[0] * MM_TO_PT, size_mm[1] * MM_TO_PT
    if placement.keyword is not None:
        found = find_keyword(source, placement.keyword, first_page=placement.page - 1)
        cx, cy = found.centre
        return found.page_index, (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
    index = placement.page - 1
    _, page_height = _page_size(reader, index)
    left, top = placement.x_mm * MM_TO_PT, page_height - placement.y_mm * MM_TO_PT
    return index, (left, top - height, left + width, top)


def _page_size(reader: PdfFileReader, index: int) -> tuple[float, float]:
    ref, _ = reader.find_page_for_modification(index)
    box = _media_box(ref.get_object())
    return float(box[2]) - float(box[0]), float(box[3]) - float(box[1])


def _media_box(page: generic.DictionaryObject) -> list[float]:
    """The page's /MediaBox, inherited from the page tree when the page has none (ISO 32000-1
    §7.7.3.4); A4 when no node has one."""
    node: generic.DictionaryObject | None = page
    for _ in range(64):  # a page tree deeper than this is a loop
        if node is None:
            break
        if "/MediaBox" in node:
            return [float(v) for v in node["/MediaBox"]]
        parent = node["/Parent"] if "/Parent" in node else None  # [] resolves references
        node = parent if isinstance(parent, generic.DictionaryObject) else None
    return [0, 0, 595, 842]


def _cross_page_strips(writer: IncrementalPdfFileWriter, seal: Image.Image, pages: int,
                       size_pt: tuple[float, float], y_mm: float) -> None:
    """骑缝章: one image, one vertical strip of it per page on the page's right edge, as a locked
    print-only stamp annotation in the same revision the signature covers."""
    image = PdfImage(seal, writer=writer)
    image_ref = image.image_ref
    width, height = size_pt
    strip = width / pages
    for index in range(pages):
        page_ref, _ = writer.find_page_for_modification(index)
        page = page_ref.get_object()
        media = _media_box(page)
        right, top = float(media[2]), float(media[3])
        y = top - y_mm * MM_TO_PT - height
        content = (f"q {width:.4f} 0 0 {height:.4f} {-index * strip:.4f} 0 cm /Seal Do Q"
                   ).encode()
        form = generic.StreamObject({
            generic.NameObject("/Type"): generic.NameObject("/XObject"),
            generic.NameObject("/Subtype"): generic.NameObject("/Form"),
            generic.NameObject("/BBox"): generic.ArrayObject(
                [generic.FloatObject(0), generic.FloatObject(0), generic.FloatObject(strip),
                 generic.FloatObject(height)]),
            generic.NameObject("/Resources"): generic.DictionaryObject({
                generic.NameObject("/XObject"): generic.DictionaryObject(
                    {generic.NameObject("/Seal"): image_ref})}),
        }, stream_data=content)
        annotation = generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Stamp"),
            generic.NameObject("/Rect"): generic.ArrayObject(
                [generic.FloatObject(right - strip), generic.FloatObject(y),
                 generic.FloatObject(right), generic.FloatObject(y + height)]),
            generic.NameObject("/F"): generic.NumberObject(4 | 128),  # print, locked
            generic.NameObject("/P"): page_ref,
            generic.NameObject("/NM"): generic.TextStringObject(f"yunzhang-cross-page-{index + 1}"),
            generic.NameObject("/AP"): generic.DictionaryObject(
                {generic.NameObject("/N"): writer.add_object(form)}),
        })
        annotation_ref = writer.add_object(annotation)
        annots = page.get("/Annots")
        if isinstance(annots, generic.ArrayObject):
            annots.append(annotation_ref)
            holder = page.raw_get("/Annots")
            if isinstance(holder, generic.IndirectObject):
                writer.mark_update(holder)
        else:
            page[generic.NameObject("/Annots")] = generic.ArrayObject([annotation_ref])
        writer.update_container(page)


def _public_mechanism(certificate: bytes) -> algos.SignedDigestAlgorithm:
    key = load_der_x509_certificate(certificate).public_key()
    ecdsa = isinstance(key, ec.EllipticCurvePublicKey)
    return _mechanism(KeyAlgorithm.EC_P256 if ecdsa else KeyAlgorithm.RSA_2048)


def _check_signature(certificate: bytes, data: bytes, signature: bytes) -> None:
    key = load_der_x509_certificate(certificate).public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise SigningError("only EC P-256 and RSA signers are supported",
                               code="signing.algorithm")
    except InvalidSignature:
        raise SigningError("the signature does not match the prepared document and the signer's "
                           "certificate", code="signing.bad_signature") from None
