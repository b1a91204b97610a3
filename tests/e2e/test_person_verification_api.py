"""The person verification endpoints over HTTP: identity (实名认证) and liveness (实人认证).

The full resident ID number must never come back in a response, an audit event or a stored row.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.e2e.persons_support import (
    FULL_WIDTH,
    IDENTITY,
    ID_A,
    ID_B,
    LIVENESS,
    Login,
    ME,
    NAME,
    OTHER_PHONE,
    PHONE,
    at,
    counts,
    events,
    limiter_on_test_clock,  # noqa: F401  (an autouse fixture: importing it applies it here)
    log_in,
    problem,
    register,
    tiny_png,
    verified,
)
from yunzhang.adapters.clock import FixedClock
from yunzhang.adapters.db import tables
from yunzhang.bootstrap import Container
from yunzhang.domain.ids import resident_id_check_char
from yunzhang.services.ports import VerifierAnswer


# --- identity verification (实名认证) ------------------------------------------------------------

def test_identity_verification_stores_only_a_masked_number(
        client: TestClient, container: Container, clock: FixedClock) -> None:
    register(client, container)
    login = log_in(client)
    clock.advance(minutes=3)
    response = client.post(IDENTITY, json={"name": f" {NAME} ", "id_number": ID_A.lower()},
                           headers=login.headers())
    assert response.status_code == 200, response.text
    person = response.json()
    assert person["verification_level"] == "identity"
    assert at(person["identity_verified_at"]) == clock.now()
    assert person["id_number_masked"] == ID_A[:6] + "*" * 8 + ID_A[14:]
    assert person["name"] == NAME and person["liveness_verified_at"] is None
    me = client.get(ME, headers=login.headers())
    assert me.json() == person
    for text in (response.text, me.text):
        assert ID_A not in text and ID_A.lower() not in text
    [event] = events(container, "person:verify")
    assert event.outcome == "success" and event.details["id_number"] == person["id_number_masked"]
    with container.session_factory() as session:
        stored = [str(v) for row in session.execute(select(tables.persons)) for v in row]
        stored += [json.dumps(d) for d in session.scalars(select(tables.audit_events.c.details))]
    assert not any(ID_A in value for value in stored)


@pytest.mark.parametrize(("id_number", "code"), [
    (ID_A[:17] + "0", "id_number.check_digit"),
    ("11010519900230001" + resident_id_check_char("11010519900230001"), "id_number.birth_date"),
    ("11010519901301001" + resident_id_check_char("11010519901301001"), "id_number.birth_date"),
    ("11010519491231", "id_number.format"),
], ids=["check-digit", "february-30", "month-13", "too-short"])
def test_identity_refuses_invalid_id_numbers(client: TestClient, container: Container,
                                             id_number: str, code: str) -> None:
    register(client, container)
    login = log_in(client)
    before = counts(container)
    response = client.post(IDENTITY, json={"name": NAME, "id_number": id_number},
                           headers=login.headers())
    problem(response, 422, code)
    assert id_number not in response.text
    assert counts(container) == before
    assert client.get(ME, headers=login.headers()).json()["verification_level"] == "none"


def test_identity_number_belongs_to_one_account(client: TestClient, container: Container) -> None:
    verified(client, container, PHONE, ID_A)
    register(client, container, OTHER_PHONE)
    second = log_in(client, OTHER_PHONE)
    before = counts(container)
    response = client.post(IDENTITY, json={"name": NAME, "id_number": ID_A},
                           headers=second.headers())
    problem(response, 409, "identity.taken")
    assert ID_A not in response.text
    assert counts(container) == before
    me = client.get(ME, headers=second.headers()).json()
    assert (me["verification_level"], me["id_number_masked"]) == ("none", None)


def test_full_width_id_number_is_not_another_identity(client: TestClient,
                                                      container: Container) -> None:
    verified(client, container, PHONE, ID_A)
    register(client, container, OTHER_PHONE)
    second = log_in(client, OTHER_PHONE)
    before = counts(container)
    response = client.post(IDENTITY, json={"name": NAME, "id_number": ID_A.translate(FULL_WIDTH)},
                           headers=second.headers())
    problem(response, 422, "id_number.format")
    assert counts(container) == before
    assert client.get(ME, headers=second.headers()).json()["verification_level"] == "none"


def test_verified_account_keeps_its_id_number(client: TestClient, container: Container) -> None:
    login = verified(client, container, PHONE, ID_A)
    before = counts(container)
    response = client.post(IDENTITY, json={"name": NAME, "id_number": ID_B},
                           headers=login.headers())
    problem(response, 409, "person.identity_mismatch")
    assert ID_B not in response.text
    assert counts(container) == before
    me = client.get(ME, headers=login.headers()).json()
    assert me["id_number_masked"] == ID_A[:6] + "*" * 8 + ID_A[14:]


class RefusingVerifier:
    def verify(self, *, name: str, id_number: str, phone: str) -> VerifierAnswer:
        return VerifierAnswer(False, "name and ID number do not match")


def test_identity_not_confirmed_is_audited(client: TestClient, container: Container) -> None:
    container.identity = RefusingVerifier()
    register(client, container)
    login = log_in(client)
    before = counts(container)
    response = client.post(IDENTITY, json={"name": NAME, "id_number": ID_A},
                           headers=login.headers())
    problem(response, 422, "identity.not_matched")
    assert counts(container) == before | {"audit_events": before["audit_events"] + 1}
    [event] = events(container, "person:verify")
    assert event.outcome == "denied" and ID_A not in json.dumps(event.details)
    assert client.get(ME, headers=login.headers()).json()["verification_level"] == "none"


# --- liveness (实人认证) -------------------------------------------------------------------------

def _liveness(client: TestClient, login: Login, image: bytes | str,
              id_number: str = ID_A) -> httpx.Response:
    face = image if isinstance(image, str) else base64.b64encode(image).decode()
    response: httpx.Response = client.post(
        LIVENESS, json={"id_number": id_number, "face_image": face}, headers=login.headers())
    return response


def test_liveness_needs_identity_first(client: TestClient, container: Container) -> None:
    register(client, container)
    login = log_in(client)
    before = counts(container)
    problem(_liveness(client, login, tiny_png()), 409, "person.identity_required")
    assert counts(container) == before
    assert client.get(ME, headers=login.headers()).json()["verification_level"] == "none"


@pytest.mark.parametrize(("image", "id_number", "code"), [
    ("not base64!", ID_A, "liveness.image_encoding"),
    (tiny_png(), ID_B, "liveness.id_mismatch"),
    (b"\x00" * (512 * 1024 + 1), ID_A, "liveness.image_too_large"),
], ids=["not-base64", "other-id-number", "too-large"])
def test_liveness_refuses_bad_requests(client: TestClient, container: Container,
                                       image: bytes | str, id_number: str, code: str) -> None:
    login = verified(client, container)
    before = counts(container)
    problem(_liveness(client, login, image, id_number), 422, code)
    assert counts(container) == before
    assert client.get(ME, headers=login.headers()).json()["verification_level"] == "identity"


def test_liveness_refuses_a_non_image_and_audits_it(client: TestClient,
                                                    container: Container) -> None:
    login = verified(client, container)
    before = counts(container)
    problem(_liveness(client, login, b"GIF89a not a face"), 422, "liveness.not_matched")
    assert counts(container) == before | {"audit_events": before["audit_events"] + 1}
    [event] = events(container, "person:liveness")
    assert event.outcome == "denied" and event.actor.startswith("person:")
    me = client.get(ME, headers=login.headers()).json()
    assert (me["verification_level"], me["liveness_verified_at"]) == ("identity", None)


def test_liveness_with_a_real_png_completes_verification(
        client: TestClient, container: Container, clock: FixedClock) -> None:
    login = verified(client, container)
    clock.advance(minutes=2)
    response = _liveness(client, login, tiny_png())
    assert response.status_code == 200, response.text
    person = response.json()
    assert person["verification_level"] == "identity+liveness"
    assert at(person["liveness_verified_at"]) == clock.now()
    assert ID_A not in response.text
    assert client.get(ME, headers=login.headers()).json() == person
    [event] = events(container, "person:liveness")
    assert event.outcome == "success" and event.subject == f"person:{person['id']}"
