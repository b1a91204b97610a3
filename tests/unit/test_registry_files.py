"""Reading registry exports (services/registry_files.py): CSV in UTF-8, UTF-8 with BOM and GB18030,
Chinese column titles, JSON in both shapes, and every way a file is refused as a whole (or a row
flagged for the import to reject)."""

from __future__ import annotations

import json

import pytest

from tests.registry_samples import REGISTRY_COLUMNS, registry_row, to_csv
from yunzhang.errors import InvalidInput, PayloadTooLarge
from yunzhang.services.registry_files import ALIASES, guess_format, parse_registry

LIMITS = {"max_bytes": 1_000_000, "max_rows": 1000}
ROWS = [registry_row(1, name="上海浦江精工机械有限公司", legal_rep_name="陈建国"),
        registry_row(2, name="徐汇区李记小吃店", legal_rep_name="李秀英", status="")]


def parse(data: bytes, fmt: str = "csv", **limits: int) -> list[dict[str, str]]:
    return parse_registry(data, fmt, **{**LIMITS, **limits})  # type: ignore[arg-type]


def refusal(data: bytes, fmt: str = "csv", **limits: int) -> InvalidInput:
    with pytest.raises(InvalidInput) as err:
        parse(data, fmt, **limits)
    return err.value


@pytest.mark.parametrize("encode", [
    pytest.param(lambda text: text.encode("utf-8"), id="utf-8"),
    pytest.param(lambda text: text.encode("utf-8-sig"), id="utf-8-bom"),
    pytest.param(lambda text: text.encode("gb18030"), id="gb18030"),
])
def test_csv_encodings_give_the_same_rows(encode: object) -> None:
    assert parse(encode(to_csv(ROWS))) == ROWS  # type: ignore[operator]


def test_gb18030_file_is_not_utf8_and_still_reads() -> None:
    data = to_csv(ROWS).encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert [r["legal_rep_name"] for r in parse(data)] == ["陈建国", "李秀英"]


@pytest.mark.parametrize(("title", "field"), ALIASES.items())
def test_chinese_column_titles(title: str, field: str) -> None:
    header = [title if c == field else c for c in REGISTRY_COLUMNS]
    text = to_csv([{title if k == field else k: v for k, v in row.items()} for row in ROWS], header)
    assert parse(text.encode("gb18030")) == ROWS


def test_all_chinese_titles_in_one_export() -> None:
    text = to_csv(ROWS).replace(",".join(REGISTRY_COLUMNS),
                                "统一社会信用代码,企业名称,主体类型,登记状态,法定代表人,法定代表人身份证号", 1)
    assert parse(text.encode("gb18030")) == ROWS


def test_titles_are_case_and_space_insensitive_and_columns_may_be_reordered() -> None:
    header = [" USCC ", "Legal_Rep_ID_Number", "法定代表人", "名称"]
    text = to_csv([{h: ROWS[0][f] for h, f in zip(header, ("uscc", "legal_rep_id_number",
                                                            "legal_rep_name", "name"))}], header)
    assert parse(text.encode()) == [{k: ROWS[0][k] for k in
                                     ("uscc", "legal_rep_id_number", "legal_rep_name", "name")}]


def test_unknown_column_is_refused() -> None:
    err = refusal(to_csv(ROWS, (*REGISTRY_COLUMNS, "注册资本")).encode())
    assert err.code == "import.columns"
    assert "注册资本" in err.detail


@pytest.mark.parametrize("dropped", ["uscc", "name", "legal_rep_name", "legal_rep_id_number"])
def test_missing_required_column_is_refused(dropped: str) -> None:
    columns = [c for c in REGISTRY_COLUMNS if c != dropped]
    err = refusal(to_csv(ROWS, columns).encode())
    assert err.code == "import.columns"
    assert dropped in err.detail


def test_optional_columns_may_be_left_out() -> None:
    rows = parse(to_csv(ROWS, ("uscc", "name", "legal_rep_name", "legal_rep_id_number")).encode())
    assert [set(r) for r in rows] == [{"uscc", "name", "legal_rep_name", "legal_rep_id_number"}] * 2


def test_row_with_the_wrong_number_of_cells_is_flagged_and_the_others_kept() -> None:
    good = to_csv(ROWS)
    lines = good.splitlines()
    text = "\n".join([lines[0], lines[1] + ",extra", "only,three,cells", lines[2], "", ""])
    rows = parse(text.encode())
    assert rows == [{"__error__": "has 7 cells, the header has 6"},
                    {"__error__": "has 3 cells, the header has 6"},
                    ROWS[1]]


