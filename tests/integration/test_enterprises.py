"""The enterprise directory on SQLite and PostgreSQL (services/enterprises.py): the idempotent
registry import and its report, the audit events it writes (never a full ID number), search, and
status changes."""

from __future__ import annotations

import json
import re

import pytest

from tests.registry_samples import company_uscc, person_id, registry_row
from yunzhang.adapters.clock import FixedClock
from yunzhang.bootstrap import Container
from yunzhang.domain.audit import AuditEvent
from yunzhang.domain.ids import FULL_ID_NUMBER, ResidentId
from yunzhang.errors import InvalidInput, NotFound
from yunzhang.services import audit
from yunzhang.services.context import Caller
from yunzhang.services.enterprises import (
    ImportRegistry,
    ImportReport,
    get_enterprise,
    import_registry,
    search_enterprises,
    set_enterprise_status,
)

OPERATOR = Caller(actor="operator", request_id="req-test")


def run_import(c: Container, rows: list[dict[str, str]], *, dry_run: bool = False) -> ImportReport:
    return import_registry(ImportRegistry(rows, "registry.csv", dry_run), caller=OPERATOR,
                           uow=c.uow, keyring=c.keyring, clock=c.clock)


def events(c: Container, action: str | None = None) -> list[AuditEvent]:
    with c.uow() as tx:
        found = list(tx.audit.events())
    return [e for e in found if action is None or e.action == action]


def codes(reasons: list[str]) -> list[str]:
    """The error codes at the end of each reason, e.g. 'uscc: ... [uscc.check_digit]'."""
    return [re.search(r"\[([a-z_.]+)\]$", r).group(1) for r in reasons]  # type: ignore[union-attr]


def names(found: list[object]) -> list[str]:
    return [e.name for e in found]  # type: ignore[attr-defined]


def test_import_creates_enterprises_with_region_kind_and_masked_id(container: Container) -> None:
    rows = [registry_row(1, kind="", status=""),
            registry_row(2, uscc=company_uscc(2, region="320502"), legal_rep_name="李 秀英")]
    report = run_import(container, rows)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (
        [rows[0]["uscc"], rows[1]["uscc"]], [], [], [])

    first, second = (get_enterprise(r["uscc"], uow=container.uow) for r in rows)
    assert (first.kind.value, first.status.value, first.region) == ("company", "active", "310115")
    assert second.region == "320502"
    assert second.legal_rep_name == "李 秀英"
    assert first.legal_rep_id_masked == ResidentId.parse(person_id(1)).masked
    assert person_id(1) not in first.legal_rep_id_hmac

    assert [(e.action, e.subject) for e in events(container)] == [
        ("enterprise:create", f"enterprise:{rows[0]['uscc']}"),
        ("enterprise:create", f"enterprise:{rows[1]['uscc']}"),
        ("enterprise:import", "import:registry.csv"),
    ]
    assert events(container, "enterprise:import")[0].details == {
        "created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert audit.verify_audit_chain(uow=container.uow).intact


def test_reimport_of_the_same_rows_changes_nothing(container: Container, clock: FixedClock) -> None:
    rows = [registry_row(1), registry_row(2), registry_row(3, legal_rep_id_number="11010519491231002X")]
    run_import(container, rows)
    before = get_enterprise(rows[0]["uscc"], uow=container.uow).updated_at
    clock.advance(seconds=3600)
    # The same registry, written differently: lowercase codes, padding, a lowercase check x.
    again = [{**r, "uscc": r["uscc"].lower(), "name": f"  {r['name']} ",
              "legal_rep_id_number": r["legal_rep_id_number"].lower()} for r in rows]
    assert any(r["legal_rep_id_number"].endswith("x") for r in again)
    report = run_import(container, again)
    assert (report.created, report.updated, report.rejected) == ([], [], [])
    assert report.unchanged == [r["uscc"] for r in rows]
    assert get_enterprise(rows[0]["uscc"], uow=container.uow).updated_at == before
    assert [e.action for e in events(container)] == (["enterprise:create"] * 3
                                                     + ["enterprise:import"] * 2)


def test_changed_row_is_updated_and_audited_without_full_id_numbers(
    container: Container, clock: FixedClock
) -> None:
    rows = [registry_row(1), registry_row(2)]
    run_import(container, rows)
    clock.advance(seconds=60)
    changed = {**rows[1], "name": "上海测试2号科技有限公司", "status": "suspended",
               "legal_rep_name": "王五", "legal_rep_id_number": person_id(7, born="19900315")}
    report = run_import(container, [rows[0], changed])
    assert (report.updated, report.unchanged) == ([rows[1]["uscc"]], [rows[0]["uscc"]])

    [update] = events(container, "enterprise:update")
    assert update.subject == f"enterprise:{rows[1]['uscc']}"
    assert update.details == {"source": "registry.csv", "changes": {
        "name": [rows[1]["name"], changed["name"]],
        "status": ["active", "suspended"],
        "legal_rep_name": ["张三", "王五"],
        "legal_rep_id": [ResidentId.parse(rows[1]["legal_rep_id_number"]).masked,
                         ResidentId.parse(changed["legal_rep_id_number"]).masked],
    }}
    stored = get_enterprise(rows[1]["uscc"], uow=container.uow)
    assert (stored.name, stored.status.value, stored.updated_at) == (
        changed["name"], "suspended", clock.now())
    everything = json.dumps([e.details for e in events(container)], ensure_ascii=False)
    assert FULL_ID_NUMBER.search(everything) is None
    assert audit.verify_audit_chain(uow=container.uow).intact


def test_id_change_that_keeps_the_masked_form_is_still_an_update(container: Container) -> None:
    run_import(container, [registry_row(1)])
    other_birthday = person_id(1, born="19800102")  # same region and serial: same masked form
    report = run_import(container, [registry_row(1, legal_rep_id_number=other_birthday)])
    assert report.updated == [company_uscc(1)]


BAD_USCC = company_uscc(1)[:17] + ("0" if company_uscc(1)[17] != "0" else "1")
BAD_ID = person_id(1)[:17] + ("0" if person_id(1)[17] != "0" else "1")


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"uscc": BAD_USCC, "legal_rep_id_number": BAD_ID}, ["uscc.check_digit", "id_number.check_digit"]),
    ({"name": " ", "legal_rep_name": ""}, ["enterprise.name", "enterprise.legal_rep_name"]),
    ({"status": "closed"}, ["enterprise.status"]),
    ({"uscc": company_uscc(1, category="92")}, ["enterprise.kind_mismatch"]),
    ({"uscc": company_uscc(1, category="11"), "kind": ""}, ["enterprise.kind_required"]),
    ({"kind": "llc"}, ["enterprise.kind"]),
    ({"uscc": "", "name": "", "legal_rep_name": "", "legal_rep_id_number": "3101", "status": "x"},
     ["uscc.length", "enterprise.name", "enterprise.legal_rep_name", "id_number.format",
      "enterprise.status"]),
])
def test_rejected_row_carries_every_reason(
    container: Container, overrides: dict[str, str], expected: list[str]
) -> None:
    report = run_import(container, [registry_row(2), registry_row(1, **overrides)])
    assert report.created == [company_uscc(2)]
    [rejected] = report.rejected
    assert rejected.row == 2
    assert rejected.uscc == (overrides.get("uscc", company_uscc(1)) or None)
    assert codes(rejected.reasons) == expected
    assert events(container, "enterprise:import")[0].details["rejected"] == 1


