"""The business-system SDK (业务系统 SDK): what a bidding portal, a social-insurance system or
any other relying party needs to use the platform over HTTP — log people in by scan with
OpenID Connect (``oidc``), ask for stamps and signatures and fetch the results (``requests``),
and check the webhooks that announce them (``webhooks``). It depends on httpx, cryptography
and the standard library only, so a business system can vendor the package as it is
(docs/sdk.md)."""

from yunzhang.sdk.errors import SdkError
from yunzhang.sdk.oidc import (
    Enterprise,
    Grant,
    Identity,
    IdToken,
    Login,
    LoginRequest,
    OidcClient,
    ProviderMetadata,
    TokenResponse,
    code_challenge,
    new_login,
)
from yunzhang.sdk.requests import (
    Document,
    DocumentStatus,
    PlatformClient,
    Placement,
    ScanResult,
    ScanSession,
    SignedDocument,
    SigningRequest,
    Step,
    StepStatus,
)
from yunzhang.sdk.webhooks import WebhookEvent, sign_webhook, verify_signature, verify_webhook

__all__ = [
    "Document", "DocumentStatus", "Enterprise", "Grant", "IdToken", "Identity", "Login",
    "LoginRequest", "OidcClient", "Placement", "PlatformClient", "ProviderMetadata",
    "ScanResult", "ScanSession", "SdkError", "SignedDocument", "SigningRequest", "Step",
    "StepStatus", "TokenResponse", "WebhookEvent", "code_challenge", "new_login",
    "sign_webhook", "verify_signature", "verify_webhook",
]