def test_quoted_cells_keep_commas_and_newlines() -> None:
    row = {**ROWS[0], "name": '上海"浦江",精工\n机械有限公司'}
    assert parse(to_csv([row]).encode()) == [row]


@pytest.mark.parametrize("shape", [
    pytest.param(lambda rows: rows, id="list"),
    pytest.param(lambda rows: {"enterprises": rows}, id="object"),
])
def test_json_shapes(shape: object) -> None:
    data = json.dumps(shape(ROWS), ensure_ascii=False).encode()  # type: ignore[operator]
    assert parse(data, "json") == ROWS
    assert parse(b"\xef\xbb\xbf" + data, "json") == ROWS


def test_json_with_chinese_keys_nulls_and_gb18030() -> None:
    item = {"统一社会信用代码": ROWS[0]["uscc"], "企业名称": ROWS[0]["name"], "登记状态": None,
            "法定代表人": ROWS[0]["legal_rep_name"],
            "法定代表人身份证号": ROWS[0]["legal_rep_id_number"]}
    [row] = parse(json.dumps([item], ensure_ascii=False).encode("gb18030"), "json")
    assert row == {"uscc": ROWS[0]["uscc"], "name": ROWS[0]["name"], "status": "",
                   "legal_rep_name": ROWS[0]["legal_rep_name"],
                   "legal_rep_id_number": ROWS[0]["legal_rep_id_number"]}


@pytest.mark.parametrize(("item", "error"), [
    ({**ROWS[0], "uscc": 91310115}, "field 'uscc' must be text"),
    ({**ROWS[0], "status": True}, "field 'status' must be text"),
    ({**ROWS[0], "name": ["a"]}, "field 'name' must be text"),
    ({**ROWS[0], "capital": "100万"}, "has unknown field 'capital'"),
    ("91310115MA1K00001X", "is not a JSON object"),
    (None, "is not a JSON object"),
])
def test_json_item_problems_flag_only_that_row(item: object, error: str) -> None:
    rows = parse(json.dumps([ROWS[0], item, ROWS[1]], ensure_ascii=False).encode(), "json")
    assert [rows[0], rows[2]] == ROWS
    assert rows[1]["__error__"] == error


@pytest.mark.parametrize("data", [
    b"[{\"uscc\": \"1\",}]", b"{\"enterprises\": [", b"not json", b"{\"uscc\": \"x\"}",
    b"{\"enterprises\": {\"uscc\": \"x\"}}", b"\"text\"", b"42",
])
def test_malformed_or_misshapen_json_is_refused(data: bytes) -> None:
    assert refusal(data, "json").code == "import.json"


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("data", [b"", b"  \n\r\n\t"])
def test_empty_file_is_refused(data: bytes, fmt: str) -> None:
    assert refusal(data, fmt).code == "import.empty"


def test_undecodable_bytes_are_refused() -> None:
    # 0x80 alone is neither UTF-8 nor a GB18030 lead byte sequence.
    assert refusal(b"uscc,name\n\x80\x80,x\n").code == "import.encoding"


def test_file_larger_than_the_limit_is_refused_before_reading() -> None:
    data = to_csv(ROWS).encode()
    with pytest.raises(PayloadTooLarge) as err:
        parse(data, max_bytes=len(data) - 1)
    assert err.value.code == "import.too_large"
    assert parse(data, max_bytes=len(data)) == ROWS


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_too_many_rows_is_refused(fmt: str) -> None:
    rows = [registry_row(n) for n in range(1, 4)]
    data = (to_csv(rows) if fmt == "csv" else json.dumps(rows)).encode()
    with pytest.raises(PayloadTooLarge) as err:
        parse(data, fmt, max_rows=2)
    assert err.value.code == "import.too_many_rows"
    assert len(parse(data, fmt, max_rows=3)) == 3


@pytest.mark.parametrize(("name", "fmt"), [("registry.csv", "csv"), ("导出.CSV", "csv"),
                                            ("registry.json", "json")])
def test_format_from_file_name(name: str, fmt: str) -> None:
    assert guess_format(name) == fmt


@pytest.mark.parametrize("name", ["registry.txt", "registry.xlsx", "registry", "csv"])
def test_other_file_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as err:
        guess_format(name)
    assert err.value.code == "import.format"
