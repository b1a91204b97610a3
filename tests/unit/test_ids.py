"""Identifiers with check characters: USCC (GB 32100-2015), resident ID (GB 11643-1999), mobile
numbers, and GB/T 2260 region containment.

Valid codes are generated with check characters computed by tests/registry_samples.py from the
standards' formulas, so these properties check yunzhang.domain.ids against an independent oracle.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.registry_samples import USCC_CHARS, resident_id, uscc
from yunzhang.domain.ids import Phone, ResidentId, Uscc, region_contains
from yunzhang.errors import InvalidInput

DIGITS = "0123456789"
AUTHORITIES = "123456789ANY"  # GB 32100-2015 Appendix A: digits and the letters A, N, Y

uscc_prefixes = st.builds(
    lambda authority, category, region, rest: authority + category + region + rest,
    st.sampled_from(AUTHORITIES),
    st.sampled_from(USCC_CHARS),
    st.text(DIGITS, min_size=6, max_size=6),
    st.text(USCC_CHARS, min_size=9, max_size=9),
)
valid_usccs = uscc_prefixes.map(uscc)
valid_ids = st.builds(
    lambda region, born, serial: resident_id(region + born.strftime("%Y%m%d") + serial),
    st.text(DIGITS, min_size=6, max_size=6),
    st.dates(date(1900, 1, 1), date(2099, 12, 31)),
    st.text(DIGITS, min_size=3, max_size=3),
)


def error_code(parse: object, text: str) -> str:
    with pytest.raises(InvalidInput) as err:
        parse(text)  # type: ignore[operator]
    return err.value.code


def replace_at(text: str, position: int, char: str) -> str:
    return text[:position] + char + text[position + 1 :]


# --- USCC -------------------------------------------------------------------------------------


def test_real_uscc_parses_with_its_region_and_category() -> None:
    code = Uscc.parse("91110000600037341L")
    assert (code.value, code.region, code.category) == ("91110000600037341L", "110000", "91")
    assert uscc("91110000600037341") == "91110000600037341L"  # the oracle agrees with the standard


@given(valid_usccs)
def test_any_prefix_with_its_check_char_parses(code: str) -> None:
    parsed = Uscc.parse(code)
    assert parsed.value == code
    assert parsed.region == code[2:8]
    assert str(parsed) == code


def _expected_uscc_code(position: int, char: str) -> str:
    if position == 0 and char not in AUTHORITIES:
        return "uscc.authority"
    if 2 <= position <= 7 and char not in DIGITS:
        return "uscc.region"
    return "uscc.check_digit"


@given(valid_usccs, st.integers(0, 17), st.data())
def test_any_single_character_change_is_refused(code: str, position: int, data: st.DataObject) -> None:
    other = data.draw(st.sampled_from([c for c in USCC_CHARS if c != code[position]]))
    changed = replace_at(code, position, other)
    assert error_code(Uscc.parse, changed) == _expected_uscc_code(position, other)


@given(valid_usccs)
def test_lowercase_and_surrounding_space_are_normalized(code: str) -> None:
    assert Uscc.parse(f"  {code.lower()}\t").value == code


@given(valid_usccs, st.integers(0, 17), st.sampled_from("IOSVZiosvz"))
def test_letters_outside_the_alphabet_are_refused(code: str, position: int, letter: str) -> None:
    assert error_code(Uscc.parse, replace_at(code, position, letter)) == "uscc.charset"


@pytest.mark.parametrize("text", ["", "91110000600037341", "91110000600037341L0", "9111000060003734 1L"])
def test_wrong_length_is_refused(text: str) -> None:
    assert error_code(Uscc.parse, text) == "uscc.length"


# --- Resident ID ------------------------------------------------------------------------------


def test_standard_example_parses_with_a_lowercase_x() -> None:
    # The example number of GB 11643-1999.
    assert ResidentId.parse(" 11010519491231002x ").value == "11010519491231002X"


@given(valid_ids)
def test_any_valid_id_parses(number: str) -> None:
    assert ResidentId.parse(number).value == number
    assert ResidentId.parse(number.lower()).value == number


def _expected_id_code(changed: str, position: int) -> str:
    if position < 17 and not changed[position].isdigit():
        return "id_number.format"
    try:
        date(int(changed[6:10]), int(changed[10:12]), int(changed[12:14]))
    except ValueError:
        return "id_number.birth_date"
    return "id_number.check_digit"


@given(valid_ids, st.integers(0, 17), st.data())
def test_any_single_id_character_change_is_refused(number: str, position: int,
                                                   data: st.DataObject) -> None:
    other = data.draw(st.sampled_from([c for c in DIGITS + "X" if c != number[position]]))
    changed = replace_at(number, position, other)
    assert error_code(ResidentId.parse, changed) == _expected_id_code(changed, position)


@pytest.mark.parametrize(("text", "code"), [
    ("1101051949123100", "id_number.format"),
    ("11010519491231002XX", "id_number.format"),
    ("1101051949123100X2", "id_number.format"),
    (resident_id("11010519800230001"), "id_number.birth_date"),  # 30 February
    (resident_id("11010519801301001"), "id_number.birth_date"),  # month 13
    ("１１０１０５１９４９１２３１００２X", "id_number.format"),  # full-width digits
])
def test_malformed_ids_are_refused(text: str, code: str) -> None:
    assert error_code(ResidentId.parse, text) == code


@given(valid_ids)
def test_masking_never_reveals_the_birth_date(number: str) -> None:
    masked = ResidentId.parse(number).masked
    assert masked == number[:6] + "********" + number[14:]
    assert number[6:14] not in masked


# --- Mobile numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "13800138000", " 13800138000 ", "+8613800138000", "+86 138 0013 8000", "0086-138-0013-8000",
])
def test_phone_forms_are_normalized(text: str) -> None:
    phone = Phone.parse(text)
    assert (phone.value, phone.masked) == ("13800138000", "138****8000")


@pytest.mark.parametrize("text", [
    "138001380001",  # 12 digits
    "1380013800",  # 10 digits
    "+86138001380001",
    "12800138000",  # no mobile number starts with 12
    "+85213800138000",
    "138 0013 800a",
    "１３８００１３８０００",  # full-width digits
    "",
])
def test_phone_that_is_not_a_mainland_mobile_is_refused(text: str) -> None:
    assert error_code(Phone.parse, text) == "phone.format"


# --- Regions (GB/T 2260) ----------------------------------------------------------------------


@pytest.mark.parametrize(("deployment", "region", "inside"), [
    ("310000", "310115", True),  # Shanghai contains Pudong
    ("310000", "310000", True),
    ("310000", "320502", False),  # Suzhou is in Jiangsu
    ("310000", "131000", False),  # shares the leading "31" only in the wrong place
    ("320500", "320502", True),  # the city of Suzhou contains Gusu district
    ("320500", "320100", False),  # but not Nanjing
    ("320500", "320000", False),  # nor the province it lies in
    ("110105", "110105", True),
    ("110105", "110106", False),
    ("500000", "500101", True),  # an odd number of significant digits widens to the province
    ("100100", "100101", True),
    ("100100", "101001", False),
])
def test_region_contains(deployment: str, region: str, inside: bool) -> None:
    assert region_contains(deployment, region) is inside
