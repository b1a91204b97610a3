"""Registry test data: valid USCCs and resident ID numbers, and registry files built from rows.

The check characters are computed here straight from the standards' formulas (GB 32100-2015 §5,
GB 11643-1999 §6.2, as quoted in DESIGN.md), independently of ``yunzhang.domain.ids``, so the
tests that use them are an oracle for that module rather than a copy of it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

REGISTRY_COLUMNS = ("uscc", "name", "kind", "status", "legal_rep_name", "legal_rep_id_number")


def uscc(first17: str) -> str:
    """``first17`` completed with its GB 32100 check character."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return first17 + USCC_CHARS[(31 - total % 31) % 31]


def resident_id(first17: str) -> str:
    """``first17`` completed with its GB 11643 check character."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def company_uscc(n: int, *, category: str = "91", region: str = "310115") -> str:
    """A valid USCC, different for every ``n`` below 100,000."""
    return uscc(f"{category}{region}MA1K{n:05d}")


def person_id(n: int, *, born: str = "19800101", region: str = "310115") -> str:
    """A valid resident ID number, different for every ``n`` below 1,000."""
    return resident_id(f"{region}{born}{n:03d}")


def registry_row(n: int, **overrides: str) -> dict[str, str]:
    """A row the registry import accepts (an enterprise, category 91), with fields overridden."""
    row = {
        "uscc": company_uscc(n),
        "name": f"上海测试{n}号有限公司",
        "kind": "company",
        "status": "active",
        "legal_rep_name": "张三",
        "legal_rep_id_number": person_id(n),
    }
    row.update(overrides)
    return row


def to_csv(rows: Sequence[Mapping[str, str]], columns: Sequence[str] = REGISTRY_COLUMNS) -> str:
    """A registry CSV export with the given header and rows (missing cells left empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue()