def test_row_the_file_reader_flagged_is_rejected_with_its_problem(container: Container) -> None:
    report = run_import(container, [{"__error__": "has 7 cells, the header has 6"}, registry_row(1)])
    assert [(r.row, r.uscc, r.reasons) for r in report.rejected] == [
        (1, None, ["row has 7 cells, the header has 6"])]
    assert report.created == [company_uscc(1)]


def test_duplicate_uscc_within_a_file_is_rejected(container: Container) -> None:
    rows = [registry_row(1), registry_row(2),
            registry_row(1, uscc=company_uscc(1).lower(), name="重复的名称有限公司")]
    report = run_import(container, rows)
    assert report.created == [company_uscc(1), company_uscc(2)]
    [rejected] = report.rejected
    assert (rejected.row, rejected.uscc) == (3, company_uscc(1))
    assert rejected.reasons == ["uscc: duplicate of row 1 [import.duplicate]"]
    assert get_enterprise(company_uscc(1), uow=container.uow).name == rows[0]["name"]


@pytest.mark.parametrize(("category", "kind"), [
    ("91", "company"), ("92", "individual_business"), ("93", "farmers_cooperative"),
    ("51", "social_organization"), ("52", "social_organization"), ("53", "social_organization"),
])
def test_kind_follows_the_uscc_category(container: Container, category: str, kind: str) -> None:
    implied = registry_row(1, uscc=company_uscc(1, category=category), kind="")
    declared = registry_row(2, uscc=company_uscc(2, category=category), kind=kind)
    other = "company" if kind != "company" else "individual_business"
    contradicting = registry_row(3, uscc=company_uscc(3, category=category), kind=other)
    report = run_import(container, [implied, declared, contradicting])
    assert report.created == [implied["uscc"], declared["uscc"]]
    assert [codes(r.reasons) for r in report.rejected] == [["enterprise.kind_mismatch"]]
    assert {get_enterprise(r["uscc"], uow=container.uow).kind.value
            for r in (implied, declared)} == {kind}


def test_category_without_a_kind_of_its_own_takes_the_declared_one(container: Container) -> None:
    row = registry_row(1, uscc=company_uscc(1, category="Y1"), kind="social_organization")
    assert run_import(container, [row]).created == [row["uscc"]]
    assert get_enterprise(row["uscc"], uow=container.uow).kind.value == "social_organization"


