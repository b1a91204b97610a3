"""Reading the market-regulation authority's registry exports: CSV (UTF-8 or GB18030) and JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Literal

from yunzhang.errors import InvalidInput, PayloadTooLarge

RegistryFormat = Literal["csv", "json"]

FIELDS = ("uscc", "name", "kind", "status", "legal_rep_name", "legal_rep_id_number")
REQUIRED = ("uscc", "name", "legal_rep_name", "legal_rep_id_number")

# Column titles as they appear in Chinese registry exports, mapped to our field names.
ALIASES = {
    "统一社会信用代码": "uscc",
    "企业名称": "name",
    "名称": "name",
    "主体类型": "kind",
    "类型": "kind",
    "登记状态": "status",
    "状态": "status",
    "法定代表人": "legal_rep_name",
    "法定代表人姓名": "legal_rep_name",
    "法定代表人身份证号": "legal_rep_id_number",
    "法定代表人证件号码": "legal_rep_id_number",
}


def guess_format(filename: str) -> RegistryFormat:
    lower = filename.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith(".json"):
        return "json"
    raise InvalidInput("the registry file must end in .csv or .json", code="import.format")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("the file is neither UTF-8 nor GB18030 text", code="import.encoding")


def parse_registry(data: bytes, fmt: RegistryFormat, *, max_bytes: int, max_rows: int) -> list[dict[str, str]]:
    """Rows as {field: text}; the caller validates each row. Raises for a file that cannot be
    read at all (then nothing is imported)."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the registry file is larger than {max_bytes} bytes",
                              code="import.too_large")
    if not data.strip():
        raise InvalidInput("the registry file is empty", code="import.empty")
    rows = _parse_csv(_decode(data)) if fmt == "csv" else _parse_json(data)
    if len(rows) > max_rows:
        raise PayloadTooLarge(f"the registry file has {len(rows)} rows; the limit is {max_rows}",
                              code="import.too_many_rows")
    return rows


def _normalize_key(key: str) -> str:
    text = key.strip()
    return ALIASES.get(text, text.lower())


def _parse_csv(text: str) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as err:
        raise InvalidInput("the CSV file has no header row", code="import.csv") from err
    columns = [_normalize_key(h) for h in header]
    doubled = sorted({c for c in columns if columns.count(c) > 1})
    if doubled:
        raise InvalidInput(f"the CSV header names column(s) twice: {', '.join(doubled)}",
                           code="import.columns")
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        raise InvalidInput(f"the CSV header lacks column(s): {', '.join(missing)}",
                           code="import.columns")
    unknown = [c for c in columns if c not in FIELDS]
    if unknown:
        raise InvalidInput(f"the CSV header has unknown column(s): {', '.join(unknown)}",
                           code="import.columns")
    rows: list[dict[str, str]] = []
    try:
        for line in reader:
            if not any(cell.strip() for cell in line):
                continue
            if len(line) != len(columns):
                rows.append({"__error__": f"has {len(line)} cells, the header has {len(columns)}"})
                continue
            rows.append(dict(zip(columns, line, strict=True)))
    except csv.Error as err:
        raise InvalidInput(f"the CSV file is malformed at line {reader.line_num}: {err}",
                           code="import.csv") from err
    return rows


def _parse_json(data: bytes) -> list[dict[str, str]]:
    try:
        doc = json.loads(_decode(data))
    except json.JSONDecodeError as err:
        raise InvalidInput(f"the JSON file is malformed at line {err.lineno}: {err.msg}",
                           code="import.json") from err
    if isinstance(doc, dict) and isinstance(doc.get("enterprises"), list):
        doc = doc["enterprises"]
    if not isinstance(doc, list):
        raise InvalidInput('the JSON file must be a list of enterprises or {"enterprises": [...]}',
                           code="import.json")
    rows: list[dict[str, str]] = []
    for item in doc:
        if not isinstance(item, dict):
            rows.append({"__error__": "is not a JSON object"})
            continue
        row: dict[str, str] = {}
        for key, value in item.items():
            field = _normalize_key(str(key))
            if field not in FIELDS:
                row["__error__"] = f"has unknown field {key!r}"
                break
            if value is not None and not isinstance(value, str):
                row["__error__"] = f"field {key!r} must be text"
                break
            row[field] = value or ""
        rows.append(row)
    return rows
