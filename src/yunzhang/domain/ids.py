"""Identifiers with check digits: USCC (GB 32100-2015), resident ID (GB 11643-1999), mobile numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from yunzhang.errors import InvalidInput

# GB 32100-2015 §4: the code alphabet leaves out I, O, S, V and Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 32100-2015 Appendix A: registration-authority codes; letters A, N and Y are used besides digits.
_USCC_AUTHORITIES = frozenset("123456789ANY")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")  # ASCII only: \d also takes full-width digits


def uscc_check_char(first17: str) -> str:
    """The 18th character of a USCC whose first 17 are given (GB 32100-2015 §5)."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


@dataclass(frozen=True)
class Uscc:
    """统一社会信用代码: an 18-character code whose last character is a check digit."""

    value: str

    @classmethod
    def parse(cls, raw: str) -> Uscc:
        text = raw.strip().upper()
        if len(text) != 18:
            raise InvalidInput(
                f"USCC must have 18 characters, got {len(text)}", code="uscc.length"
            )
        bad = sorted({c for c in text if c not in USCC_ALPHABET})
        if bad:
            raise InvalidInput(
                f"USCC contains characters outside GB 32100: {''.join(bad)}", code="uscc.charset"
            )
        if text[0] not in _USCC_AUTHORITIES:
            raise InvalidInput(
                f"USCC registration-authority code {text[0]!r} is not assigned",
                code="uscc.authority",
            )
        if not text[2:8].isdigit():
            raise InvalidInput(
                "USCC positions 3-8 must be a six-digit region code", code="uscc.region"
            )
        expected = uscc_check_char(text[:17])
        if text[17] != expected:
            raise InvalidInput(
                f"USCC check character is {text[17]!r}, expected {expected!r}",
                code="uscc.check_digit",
            )
        return cls(text)

    @property
    def region(self) -> str:
        """GB/T 2260 administrative division code at positions 3-8."""
        return self.value[2:8]

    @property
    def category(self) -> str:
        """Registration authority + organisation category (positions 1-2), e.g. '91'."""
        return self.value[:2]

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ResidentId:
    """居民身份证号码 (GB 11643-1999): 17 digits and a check character."""

    value: str

    @classmethod
    def parse(cls, raw: str) -> ResidentId:
        text = raw.strip().upper()
        if not re.fullmatch(r"[0-9]{17}[0-9X]", text):  # \d would take full-width digits
            raise InvalidInput(
                "resident ID number must be 17 digits followed by a digit or X",
                code="id_number.format",
            )
        try:
            date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
        except ValueError:
            raise InvalidInput(
                "resident ID number has an impossible birth date", code="id_number.birth_date"
            ) from None
        total = sum(int(c) * w for c, w in zip(text[:17], _ID_WEIGHTS, strict=True))
        expected = _ID_CHECK[total % 11]
        if text[17] != expected:
            raise InvalidInput(
                f"resident ID check character is {text[17]!r}, expected {expected!r}",
                code="id_number.check_digit",
            )
        return cls(text)

    @property
    def masked(self) -> str:
        """Display form that hides the birth date and serial: 110105********123X."""
        return self.value[:6] + "*" * 8 + self.value[14:]

    def __str__(self) -> str:
        return self.value


def resident_id_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


@dataclass(frozen=True)
class Phone:
    """A mainland-China mobile number, stored without the +86 prefix."""

    value: str

    @classmethod
    def parse(cls, raw: str) -> Phone:
        text = re.sub(r"[\s-]", "", raw.strip())
        if text.startswith("+86"):
            text = text[3:]
        elif text.startswith("0086"):
            text = text[4:]
        if not _MOBILE.fullmatch(text):
            raise InvalidInput(
                "phone must be an 11-digit mainland mobile number starting with 13-19",
                code="phone.format",
            )
        return cls(text)

    @property
    def masked(self) -> str:
        return self.value[:3] + "****" + self.value[7:]

    def __str__(self) -> str:
        return self.value


# Full resident ID numbers (with or without a check X); used to keep them out of messages and logs.
FULL_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9Xx])")


def region_contains(deployment_region: str, region: str) -> bool:
    """Whether ``region`` lies inside ``deployment_region`` (GB/T 2260: trailing zeros widen)."""
    prefix = deployment_region.rstrip("0")
    if len(prefix) % 2:
        prefix += "0"
    return region.startswith(prefix)
