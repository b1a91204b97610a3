"""The fast path of stamping: one visible PAdES B-B/B-T signature at a page position, written as an
incremental update by hand, for the common document (no encryption, no hybrid cross-reference).

pyHanko's general pipeline spends most of its time building the CMS twice with asn1crypto (once
to size it), re-encoding the seal image and writing through its object model. Here the seal's
image XObject is encoded once per image and size, the constant parts of the CMS SignedData
(RFC 5652) are built once per certificate, and per document only the message digest, the
signature value and (B-T) the time-stamp token are put together as DER. The original bytes are
copied to the output in chunks and hashed on the way, so a 1 GB document takes little memory.
pyHanko still reads the document's structure (trailer, page tree, AcroForm), and anything this
path does not handle raises ``FastPathUnsupported`` for the caller to fall back to pyHanko.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import BinaryIO

from asn1crypto import tsp  # type: ignore[import-untyped]
from asn1crypto import x509 as ax
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.xref import XRefSectionType

CHUNK = 1 << 20
_TIMESTAMP_RESERVE = 8192  # bytes for a time-stamp token (ours are about 3 KiB with the chain)


class FastPathUnsupported(Exception):
    """The document needs pyHanko's general pipeline; the message says why."""


# --- DER, by hand (ITU-T X.690) -----------------------------------------------------------------

def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, *content: bytes) -> bytes:
    body = b"".join(content)
    return bytes([tag]) + _len(len(body)) + body


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _int(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)
    return _tlv(0x02, body)


SEQ, SET, OCTETS = 0x30, 0x31, 0x04
_SHA256 = _tlv(SEQ, _oid("2.16.840.1.101.3.4.2.1"))
_ID_DATA = _oid("1.2.840.113549.1.7.1")
_SIGNATURE_ALGORITHMS = {
    "ecdsa": _tlv(SEQ, _oid("1.2.840.10045.4.3.2")),
    "rsa": _tlv(SEQ, _oid("1.2.840.113549.1.1.11"), b"\x05\x00"),
}


# --- the CMS template --------------------------------------------------------------------------

@dataclass(frozen=True)
class CmsTemplate:
    """The constant parts of a PAdES B-B SignedData for one signing certificate (ETSI EN 319 122-1:
    content-type, message-digest and signing-certificate-v2 signed attributes; no signing-time,
    the time is the signature dictionary's /M)."""

    algorithm: str  # "ecdsa" or "rsa"
    max_signature: int
    certificates: bytes  # [0] IMPLICIT SET OF Certificate
    signer_id: bytes  # SignerInfo version + issuerAndSerialNumber + digestAlgorithm
    fixed_attributes: tuple[bytes, ...]  # content-type, signing-certificate-v2

    @classmethod
    def build(cls, certificate: bytes, chain: Sequence[bytes]) -> CmsTemplate:
        return _template(certificate, tuple(chain))

    def signed_attributes(self, digest: bytes) -> bytes:
        """The DER SET OF Attribute that is signed (DER sorts the SET's members)."""
        message_digest = _tlv(SEQ, _oid("1.2.840.113549.1.9.4"), _tlv(SET, _tlv(OCTETS, digest)))
        return _tlv(SET, *sorted((*self.fixed_attributes, message_digest)))

    def content_info(self, signed_attributes: bytes, signature: bytes,
                     timestamp_token: bytes | None) -> bytes:
        unsigned = b""
        if timestamp_token is not None:
            attribute = _tlv(SEQ, _oid("1.2.840.113549.1.9.16.2.14"), _tlv(SET, timestamp_token))
            unsigned = _tlv(0xA1, attribute)
        signer_info = _tlv(SEQ, self.signer_id, b"\xa0" + signed_attributes[1:],
                           _SIGNATURE_ALGORITHMS[self.algorithm], _tlv(OCTETS, signature),
                           unsigned)
        signed_data = _tlv(SEQ, _int(1), _tlv(SET, _SHA256), _tlv(SEQ, _ID_DATA),
                           self.certificates, _tlv(SET, signer_info))
        return _tlv(SEQ, _oid("1.2.840.113549.1.7.2"), _tlv(0xA0, signed_data))

    def reserve(self, timestamped: bool) -> int:
        """Bytes of /Contents that always hold the ContentInfo."""
        bare = len(self.content_info(self.signed_attributes(bytes(32)),
                                     bytes(self.max_signature), None))
        return bare + 64 + (_TIMESTAMP_RESERVE if timestamped else 0)


