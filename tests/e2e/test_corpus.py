"""Real-world PDFs (tests/corpus, made by pdfTeX, LibreOffice, Chromium, img2pdf, qpdf, and one
already signed elsewhere) stamped twice each: B-B by position on the last page, then B-T on the
keyword where the page has text. pdfsig must find every signature valid (the foreign one too),
qpdf must find no error, our verifier must trust ours and not the foreign one, form fields must
survive, and one changed byte must break every signature for both pdfsig and our verifier."""

from __future__ import annotations

import io
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
from yunzhang.services import verification

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

# file -> (keyword for the second stamp or None for a scanned page, signatures already in it)
FILES: dict[str, tuple[str | None, int]] = {
    "latex.pdf": ("Seal here", 0),
    "libreoffice.pdf": ("盖章处", 0),
    "browser.pdf": ("盖章处", 0),
    "scanned.pdf": (None, 0),
    "form.pdf": ("盖章处", 0),
    "object-streams.pdf": ("盖章处", 0),
    "signed-elsewhere.pdf": ("Seal here", 1),
}


def test_the_corpus_is_complete() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.pdf")) == sorted(FILES)
    producers = {name: PdfFileReader(io.BytesIO((CORPUS / name).read_bytes()),
                                     strict=False).trailer_view["/Info"]["/Producer"]
                 for name in FILES}
    assert producers["latex.pdf"].startswith("pdfTeX")
    assert producers["libreoffice.pdf"].startswith("LibreOffice")
    assert producers["browser.pdf"].startswith("Skia/PDF")
    assert producers["scanned.pdf"].startswith("img2pdf")


def field_names(document: bytes) -> list[str]:
    root = PdfFileReader(io.BytesIO(document), strict=False).root
    if "/AcroForm" not in root:
        return []
    fields = root["/AcroForm"]["/Fields"]  # pyHanko resolves indirect references on access
    return sorted(str(fields[i]["/T"]) for i in range(len(fields)))


@pytest.fixture
def seal(client: TestClient, cast: Cast, reviewer: Any, pki: list[dict[str, Any]]) -> dict[str, Any]:
    return active_seal(client, cast.company, reviewer)


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_real_world_pdf_is_stamped_twice(container: Container, cast: Cast,
                                           seal: dict[str, Any], tmp_path: Path,
                                           name: str) -> None:
    keyword, foreign = FILES[name]
    original = (CORPUS / name).read_bytes()
    pages = int(PdfFileReader(io.BytesIO(original), strict=False).root["/Pages"]["/Count"])
    legal = cast.company.legal_rep
    first = stamp(container, legal, seal, original, placement=Placement(pages, 120, 200),
                  profile=PadesProfile.B_B)
    second_place = Placement(keyword=keyword) if keyword else Placement(1, 30, 40)
    second = stamp(container, legal, seal, first, placement=second_place)
    assert first.startswith(original) and second.startswith(first)  # incremental updates
    path = tmp_path / f"stamped-{name}"
    path.write_bytes(second)
    report = signatures_valid(path, foreign + 2)
    assert report.count(f"Signer Certificate Common Name: {seal['name']}") == 2
    # The seal is visible where it was put (the last page for the first stamp).
    assert red_pixels(path, pages, tmp_path)
    assert field_names(second) == sorted([*field_names(original), *_ours(second)])
    if name == "form.pdf":
        assert {"company", "uscc", "headcount", "confirm"} <= set(field_names(second))
    ours = verification.verify_document(second, uow=container.uow, verifier=container.verifier,
                                        clock=container.clock, settings=container.settings)
    verdicts = [(s.kind, s.facts.intact, s.facts.valid, s.facts.trusted) for s in ours.signatures]
    assert verdicts == [("other", True, True, False)] * foreign + [("seal", True, True, True)] * 2
    assert ours.ok is (foreign == 0)


def _ours(document: bytes) -> list[str]:
    return [n for n in field_names(document) if n.startswith("yunzhang-seal-")]


@pytest.mark.parametrize("name", ["latex.pdf", "libreoffice.pdf", "form.pdf"])
def test_one_changed_byte_breaks_every_signature(container: Container, cast: Cast,
                                                 seal: dict[str, Any], tmp_path: Path,
                                                 name: str) -> None:
    original = (CORPUS / name).read_bytes()
    signed = stamp(container, cast.company.legal_rep, seal, original, profile=PadesProfile.B_B)
    # A byte of the original's first stream (signed by the stamp): its data, not its syntax.
    at = original.index(b"stream", original.index(b" obj")) + len(b"stream") + 4
    tampered = bytearray(signed)
    tampered[at] ^= 0x20
    path = tmp_path / f"tampered-{name}"
    path.write_bytes(bytes(tampered))
    report = tool("pdfsig", str(path)).stdout
    assert "Signature #1" in report and "Signature is Valid" not in report, report
    ours = verification.verify_document(bytes(tampered), uow=container.uow,
                                        verifier=container.verifier, clock=container.clock,
                                        settings=container.settings)
    assert [s.facts.intact for s in ours.signatures] == [False] and not ours.ok