def test_dry_run_writes_nothing(container: Container) -> None:
    run_import(container, [registry_row(1)])
    head_before = audit.verify_audit_chain(uow=container.uow).head_seq
    report = run_import(container, [registry_row(1, name="改名有限公司"), registry_row(2)],
                        dry_run=True)
    assert (report.dry_run, report.updated, report.created) == (True, [company_uscc(1)],
                                                                [company_uscc(2)])
    assert get_enterprise(company_uscc(1), uow=container.uow).name == registry_row(1)["name"]
    with pytest.raises(NotFound):
        get_enterprise(company_uscc(2), uow=container.uow)
    chain = audit.verify_audit_chain(uow=container.uow)
    assert (chain.head_seq, chain.events, chain.intact) == (head_before, head_before, True)


@pytest.fixture
def directory(container: Container) -> Container:
    rows = [registry_row(1, name="上海浦江精工机械有限公司"),
            registry_row(2, name="百分之100%科技有限公司"),
            registry_row(3, name="下划线_贸易有限公司"),
            registry_row(4, name="ABC Trading 上海有限公司"),
            registry_row(5, name="反斜杠\\文化传媒有限公司")]
    assert not run_import(container, rows).rejected
    return container


@pytest.mark.parametrize(("query", "expected"), [
    ("浦江", ["上海浦江精工机械有限公司"]),
    ("%", ["百分之100%科技有限公司"]),
    ("0%", ["百分之100%科技有限公司"]),
    ("_", ["下划线_贸易有限公司"]),
    ("\\", ["反斜杠\\文化传媒有限公司"]),
    ("有限_司", []),  # `_` is not a wildcard
    ("上海%公司", []),  # nor is `%`
    (company_uscc(3), ["下划线_贸易有限公司"]),
    (company_uscc(3).lower(), ["下划线_贸易有限公司"]),
    (company_uscc(3)[:10], []),  # a USCC matches whole, not as a prefix
    ("无此企业", []),
])
def test_search_by_name_fragment_or_uscc(directory: Container, query: str,
                                         expected: list[str]) -> None:
    assert names(search_enterprises(query, uow=directory.uow)) == expected


def test_search_gives_the_same_answer_on_every_database(directory: Container) -> None:
    # Latin letters in names: SQLite's LIKE ignores their case, so every backend must.
    for query in ("ABC", "abc", "trading", "aBc tRADING"):
        assert names(search_enterprises(query, uow=directory.uow)) == ["ABC Trading 上海有限公司"]


def test_search_lists_everything_in_name_order_with_paging(directory: Container) -> None:
    everything = names(search_enterprises(None, uow=directory.uow))
    assert len(everything) == 5
    assert everything == sorted(everything)
    assert names(search_enterprises("  ", uow=directory.uow, limit=2, offset=1)) == everything[1:3]
    with pytest.raises(InvalidInput) as err:
        search_enterprises("企" * 101, uow=directory.uow)
    assert err.value.code == "search.too_long"


def test_set_status_is_recorded_and_audited(container: Container, clock: FixedClock) -> None:
    uscc = company_uscc(1)
    run_import(container, [registry_row(1)])
    clock.advance(seconds=60)
    changed = set_enterprise_status(uscc.lower(), "revoked", " 吊销营业执照 ", caller=OPERATOR,
                                    uow=container.uow, clock=clock)
    assert (changed.status.value, changed.updated_at) == ("revoked", clock.now())
    assert get_enterprise(uscc, uow=container.uow).status.value == "revoked"
    [event] = events(container, "enterprise:set_status")
    assert (event.actor, event.subject, event.request_id, event.details) == (
        "operator", f"enterprise:{uscc}", "req-test",
        {"from": "active", "to": "revoked", "reason": "吊销营业执照"})

    # Setting the status it already has records nothing.
    set_enterprise_status(uscc, "revoked", "again", caller=OPERATOR, uow=container.uow, clock=clock)
    assert len(events(container, "enterprise:set_status")) == 1
    # The next registry import brings it back in line, as an audited update.
    assert run_import(container, [registry_row(1)]).updated == [uscc]
    assert events(container, "enterprise:update")[0].details["changes"] == {
        "status": ["revoked", "active"]}
    assert audit.verify_audit_chain(uow=container.uow).intact


@pytest.mark.parametrize(("uscc", "status", "reason", "code"), [
    (company_uscc(9), "revoked", "x", "enterprise.not_found"),
    (BAD_USCC, "revoked", "x", "uscc.check_digit"),
    (company_uscc(1), "closed", "x", "enterprise.status"),
    (company_uscc(1), "revoked", "  ", "enterprise.reason"),
])
def test_set_status_refusals(container: Container, uscc: str, status: str, reason: str,
                             code: str) -> None:
    run_import(container, [registry_row(1)])
    with pytest.raises((InvalidInput, NotFound)) as err:
        set_enterprise_status(uscc, status, reason, caller=OPERATOR, uow=container.uow,
                              clock=container.clock)
    assert err.value.code == code
    assert get_enterprise(company_uscc(1), uow=container.uow).status.value == "active"
    assert events(container, "enterprise:set_status") == []