@lru_cache(maxsize=64)
def _template(certificate: bytes, chain: tuple[bytes, ...]) -> CmsTemplate:
    cert = ax.Certificate.load(certificate)
    key = cert.public_key
    algorithm = "ecdsa" if key.algorithm == "ec" else "rsa"
    max_signature = 72 if algorithm == "ecdsa" else key.byte_size
    issuer_serial = _tlv(SEQ, cert.issuer.dump(), _int(cert.serial_number))
    signer_id = _int(1) + issuer_serial + _SHA256
    # ESS signing-certificate-v2 (RFC 5035): SHA-256 (the default, so omitted) of the
    # certificate, with its issuer as a GeneralName directoryName [4] and serial number.
    general_names = _tlv(SEQ, _tlv(0xA4, cert.issuer.dump()))
    cert_id = _tlv(SEQ, _tlv(OCTETS, hashlib.sha256(certificate).digest()),
                   _tlv(SEQ, general_names, _int(cert.serial_number)))
    signing_certificate = _tlv(SEQ, _oid("1.2.840.113549.1.9.16.2.47"),
                               _tlv(SET, _tlv(SEQ, _tlv(SEQ, cert_id))))
    content_type = _tlv(SEQ, _oid("1.2.840.113549.1.9.3"), _tlv(SET, _ID_DATA))
    certificates = _tlv(0xA0, certificate, *chain)
    return CmsTemplate(algorithm, max_signature, certificates, signer_id,
                       (content_type, signing_certificate))


# --- the seal's appearance ---------------------------------------------------------------------

@dataclass(frozen=True)
class SealAppearance:
    """The seal image as PDF image XObjects (RGB and its alpha as a soft mask), encoded once."""

    width_px: int
    height_px: int
    rgb: bytes  # Flate-compressed
    alpha: bytes | None

    @classmethod
    def from_png(cls, png: bytes) -> SealAppearance:
        return _appearance(hashlib.sha256(png).digest(), png)


@lru_cache(maxsize=32)
def _appearance(_digest: bytes, png: bytes) -> SealAppearance:
    with Image.open(io.BytesIO(png)) as opened:
        image = opened.convert("RGBA")
    alpha = image.getchannel("A")
    opaque = alpha.getextrema() == (255, 255)
    return SealAppearance(image.width, image.height, zlib.compress(image.convert("RGB").tobytes(), 6),
                          None if opaque else zlib.compress(alpha.tobytes(), 6))


# --- the incremental update --------------------------------------------------------------------

@dataclass
class _Update:
    """Objects of the update, numbered from the document's /Size, serialized as they are added."""

    next_number: int
    body: bytearray
    offsets: dict[int, int]  # object number -> offset within the body

    def add(self, serialized: bytes, number: int | None = None) -> int:
        if number is None:
            number, self.next_number = self.next_number, self.next_number + 1
        self.offsets[number] = len(self.body)
        self.body += b"%d 0 obj\n" % number + serialized + b"\nendobj\n"
        return number


def _serialize(obj: generic.PdfObject) -> bytes:
    out = io.BytesIO()
    obj.write_to_stream(out)
    return out.getvalue()


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<<" + dictionary + b"/Length %d>>\nstream\n" % len(data) + data + b"\nendstream"


def _pdf_string(text: str) -> bytes:
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def _page_ref(reader: PdfFileReader, index: int) -> generic.IndirectObject:
    """The page's reference, walking only the Pages nodes on the way (by their /Count)."""
    node = reader.root.raw_get("/Pages")
    while True:
        kids = node.get_object()["/Kids"]
        for i in range(len(kids)):
            kid_ref = kids.raw_get(i)
            kid = kid_ref.get_object()
            if kid.get("/Type") == "/Pages":
                count = int(kid["/Count"])
                if index < count:
                    node = kid_ref
                    break
                index -= count
            elif index == 0:
                if not isinstance(kid_ref, generic.IndirectObject):
                    raise FastPathUnsupported("a page that is not an indirect object")
                return kid_ref
            else:
                index -= 1
        else:
            raise FastPathUnsupported("the page tree does not hold the page")


