"""Finding a keyword in a PDF's page text (pdfminer.six), for seals anchored to words such as
"盖章处": the page and the box, in PDF user space, of its first occurrence."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from io import IOBase
from typing import BinaryIO, cast

from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTChar, LTComponent, LTContainer, LTTextLine
from pdfminer.pdfparser import PDFSyntaxError
from pdfminer.psparser import PSException

from yunzhang.errors import InvalidInput

# pdfminer logs a warning for every font descriptor it finds incomplete (common in real PDFs);
# what matters to us is whether the text was found, which the result says.
logging.getLogger("pdfminer").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Found:
    page_index: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


def _lines(item: LTComponent) -> Iterator[LTTextLine]:
    if isinstance(item, LTTextLine):
        yield item
        return
    if isinstance(item, LTContainer):
        for child in item:
            yield from _lines(child)


def _compact(text: str) -> str:
    return "".join(text.split())


def find_keyword(document: BinaryIO, keyword: str, *, first_page: int = 0) -> Found:
    """The first occurrence of ``keyword`` (whitespace inside it ignored, as text extraction
    splits words arbitrarily) on or after page ``first_page`` (from 0)."""
    wanted = _compact(keyword)
    try:
        document.seek(0)
        pages = extract_pages(cast(IOBase, document), laparams=LAParams())
        for index, page in enumerate(pages):
            if index < first_page:
                continue
            for line in _lines(page):
                chars = [c for c in line if isinstance(c, LTChar) and c.get_text().strip()]
                text = "".join(c.get_text() for c in chars)
                at = text.find(wanted)
                if at < 0:
                    continue
                # One LTChar may carry several characters (ligatures): walk by text offset.
                offsets, position = [], 0
                for c in chars:
                    offsets.append(position)
                    position += len(c.get_text())
                hit = [c for c, o in zip(chars, offsets, strict=True)
                       if at <= o < at + len(wanted)]
                return Found(index, (min(c.x0 for c in hit), min(c.y0 for c in hit),
                                     max(c.x1 for c in hit), max(c.y1 for c in hit)))
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"the PDF's text could not be read ({type(exc).__name__})",
                           code="pdf.unreadable") from None
    where = f" from page {first_page + 1} on" if first_page else ""
    raise InvalidInput(f"the keyword {keyword!r} was not found in the PDF's text{where} (a "
                       f"scanned page has no text; place the seal by page and position)",
                       code="stamp.keyword_not_found")
