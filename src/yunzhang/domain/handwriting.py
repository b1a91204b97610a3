"""The person's handwritten signature (手写签名, seed 001 §3.8): drawn or photographed in the wallet,
made transparent, and bound to the person's certificate by a signature of the person-signing key
over the image's digest, so a signature's visible image is the one its signer approved."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

BOX_MM = (40.0, 16.0)  # the signature's size on the page
DPI = 600
PREFIX = b"yunzhang-handwriting-v1"


def binding_message(certificate_serial: str, png_sha256: str) -> bytes:
    """What the person-signing key signs to bind an image to its certificate."""
    return b"\n".join([PREFIX, certificate_serial.encode(), png_sha256.encode()])


@dataclass(frozen=True)
class HandwritingData:
    """A processed handwritten signature: black ink on a transparent background."""

    png: bytes
    width_px: int
    height_px: int


@dataclass(eq=False)
class SignatureImage:
    person_id: uuid.UUID
    certificate_serial: str  # the person certificate whose key signed ``proof``
    png: bytes = field(repr=False)  # the processed image (what goes on documents)
    sha256: str  # of the uploaded picture, which ``proof`` covers
    proof: bytes = field(repr=False)
    width_mm: float
    height_mm: float
    created_at: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)