def fast_stamp(source: BinaryIO, output: BinaryIO, *, page_index: int,
               box: tuple[float, float, float, float], appearance: SealAppearance,
               field_name: str, cms: CmsTemplate, sign: Callable[[bytes], bytes],
               timestamp: Callable[[bytes], bytes] | None, signing_time: datetime,
               reader: PdfFileReader | None = None) -> None:
    """Copy ``source`` to ``output`` and append one signed incremental update. ``box`` is in PDF
    user space of the page; ``sign`` signs the DER signed attributes; ``timestamp`` answers an
    RFC 3161 request (DER) with a response (DER), for B-T. ``reader``, when given, is pyHanko's
    reader of ``source`` already made by the caller."""
    try:
        source.seek(0)
        if source.read(5) != b"%PDF-":
            raise FastPathUnsupported("the file does not start with a PDF header")
        reader = reader or PdfFileReader(source, strict=False)
        if reader.encrypted or "/Encrypt" in reader.trailer_view:
            raise FastPathUnsupported("encrypted")
        xref_stream = _sound_xrefs(reader, source)
        trailer = reader.trailer_view
        size = int(trailer["/Size"])
        page_ref = _page_ref(reader, page_index)
        page = page_ref.get_object()
        root_ref = reader.root_ref
        root = reader.root
        if "/Perms" in root:
            raise FastPathUnsupported("certified (/Perms): pyHanko applies the DocMDP rules")
        previous = reader.last_startxref
        if previous is None:
            raise FastPathUnsupported("no startxref")
        if page_ref.generation or root_ref.generation:
            raise FastPathUnsupported("objects of a generation other than 0")
        # The update starts on a line of its own: after "%%EOF" with no end of line, an object
        # header would sit inside the comment.
        source.seek(-1, io.SEEK_END)
        update = _Update(size, bytearray(b"" if source.read(1) in b"\r\n" else b"\n"), {})
        plan = _plan_form(reader, root, field_name)
    except FastPathUnsupported:
        raise
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise FastPathUnsupported(f"structure not read simply ({type(exc).__name__})") from None

    width, height = box[2] - box[0], box[3] - box[1]
    alpha_ref = None
    if appearance.alpha is not None:
        alpha_ref = update.add(_stream(
            b"/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceGray"
            b"/BitsPerComponent 8/Filter/FlateDecode" % (appearance.width_px, appearance.height_px),
            appearance.alpha))
    image_ref = update.add(_stream(
        b"/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceRGB/BitsPerComponent 8"
        b"/Filter/FlateDecode" % (appearance.width_px, appearance.height_px)
        + (b"/SMask %d 0 R" % alpha_ref if alpha_ref else b""), appearance.rgb))
    form_ref = update.add(_stream(
        b"/Type/XObject/Subtype/Form/BBox[0 0 %.3f %.3f]/Resources<</XObject<</Seal %d 0 R>>>>"
        % (width, height, image_ref), b"q %.3f 0 0 %.3f 0 0 cm /Seal Do Q" % (width, height)))
    reserve = cms.reserve(timestamp is not None)
    when = signing_time.strftime("D:%Y%m%d%H%M%S+00'00'").encode()
    placeholder = b"[0 0000000000 0000000000 0000000000]"
    signature_ref = update.add(
        b"<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/M(" + when +
        b")/ByteRange" + placeholder + b"/Contents<" + b"0" * (2 * reserve) + b">>>")
    widget_ref = update.add(
        b"<</Type/Annot/Subtype/Widget/FT/Sig/T" + _pdf_string(field_name) +
        b"/V %d 0 R/Rect[%.3f %.3f %.3f %.3f]/F 132/P %d %d R/AP<</N %d 0 R>>>>" % (
            signature_ref, *box, page_ref.idnum, page_ref.generation, form_ref))
    _add_to_page(update, page_ref, page, widget_ref)
    plan(update, widget_ref, root_ref)

    # The cross-reference section of the update, then the byte ranges.
    original_length = source.seek(0, io.SEEK_END)
    xref_at = original_length + len(update.body)
    update.body += _xref(update, trailer, previous, xref_at, root_ref, xref_stream)
    body = update.body
    signature_at = update.offsets[signature_ref]
    range_at = body.index(placeholder, signature_at)
    contents_at = body.index(b"/Contents<", signature_at) + len(b"/Contents")
    contents_end = contents_at + 2 * reserve + 2
    total = original_length + len(body)
    byte_range = b"[0 %010d %010d %010d]" % (original_length + contents_at,
                                              original_length + contents_end,
                                              total - original_length - contents_end)
    body[range_at:range_at + len(placeholder)] = byte_range

    digest = hashlib.sha256()
    source.seek(0)
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        output.write(chunk)
    digest.update(body[:contents_at])
    digest.update(body[contents_end:])
    attributes = cms.signed_attributes(digest.digest())
    signature = sign(attributes)
    token = _timestamp_token(signature, timestamp) if timestamp is not None else None
    signed = cms.content_info(attributes, signature, token)
    if len(signed) > reserve:
        raise FastPathUnsupported("the signature container outgrew its reserved space")
    body[contents_at + 1:contents_at + 1 + 2 * len(signed)] = signed.hex().upper().encode()
    output.write(body)


