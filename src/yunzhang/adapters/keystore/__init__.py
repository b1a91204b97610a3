"""Key custody behind the KeyStore Protocol: software (envelope-encrypted files) or PKCS #11."""

from __future__ import annotations

from yunzhang.adapters.keystore.kek import KekRing
from yunzhang.adapters.keystore.software import SoftwareKeyStore
from yunzhang.config import Settings
from yunzhang.services.ports import Clock, KeyStore


def build_keystore(settings: Settings, clock: Clock) -> KeyStore:
    if settings.keystore == "pkcs11":
        from yunzhang.adapters.keystore.pkcs11 import Pkcs11KeyStore

        return Pkcs11KeyStore(settings.pkcs11_module, settings.pkcs11_token_label,
                              settings.pkcs11_pin.get_secret_value())
    ring = KekRing.from_settings(settings.kek.get_secret_value(), settings.kek_file)
    return SoftwareKeyStore(settings.effective_keys_dir, ring, clock)


__all__ = ["KekRing", "SoftwareKeyStore", "build_keystore"]
