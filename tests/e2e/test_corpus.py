"""Real-world PDFs (tests/corpus: pdfTeX, LibreOffice, Chromium, img2pdf, a LibreOffice form, qpdf
object streams, and one already signed elsewhere) stamped twice each by the platform: B-B on the
last page, then B-T on page 1. Judged by others' tools as well as ours: poppler's pdfsig must find
every signature valid (the foreign one too), qpdf no error, poppler's renderer the seal where it
was put; our verifier trusts ours and not the foreign one; form fields survive; each stamp is an
incremental update; one changed byte breaks every signature for pdfsig and our verifier."""

from __future__ import annotations

import html
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyhanko.pdf_utils.reader import PdfFileReader

from tests.e2e.persons_support import limiter_on_test_clock  # noqa: F401
from tests.e2e.roles_support import Cast, cast, company  # noqa: F401
from tests.e2e.seals_support import active_seal, pki, reviewer  # noqa: F401
from tests.e2e.test_signing_engine import red_pixels
from tests.e2e.test_stamping import signatures_valid, stamp, tool
from yunzhang.bootstrap import Container
from yunzhang.domain.stamping import PadesProfile, Placement
from yunzhang.domain.verification import VerificationReport
from yunzhang.services import verification

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
PT_PER_MM = 72 / 25.4  # pdftoppm at 72 dpi: one pixel per point
WORD = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'


@dataclass(frozen=True)
class Sample:
    """What a corpus file is made of, as the tests rely on it."""

    producer: str  # how its /Producer starts
    keyword: str | None  # on its last page; None for a scanned page (no text to search)
    foreign: int = 0  # signatures already in it, made elsewhere
    # form field -> (type, value), as qpdf's JSON shows them
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)


SAMPLES: dict[str, Sample] = {
    "latex.pdf": Sample("pdfTeX", "Seal here"),
    "libreoffice.pdf": Sample("LibreOffice", "盖章处"),
    "browser.pdf": Sample("Skia/PDF", "盖章处"),
    "scanned.pdf": Sample("img2pdf", None),
    "form.pdf": Sample("LibreOffice", "盖章处", fields={
        "company": ("/Tx", "u:"), "uscc": ("/Tx", "u:91310115MA1K4DEM05"),
        "headcount": ("/Tx", "u:120"), "confirm": ("/Btn", "/Yes")}),
    "object-streams.pdf": Sample("LibreOffice", "盖章处"),
    "signed-elsewhere.pdf": Sample("pdfTeX", "Seal here", foreign=1),
}
FIRST_AT = (120.0, 200.0)  # mm from the top-left, the last page of a scanned file (no keyword)
SECOND_AT = (120.0, 20.0)  # mm from the top-left, page 1 of every file


def pages_of(document: bytes) -> int:
    return int(PdfFileReader(io.BytesIO(document), strict=False).root["/Pages"]["/Count"])


def form_fields(path: Path) -> dict[str, tuple[str, Any]]:
    """Every form field as qpdf lists it: full name -> (field type, value)."""
    done = tool("qpdf", "--json", "--json-key=acroform", str(path))
    assert done.returncode in (0, 3), done.stderr  # 3: warnings only
    found = json.loads(done.stdout)["acroform"]["fields"]
    return {f["fullname"]: (f["fieldtype"], f["value"]) for f in found}


