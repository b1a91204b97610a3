"""The reference wallet (云章钱包), standing in for the phone app: an encrypted device key, device
enrolment, and scan sessions answered with device-signed steps."""

from yunzhang.wallet.client import ScanRequest, WalletClient, signed_step
from yunzhang.wallet.store import WalletError, WalletStore

__all__ = ["ScanRequest", "WalletClient", "WalletError", "WalletStore", "signed_step"]
