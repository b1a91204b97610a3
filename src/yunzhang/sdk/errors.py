"""The SDK's one error: every failure a business system sees is an ``SdkError`` with a stable
``code`` (``oidc.*``, ``jwt.*``, ``webhook.*``, ``platform.*`` or the platform's own problem code)
and a human ``detail`` that never contains a secret."""

from __future__ import annotations


class SdkError(Exception):
    """``code``: stable, for programs; ``detail``: a sentence, for people; ``status``: the HTTP
    status the platform answered with, when the error is the platform's refusal."""

    def __init__(self, detail: str, *, code: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.status = status

    def __str__(self) -> str:
        return f"{self.detail} [{self.code}]"