def keyword_centre(path: Path, page: int, keyword: str) -> tuple[float, float]:
    """Where poppler's pdftotext (not the platform's text search) finds the first ``keyword`` on
    ``page``: points from the top-left, each character's share of its word taken as equal."""
    listed = tool("pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), "-").stdout
    words = [(float(x0), float(y0), float(x1), float(y1), html.unescape(text))
             for x0, y0, x1, y1, text in re.findall(WORD, listed)]
    line, starts = "", []
    for *_, text in words:
        line += " " if line else ""
        starts.append(len(line))
        line += text
    assert keyword in line, line

    def at(offset: int) -> tuple[float, float]:
        index = max(i for i, start in enumerate(starts) if start <= offset)
        x0, y0, x1, y1, text = words[index]
        return x0 + (x1 - x0) * (offset - starts[index]) / len(text), (y0 + y1) / 2

    (left, y), (right, _) = at(line.index(keyword)), at(line.index(keyword) + len(keyword))
    return (left + right) / 2, y


def seal_centres(path: Path, page: int, expected: list[tuple[float, float]], size: float,
                 directory: Path) -> list[tuple[float, float]]:
    """The centre of each seal on the rendered ``page``, its red pixels grouped by the nearest
    ``expected`` centre; each group is no larger than one seal (nothing red anywhere else)."""
    directory.mkdir()
    reds = red_pixels(path, page, directory)
    centres = []
    for i, (ex, ey) in enumerate(expected):
        mine = [(x, y) for x, y in reds
                if min(range(len(expected)), key=lambda j: (x - expected[j][0]) ** 2
                       + (y - expected[j][1]) ** 2) == i]
        assert len(mine) > 200, (page, i, len(mine))
        xs, ys = [x for x, _ in mine], [y for _, y in mine]
        assert max(xs) - min(xs) <= size + 4 and max(ys) - min(ys) <= size + 4, (page, i)
        centres.append(((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2))
    return centres


def verified(container: Container, document: bytes) -> VerificationReport:
    return verification.verify_document(document, uow=container.uow, verifier=container.verifier,
                                        clock=container.clock, settings=container.settings)


@pytest.fixture
def seal(client: TestClient, cast: Cast, reviewer: Any,
         pki: list[dict[str, Any]]) -> dict[str, Any]:
    return active_seal(client, cast.company, reviewer)


def test_the_corpus_is_what_its_readme_says(tmp_path: Path) -> None:
    on_disk = sorted(p.name for p in CORPUS.glob("*.pdf"))
    assert on_disk and on_disk == sorted(SAMPLES)  # nothing missing, nothing untested
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for name, sample in SAMPLES.items():
        document = (CORPUS / name).read_bytes()
        assert f"`{name}`" in readme and len(document) < 100_000, name
        info = PdfFileReader(io.BytesIO(document), strict=False).trailer_view["/Info"]
        assert str(info["/Producer"]).startswith(sample.producer), name
        text = tool("pdftotext", str(CORPUS / name), "-").stdout
        assert (sample.keyword in text) if sample.keyword else not text.strip(), name
    assert sum(p.stat().st_size for p in CORPUS.glob("*.pdf")) < 1_000_000
    # What each file is there to exercise.
    assert b"/ObjStm" in (CORPUS / "object-streams.pdf").read_bytes()
    assert b"/ObjStm" not in (CORPUS / "libreoffice.pdf").read_bytes()
    assert pages_of((CORPUS / "libreoffice.pdf").read_bytes()) == 2  # page 1 is not the last
    assert b"/DCTDecode" in (CORPUS / "scanned.pdf").read_bytes()  # a JPEG, as scanners make
    assert form_fields(CORPUS / "form.pdf") == SAMPLES["form.pdf"].fields  # an AcroForm
    foreign = tmp_path / "foreign.pdf"
    foreign.write_bytes((CORPUS / "signed-elsewhere.pdf").read_bytes())
    report = signatures_valid(foreign, 1)
    assert "Signer Certificate Common Name: Other Signer" in report


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_real_world_pdf_is_stamped_twice(container: Container, cast: Cast,
                                           seal: dict[str, Any], tmp_path: Path,
                                           name: str) -> None:
    sample = SAMPLES[name]
    source = CORPUS / name
    original = source.read_bytes()
    last = pages_of(original)
    legal = cast.company.legal_rep
    # B-B on the last page: on the keyword where there is text, by position on a scanned page.
    first_place = Placement(last, keyword=sample.keyword) if sample.keyword else \
        Placement(last, *FIRST_AT)
    first = stamp(container, legal, seal, original, placement=first_place,
                  profile=PadesProfile.B_B)
    second = stamp(container, legal, seal, first, placement=Placement(1, *SECOND_AT),
                   profile=PadesProfile.B_T)
    assert first.startswith(original) and second.startswith(first)  # incremental updates

    # pdfsig and qpdf, after each stamp: every signature valid, the foreign one included.
    once, twice = tmp_path / f"once-{name}", tmp_path / f"twice-{name}"
    once.write_bytes(first)
    twice.write_bytes(second)
    signatures_valid(once, sample.foreign + 1)
    report = signatures_valid(twice, sample.foreign + 2)
    assert report.count(f"Signer Certificate Common Name: {seal['name']}") == 2
    assert report.count("Signer Certificate Common Name: Other Signer") == sample.foreign

    # Our verifier: ours intact, valid and trusted (the second with its time stamp, B-T); the
    # foreign one intact and valid but not trusted, so the document as a whole is not "ok".
    ours = verified(container, second)
    verdicts = [(s.kind, s.facts.intact, s.facts.valid, s.facts.trusted, s.facts.timestamp_valid)
                for s in ours.signatures]
    assert verdicts == [("other", True, True, False, None)] * sample.foreign + [
        ("seal", True, True, True, None), ("seal", True, True, True, True)]
    assert ours.ok is (sample.foreign == 0)

    # Form fields survive with their values; the stamps add exactly two signature fields.
    before, after = form_fields(source), form_fields(twice)
    added = {k: v for k, v in after.items() if k not in before}
    assert {k: after[k] for k in before} == before
    assert [kind for kind, _ in added.values()] == ["/Sig", "/Sig"]
    assert {k: after[k] for k in sample.fields} == sample.fields

    # poppler renders each seal where it was put, and nothing red was there before.
    size = float(seal["image"]["width_mm"]) * PT_PER_MM
    top_left = (SECOND_AT[0] * PT_PER_MM, SECOND_AT[1] * PT_PER_MM)
    second_centre = (top_left[0] + size / 2, top_left[1] + size / 2)
    first_centre = keyword_centre(source, last, sample.keyword) if sample.keyword else (
        FIRST_AT[0] * PT_PER_MM + size / 2, FIRST_AT[1] * PT_PER_MM + size / 2)
    expected = {1: [second_centre]}
    expected.setdefault(last, []).insert(0, first_centre)
    for page, centres in expected.items():
        (tmp_path / f"before-{page}").mkdir()
        assert red_pixels(source, page, tmp_path / f"before-{page}") == [], page
        found = seal_centres(twice, page, centres, size, tmp_path / f"after-{page}")
        for (fx, fy), (ex, ey) in zip(found, centres, strict=True):
            assert abs(fx - ex) < 8 and abs(fy - ey) < 8, (page, (fx, fy), (ex, ey))


def _signed_ranges(document: bytes) -> list[tuple[int, int]]:
    """The byte ranges of the last signature in ``document`` (start, end) pairs."""
    numbers = [int(n) for n in re.findall(rb"/ByteRange\s*\[\s*([\d\s]+)\]", document)[-1].split()]
    return [(numbers[0], numbers[0] + numbers[1]), (numbers[2], numbers[2] + numbers[3])]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_one_changed_byte_breaks_every_signature(container: Container, cast: Cast,
                                                 seal: dict[str, Any], tmp_path: Path,
                                                 name: str) -> None:
    original = (CORPUS / name).read_bytes()
    signed = stamp(container, cast.company.legal_rep, seal, original, profile=PadesProfile.B_B)
    # A byte of the original's first stream (its data, not its syntax, so the file still
    # parses), which our signature covers, and any foreign signature too.
    at = original.index(b"stream", original.index(b" obj")) + len(b"stream") + 4
    assert any(start <= at < end for start, end in _signed_ranges(signed))
    tampered = bytearray(signed)
    tampered[at] ^= 0x20
    path = tmp_path / f"tampered-{name}"
    path.write_bytes(bytes(tampered))
    report = tool("pdfsig", str(path)).stdout
    count = SAMPLES[name].foreign + 1
    assert report.count("Signature Validation: Digest Mismatch.") == count, report
    assert "Signature is Valid" not in report, report
    ours = verified(container, bytes(tampered))
    assert [s.facts.intact for s in ours.signatures] == [False] * count and not ours.ok
