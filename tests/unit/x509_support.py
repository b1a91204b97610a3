"""The declarative test PKI of the X.509 unit tests, made by the factory with an in-memory key
store, and OpenSSL as the independent judge of what it makes.

Imported by tests/unit/test_x509.py, test_x509_ocsp.py and test_x509_csr.py; the ``pki`` fixture
is built once per module for each key algorithm.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.fakes import MemoryKeyStore
from yunzhang.adapters.x509 import X509Factory
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import (
    CertificateRequest,
    CrlRequest,
    DistinguishedName,
    Profile,
    RevocationReason,
    RevokedEntry,
)

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
# OpenSSL judges chains at the PKI's own instant rather than the real clock...
AT = ("-attime", str(int(T0.timestamp())))
# ...but an OCSP answer's thisUpdate/nextUpdate by the real clock: allow any distance to it.
OCSP_TIMES = (*AT, "-validity_period", "315360000")

ORGANIZATION = "上海云章示范科技有限公司"
PERSON_NAME = "张三"


@dataclass(frozen=True)
class Spec:
    profile: Profile
    issuer: str | None  # None: self-signed
    subject: DistinguishedName
    serial: int
    days: int


def _platform(cn: str) -> DistinguishedName:
    return (("country_name", "CN"), ("organization_name", "云章测试"), ("common_name", cn))


_ENTERPRISE = (("country_name", "CN"), ("organization_name", ORGANIZATION),
               ("organization_identifier", "NTRCN-91310115MA1K4DEM05"))

# Issuers before what they issue. "person" gets its key from a PKCS #10 request made on the
# person's device, and its common name from that request.
SPECS: dict[str, Spec] = {
    "root": Spec(Profile.ROOT, None, _platform("云章测试根 CA"), 1, 3650),
    "organization": Spec(Profile.ISSUING_CA, "root", _platform("云章测试机构 CA"), 2, 1825),
    "person-ca": Spec(Profile.ISSUING_CA, "root", _platform("云章测试个人 CA"), 3, 1825),
    "tsa": Spec(Profile.TSA, "organization", _platform("云章测试时间戳服务"), 0x75A, 730),
    # A serial of the full 20 octets RFC 5280 §4.1.2.2 allows, first bit clear.
    "enterprise": Spec(Profile.ENTERPRISE, "organization",
                       (*_ENTERPRISE, ("common_name", ORGANIZATION)),
                       int.from_bytes(b"\x7f" + bytes(range(1, 20))), 365),
    "seal": Spec(Profile.SEAL, "organization",
                 (*_ENTERPRISE, ("common_name", f"{ORGANIZATION}合同专用章")), 0x5EA1, 365),
    "revoked-seal": Spec(Profile.SEAL, "organization",
                         (*_ENTERPRISE, ("common_name", f"{ORGANIZATION}财务专用章")), 0x5EA2, 365),
    "person": Spec(Profile.PERSON, "person-ca", (("country_name", "CN"),), 0x9E, 365),
}
CAS = ("root", "organization", "person-ca")
LEAVES = ("tsa", "enterprise", "seal", "revoked-seal", "person")


def urls(issuer: str) -> dict[str, str]:
    return {"crl_url": f"http://pki.test/crl/{issuer}.crl",
            "ocsp_url": f"http://pki.test/ocsp/{issuer}",
            "ca_issuers_url": f"http://pki.test/ca/{issuer}.cer"}


def device_key(algorithm: KeyAlgorithm) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if algorithm is KeyAlgorithm.EC_P256:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(65537, 2048)


@dataclass
class Pki:
    algorithm: KeyAlgorithm
    keys: MemoryKeyStore = field(default_factory=MemoryKeyStore)
    der: dict[str, bytes] = field(default_factory=dict)
    key_ids: dict[str, str] = field(default_factory=dict)
    requests: dict[str, CertificateRequest] = field(default_factory=dict)

    @property
    def factory(self) -> X509Factory:
        return X509Factory(self.keys)

    def add(self, label: str, spec: Spec, public_key: bytes, subject: DistinguishedName) -> None:
        issuer = spec.issuer or label
        request = CertificateRequest(
            profile=spec.profile, subject=subject, public_key=public_key, serial=spec.serial,
            not_before=T0, not_after=T0 + timedelta(days=spec.days),
            issuer_key_id=self.key_ids[issuer], issuer_algorithm=self.algorithm,
            issuer_certificate=self.der[spec.issuer] if spec.issuer else None,
            **(urls(spec.issuer) if spec.issuer else {}))
        self.requests[label] = request
        self.der[label] = self.factory.issue(request)

    # The names tests/e2e/test_stamping.py uses for "someone else's CA".
    @property
    def root(self) -> bytes:
        return self.der["root"]

    @property
    def ca(self) -> bytes:
        return self.der["organization"]

    @property
    def ca_key(self) -> str:
        return self.key_ids["organization"]

    def cert(self, label: str) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der[label])

    def issuer_of(self, label: str) -> str:
        return SPECS[label].issuer or label

    def files(self, directory: Path, *labels: str) -> list[Path]:
        """Each certificate as ``<label>.pem`` in ``directory``."""
        paths = []
        for label in labels:
            path = directory / f"{label}.pem"
            write_pem(path, "CERTIFICATE", self.der[label])
            paths.append(path)
        return paths

    def crl(self, issuer: str, *revoked: tuple[int, RevocationReason], number: int = 1) -> bytes:
        return self.factory.crl(CrlRequest(
            issuer_certificate=self.der[issuer], issuer_key_id=self.key_ids[issuer],
            issuer_algorithm=self.algorithm, number=number, this_update=T0,
            next_update=T0 + timedelta(days=1),
            revoked=tuple(RevokedEntry(serial, T0 + timedelta(hours=1), reason)
                          for serial, reason in revoked)))


def build(algorithm: KeyAlgorithm) -> Pki:
    pki = Pki(algorithm)
    for label, spec in SPECS.items():
        if label == "person":
            csr = (x509.CertificateSigningRequestBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, PERSON_NAME)]))
                   .sign(device_key(algorithm), hashes.SHA256()))
            info = pki.factory.read_csr(csr.public_bytes(serialization.Encoding.PEM))
            assert info.algorithm is algorithm and info.common_name == PERSON_NAME
            pki.add(label, spec, info.public_key, (*spec.subject, ("common_name", PERSON_NAME)))
            continue
        key = pki.keys.generate(algorithm, label=label)
        pki.key_ids[label] = key.key_id
        pki.add(label, spec, key.public_key, spec.subject)
    return pki


@pytest.fixture(scope="module", params=[KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_2048],
                ids=lambda algorithm: str(algorithm.value))
def pki(request: pytest.FixtureRequest) -> Pki:
    return build(request.param)


def write_pem(path: Path, label: str, der: bytes) -> Path:
    path.write_bytes(pem(label, der))
    return path


def pem(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""]).encode()


def openssl(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run OpenSSL; a missing OpenSSL fails the test, never skips it. ``stdout`` + ``stderr``
    together are in ``.stdout`` (OpenSSL splits its verdicts between them)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is missing: run `bash scripts/ensure-packages.sh test`")
    done = subprocess.run(["openssl", *map(str, args)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, encoding="utf-8", errors="replace", timeout=60)
    if check:
        assert done.returncode == 0, f"openssl {' '.join(map(str, args))}:\n{done.stdout}"
    return done


def flat(text: str) -> str:
    """OpenSSL's indented text on one line, single spaces: easy to match across lines."""
    return " ".join(text.split())
