"""Identity verifiers (实名认证) and liveness checkers (实人认证): development and HTTP kinds."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from yunzhang.domain.ids import FULL_ID_NUMBER, ResidentId
from yunzhang.errors import ExternalServiceError, InvalidInput
from yunzhang.services.ports import VerifierAnswer

_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


class DevIdentityVerifier:
    """Development only: accepts any name with an ID number whose GB 11643 check digit is right."""

    def verify(self, *, name: str, id_number: str, phone: str) -> VerifierAnswer:
        try:
            ResidentId.parse(id_number)
        except InvalidInput as err:
            return VerifierAnswer(False, err.detail)
        return VerifierAnswer(True, "accepted by the development verifier")


class DevLivenessChecker:
    """Development only: accepts any JPEG or PNG capture and refuses anything else."""

    def check(self, *, name: str, id_number: str, face_image: bytes) -> VerifierAnswer:
        if not face_image.startswith(_IMAGE_MAGIC):
            return VerifierAnswer(False, "the face capture must be a JPEG or PNG image")
        return VerifierAnswer(True, "accepted by the development checker")


class _HttpProvider:
    """Common part of the HTTP adapters: POST JSON, expect ``{"match": bool, "reason": str}``."""

    def __init__(self, url: str, token: str, *, timeout: float, client: httpx.Client | None = None) -> None:
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(timeout=timeout)

    def _ask(self, payload: dict[str, Any], what: str) -> VerifierAnswer:
        try:
            response = self._client.post(self._url, json=payload, headers=self._headers)
        except httpx.HTTPError as err:
            raise ExternalServiceError(
                f"the {what} provider is unreachable: {type(err).__name__}",
                code=f"{what}.provider_unreachable",
            ) from err
        if response.status_code // 100 != 2:
            raise ExternalServiceError(
                f"the {what} provider answered HTTP {response.status_code}",
                code=f"{what}.provider_refused",
            )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("match"), bool):
            raise ExternalServiceError(
                f"the {what} provider's answer has no boolean 'match'",
                code=f"{what}.provider_malformed",
            )
        reason = data.get("reason")
        if reason:
            # The reason reaches the person and the audit log: mask an ID number the provider echoes.
            reason = FULL_ID_NUMBER.sub(lambda m: ResidentId(m.group().upper()).masked, str(reason))
        ref = data.get("ref")
        return VerifierAnswer(
            matched=data["match"],
            reason=str(reason)[:200] if reason else ("matched" if data["match"] else "not matched"),
            provider_ref=str(ref)[:128] if ref else None,
        )


class HttpIdentityVerifier(_HttpProvider):
    def verify(self, *, name: str, id_number: str, phone: str) -> VerifierAnswer:
        return self._ask({"name": name, "id_number": id_number, "phone": phone}, "identity")


class HttpLivenessChecker(_HttpProvider):
    def check(self, *, name: str, id_number: str, face_image: bytes) -> VerifierAnswer:
        return self._ask(
            {
                "name": name,
                "id_number": id_number,
                "image": base64.b64encode(face_image).decode("ascii"),
            },
            "liveness",
        )
