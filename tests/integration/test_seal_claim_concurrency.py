"""One seal, one key: six claims of the same approved seal at the same moment make exactly one
key and one certificate (the seal's row is locked before its state is read); the others are told
it was already claimed. On a database of its own with real commits, both backends."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.test_admin_limit_concurrency import CALLER, live, race, verified_person  # noqa: F401
from tests.registry_samples import person_id, registry_row
from yunzhang.adapters.db import tables
from yunzhang.adapters.keystore import SoftwareKeyStore
from yunzhang.bootstrap import Container
from yunzhang.domain.persons import Person
from yunzhang.domain.seals import Seal
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.services import pki, seals, staff
from yunzhang.services.audit import verify_audit_chain
from yunzhang.services.enterprises import ImportRegistry, import_registry

CLAIMS = 6


def approved_seal(live: Container, n: int) -> tuple[Person, str, Seal]:
    """The platform PKI, enterprise ``n`` with its legal representative, and a contract seal
    approved by a seal reviewer, not yet claimed: (legal representative, USCC, seal)."""
    pki.init_pki(pki.InitPki(KeyAlgorithm.EC_P256), caller=CALLER, uow=live.uow, keys=live.keys,
                 factory=live.x509, clock=live.clock, settings=live.settings)
    legal_rep = verified_person(live, f"138000{n:03d}01", "张三", person_id(n * 10 + 1))
    reviewer = verified_person(live, f"138000{n:03d}02", "周审核", person_id(n * 10 + 2))
    staff.grant_staff(reviewer.phone, "seal_reviewer", caller=CALLER, uow=live.uow, clock=live.clock)
    row = registry_row(n, legal_rep_name="张三", legal_rep_id_number=person_id(n * 10 + 1))
    import_registry(ImportRegistry([row], source="race"), caller=CALLER, uow=live.uow,
                    keyring=live.keyring, clock=live.clock)
    seal = seals.apply_seal(seals.ApplySeal(legal_rep.id, row["uscc"], "contract", seals.Generated()),
                            caller=CALLER, uow=live.uow, artist=live.artist, clock=live.clock)
    seals.review_mold(seals.ReviewMold(reviewer.id, seal.id, True), caller=CALLER, uow=live.uow,
                      clock=live.clock)
    return legal_rep, row["uscc"], seal


def test_simultaneous_claims_make_one_key(live: Container) -> None:  # noqa: F811
    legal_rep, _, seal = approved_seal(live, 90)
    assert isinstance(live.keys, SoftwareKeyStore)
    keys_before = {k.key_id for k in live.keys.list_keys()}

    outcomes = race(lambda i: seals.claim_seal(
        seals.ClaimSeal(legal_rep.id, seal.id), caller=CALLER, uow=live.uow, keys=live.keys,
        factory=live.x509, clock=live.clock, settings=live.settings), CLAIMS)

    assert sorted(outcomes) == ["ok"] + ["seal.already_claimed"] * (CLAIMS - 1), outcomes
    made = [k for k in live.keys.list_keys() if k.key_id not in keys_before]
    assert [(k.label, k.destroyed_at) for k in made] == [(f"seal:{seal.id}", None)]
    c = tables.certificates.c
    with live.session_factory() as session:
        certificates = session.scalars(select(c.key_id).where(c.subject_ref == f"seal:{seal.id}")).all()
        stored = session.scalar(select(tables.seals.c.key_id).where(tables.seals.c.id == seal.id))
    assert certificates == [made[0].key_id] == [stored]
    assert verify_audit_chain(uow=live.uow).problems == []