def _sound_xrefs(reader: PdfFileReader, source: BinaryIO) -> bool:
    """Whether the last cross-reference section is a stream; FastPathUnsupported unless every
    section is a plain table or stream found where the file says (no hybrid files, nothing
    pyHanko had to repair), since the update's /Prev chains onto them."""
    last = XRefSectionType.STANDARD
    for revision in range(reader.xrefs.total_revisions):
        info = reader.xrefs.get_xref_container_info(revision)
        if info.xref_section_type not in (XRefSectionType.STANDARD, XRefSectionType.STREAM):
            raise FastPathUnsupported("hybrid cross-reference sections")
        source.seek(info.declared_startxref)
        start = source.read(4)
        table = info.xref_section_type is XRefSectionType.STANDARD
        if (start == b"xref") is not table or (not table and not start[:1].isdigit()):
            raise FastPathUnsupported("a cross-reference offset is wrong (the file needs repair)")
        last = info.xref_section_type
    return last is XRefSectionType.STREAM


def _raw(array: generic.ArrayObject) -> list[generic.PdfObject]:
    """The array's entries as written (references stay references)."""
    return [array.raw_get(i) for i in range(len(array))]


def _add_to_page(update: _Update, page_ref: generic.IndirectObject,
                 page: generic.DictionaryObject, widget_ref: int) -> None:
    annots = page.raw_get("/Annots") if "/Annots" in page else None
    widget = generic.IndirectObject(widget_ref, 0, None)
    if isinstance(annots, generic.IndirectObject):
        if annots.generation:
            raise FastPathUnsupported("objects of a generation other than 0")
        array = annots.get_object()
        if not isinstance(array, generic.ArrayObject):
            raise FastPathUnsupported("/Annots is not an array")
        update.add(_serialize(generic.ArrayObject(_raw(array) + [widget])), annots.idnum)
        return
    copy = generic.DictionaryObject({k: page.raw_get(k) for k in page.keys()})
    copy[generic.NameObject("/Annots")] = generic.ArrayObject(
        (_raw(annots) if isinstance(annots, generic.ArrayObject) else []) + [widget])
    update.add(_serialize(copy), page_ref.idnum)


def _plan_form(reader: PdfFileReader, root: generic.DictionaryObject,
               field_name: str) -> Callable[[_Update, int, generic.Reference], None]:
    """How the new field joins the document's AcroForm: a new one in the catalog, the catalog's
    direct one, or the indirect one (or its indirect /Fields array) rewritten."""
    form_raw = root.raw_get("/AcroForm") if "/AcroForm" in root else None
    form = form_raw.get_object() if form_raw is not None else None
    if isinstance(form_raw, generic.IndirectObject) and form_raw.generation:
        raise FastPathUnsupported("objects of a generation other than 0")
    if form is not None and "/XFA" in form:
        raise FastPathUnsupported("an XFA form")
    fields_raw = form.raw_get("/Fields") if form is not None and "/Fields" in form else None
    fields = fields_raw.get_object() if fields_raw is not None else generic.ArrayObject()
    if isinstance(fields_raw, generic.IndirectObject) and fields_raw.generation:
        raise FastPathUnsupported("objects of a generation other than 0")
    for i in range(len(fields)):
        existing = fields[i]
        if isinstance(existing, generic.DictionaryObject) and existing.get("/T") == field_name:
            raise FastPathUnsupported(f"a field named {field_name} exists")

    def apply(update: _Update, widget_ref: int, root_ref: generic.Reference) -> None:
        widget = generic.IndirectObject(widget_ref, 0, None)
        if isinstance(fields_raw, generic.IndirectObject):
            update.add(_serialize(generic.ArrayObject(_raw(fields) + [widget])), fields_raw.idnum)
            new_fields: generic.PdfObject = fields_raw
        else:
            new_fields = generic.ArrayObject(_raw(fields) + [widget])
        new_form = generic.DictionaryObject(
            {k: form.raw_get(k) for k in form.keys()} if form is not None else {})
        new_form[generic.NameObject("/Fields")] = new_fields
        # Signed documents are append-only (SigFlags 3), and a viewer must not redraw field
        # appearances (NeedAppearances) or the seal's own would be replaced (as pyHanko does).
        new_form[generic.NameObject("/SigFlags")] = generic.NumberObject(3)
        new_form.pop("/NeedAppearances", None)
        if isinstance(form_raw, generic.IndirectObject):
            update.add(_serialize(new_form), form_raw.idnum)
            return
        catalog = generic.DictionaryObject({k: root.raw_get(k) for k in root.keys()})
        catalog[generic.NameObject("/AcroForm")] = new_form
        update.add(_serialize(catalog), root_ref.idnum)

    return apply


def _xref(update: _Update, trailer: generic.DictionaryObject, previous: int, at: int,
          root_ref: generic.Reference, as_stream: bool) -> bytes:
    base = at - len(update.body)  # the original's length
    identifiers = trailer.get("/ID")
    # pyHanko reads an /ID that looks like text as a text string; its bytes are what counts.
    first = bytes(identifiers[0].original_bytes) if identifiers else secrets.token_bytes(16)
    id_entry = b"/ID[<%s><%s>]" % (first.hex().encode(), secrets.token_hex(16).encode())
    info = trailer.raw_get("/Info") if "/Info" in trailer else None
    info_entry = b"/Info %d %d R" % (info.idnum, info.generation) if isinstance(
        info, generic.IndirectObject) else b""
    common = (b"/Root %d %d R" % (root_ref.idnum, root_ref.generation) + info_entry + id_entry
              + b"/Prev %d" % previous)
    if not as_stream:
        numbers = sorted(update.offsets)
        lines = [b"xref\n"]
        for start, run in _runs(numbers):
            lines.append(b"%d %d\n" % (start, len(run)))
            lines += [b"%010d 00000 n \n" % (base + update.offsets[n]) for n in run]
        size = max(update.next_number, numbers[-1] + 1)
        lines.append(b"trailer\n<</Size %d" % size + common + b">>\nstartxref\n%d\n%%%%EOF\n" % at)
        return b"".join(lines)
    own = update.next_number
    offsets = {**update.offsets, own: len(update.body)}
    numbers = sorted(offsets)
    rows = b"".join(b"\x01" + (base + offsets[n]).to_bytes(5, "big") + b"\x00\x00"
                    for n in numbers)
    index = b" ".join(b"%d %d" % (start, len(run)) for start, run in _runs(numbers))
    size = max(own + 1, numbers[-1] + 1)
    dictionary = (b"/Type/XRef/Size %d/Index[" % size + index + b"]/W[1 5 2]" + common)
    return b"%d 0 obj\n" % own + _stream(dictionary, rows) + b"\nendobj\nstartxref\n%d\n%%%%EOF\n" % at


def _runs(numbers: list[int]) -> list[tuple[int, list[int]]]:
    runs: list[tuple[int, list[int]]] = []
    for n in numbers:
        if runs and runs[-1][1][-1] == n - 1:
            runs[-1][1].append(n)
        else:
            runs.append((n, [n]))
    return runs


def _timestamp_token(signature: bytes, timestamp: Callable[[bytes], bytes]) -> bytes:
    """RFC 3161 §2.4: a token over SHA-256 of the signature value, with the TSA's certificate."""
    request = _tlv(SEQ, _int(1), _tlv(SEQ, _SHA256, _tlv(OCTETS, hashlib.sha256(signature).digest())),
                   _int(int.from_bytes(secrets.token_bytes(8), "big")), b"\x01\x01\xff")
    response = tsp.TimeStampResp.load(timestamp(request))
    if response["status"]["status"].native not in ("granted", "granted_with_mods"):
        raise FastPathUnsupported("the time-stamp authority refused the request")
    token: bytes = response["time_stamp_token"].dump()
    return token
