"""The X.509 factory without a database: a test PKI built with an in-memory key store, judged by
OpenSSL (chains, CRL checking, purposes) and by cryptography (signatures, names, extensions)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp as cocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.e2e.seals_support import openssl
from tests.fakes import MemoryKeyStore
from yunzhang.adapters.x509 import X509Factory
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import (
    CertificateRequest,
    CrlRequest,
    Profile,
    RevocationReason,
    RevokedEntry,
    SerialStatus,
)
from yunzhang.errors import InvalidInput

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
AT = "1795334400"


@dataclass
class Pki:
    keys: MemoryKeyStore
    factory: X509Factory
    algorithm: KeyAlgorithm
    root: bytes
    root_key: str
    ca: bytes
    ca_key: str

    def leaf(self, profile: Profile, serial: int, cn: str = "上海云章示范科技有限公司合同专用章") -> bytes:
        key = self.keys.generate(self.algorithm, label="leaf")
        return self.factory.issue(CertificateRequest(
            profile=profile, subject=(("country_name", "CN"), ("organization_name", "上海云章示范科技有限公司"),
                                      ("organization_identifier", "NTRCN-91310115MA1K4DEM05"),
                                      ("common_name", cn)),
            public_key=key.public_key, serial=serial, not_before=T0, not_after=T0 + timedelta(days=365),
            issuer_key_id=self.ca_key, issuer_algorithm=self.algorithm, issuer_certificate=self.ca,
            crl_url="http://pki.test/crl/organization.crl", ocsp_url="http://pki.test/ocsp/organization",
            ca_issuers_url="http://pki.test/ca/organization.cer"))

    def crl(self, *revoked: int) -> bytes:
        return self.factory.crl(CrlRequest(
            issuer_certificate=self.ca, issuer_key_id=self.ca_key, issuer_algorithm=self.algorithm,
            number=len(revoked) + 1, this_update=T0, next_update=T0 + timedelta(days=1),
            revoked=tuple(RevokedEntry(s, T0, RevocationReason.KEY_COMPROMISE) for s in revoked)))


def build(algorithm: KeyAlgorithm) -> Pki:
    keys = MemoryKeyStore()
    factory = X509Factory(keys)
    root_key = keys.generate(algorithm, label="root")
    root = factory.issue(CertificateRequest(
        profile=Profile.ROOT, subject=(("country_name", "CN"), ("organization_name", "云章测试"),
                                       ("common_name", "云章测试 Root CA")),
        public_key=root_key.public_key, serial=1, not_before=T0,
        not_after=T0 + timedelta(days=3650), issuer_key_id=root_key.key_id,
        issuer_algorithm=algorithm))
    ca_key = keys.generate(algorithm, label="ca")
    ca = factory.issue(CertificateRequest(
        profile=Profile.ISSUING_CA, subject=(("country_name", "CN"), ("organization_name", "云章测试"),
                                             ("common_name", "云章测试 Organization CA")),
        public_key=ca_key.public_key, serial=2, not_before=T0, not_after=T0 + timedelta(days=1800),
        issuer_key_id=root_key.key_id, issuer_algorithm=algorithm, issuer_certificate=root,
        crl_url="http://pki.test/crl/root.crl"))
    return Pki(keys, factory, algorithm, root, root_key.key_id, ca, ca_key.key_id)


@pytest.fixture(scope="module", params=[KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_2048])
def pki(request: pytest.FixtureRequest) -> Pki:
    return build(request.param)


def pem(path: Path, der: bytes) -> Path:
    path.write_bytes(x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM))
    return path


def test_chains_verify_and_a_flipped_signature_does_not(pki: Pki, tmp_path: Path) -> None:
    root, ca = pem(tmp_path / "root.pem", pki.root), pem(tmp_path / "ca.pem", pki.ca)
    for profile, purpose in ((Profile.SEAL, "any"), (Profile.ENTERPRISE, "sslclient"),
                             (Profile.PERSON, "sslclient"), (Profile.TSA, "timestampsign")):
        leaf = pem(tmp_path / f"{profile.value}.pem", pki.leaf(profile, 100 + len(profile.value)))
        openssl("verify", "-x509_strict", "-attime", AT, "-purpose", purpose, "-CAfile", str(root),
                "-untrusted", str(ca), str(leaf))
    der = bytearray(pki.leaf(Profile.SEAL, 7))
    der[-5] ^= 0x01  # inside the signature value
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\n" + __import__("base64").encodebytes(bytes(der)).decode()
                   + "-----END CERTIFICATE-----\n")
    done = openssl("verify", "-attime", AT, "-CAfile", str(root), "-untrusted", str(ca), str(bad),
                   check=False)
    assert done.returncode != 0 and "signature failure" in done.stdout + done.stderr


def test_extensions_names_and_signature_as_cryptography_reads_them(pki: Pki) -> None:
    cert = x509.load_der_x509_certificate(pki.leaf(Profile.TSA, 4242))
    ca = x509.load_der_x509_certificate(pki.ca)
    cert.verify_directly_issued_by(ca)  # the issuer's key checks the signature
    assert cert.serial_number == 4242 and cert.not_valid_before_utc == T0
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "上海云章示范科技有限公司合同专用章"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)[0].value == \
        "NTRCN-91310115MA1K4DEM05"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = x509.load_der_x509_certificate(pki.leaf(Profile.SEAL, 5)).extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment


def test_a_crl_revokes_for_openssl(pki: Pki, tmp_path: Path) -> None:
    root, ca = pem(tmp_path / "root.pem", pki.root), pem(tmp_path / "ca.pem", pki.ca)
    good, revoked = pki.leaf(Profile.SEAL, 501), pki.leaf(Profile.SEAL, 502)
    crl_path = tmp_path / "ca.crl"
    crl_path.write_bytes(x509.load_der_x509_crl(pki.crl(502)).public_bytes(serialization.Encoding.PEM))
    root_crl = tmp_path / "root.crl"
    root_crl.write_bytes(x509.load_der_x509_crl(pki.factory.crl(CrlRequest(
        issuer_certificate=pki.root, issuer_key_id=pki.root_key, issuer_algorithm=pki.algorithm,
        number=1, this_update=T0, next_update=T0 + timedelta(days=1), revoked=()))).public_bytes(
        serialization.Encoding.PEM))
    text = openssl("crl", "-in", str(crl_path), "-CAfile", str(ca), "-noout", "-text")
    assert "Key Compromise" in text.stdout and "X509v3 CRL Number" in text.stdout
    common = ("verify", "-attime", AT, "-crl_check_all", "-CAfile", str(root), "-untrusted", str(ca),
              "-CRLfile", str(crl_path), "-CRLfile", str(root_crl))
    openssl(*common, str(pem(tmp_path / "good.pem", good)))
    refused = openssl(*common, str(pem(tmp_path / "revoked.pem", revoked)), check=False)
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr


def test_ocsp_answers_good_revoked_and_unknown_with_either_hash(pki: Pki) -> None:
    ca = x509.load_der_x509_certificate(pki.ca)
    leaves = [x509.load_der_x509_certificate(pki.leaf(Profile.SEAL, s)) for s in (601, 602, 603)]
    for algorithm in (hashes.SHA1(), hashes.SHA256()):
        builder = cocsp.OCSPRequestBuilder()
        builder = builder.add_certificate(leaves[0], ca, algorithm)
        request = builder.add_extension(x509.OCSPNonce(b"n" * 16), critical=False).build()
        der = request.public_bytes(serialization.Encoding.DER)
        assert pki.factory.ocsp_serials(der) == [601]
        for statuses, expected in (
                ({601: SerialStatus(True)}, cocsp.OCSPCertStatus.GOOD),
                ({601: SerialStatus(True, RevokedEntry(601, T0, RevocationReason.SUPERSEDED))},
                 cocsp.OCSPCertStatus.REVOKED),
                ({}, cocsp.OCSPCertStatus.UNKNOWN)):
            answer = cocsp.load_der_ocsp_response(pki.factory.ocsp_response(
                der, issuer_certificate=pki.ca, issuer_key_id=pki.ca_key,
                issuer_algorithm=pki.algorithm, statuses=statuses, at=T0,
                next_update=T0 + timedelta(hours=1)))
            assert answer.certificate_status == expected
            assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"n" * 16
            if expected is cocsp.OCSPCertStatus.REVOKED:
                assert answer.revocation_reason == x509.ReasonFlags.superseded
    # Asked of the wrong issuer (the root's name and key hashes): unknown, whatever the serial.
    other = cocsp.OCSPRequestBuilder().add_certificate_by_hash(
        b"\x00" * 20, b"\x00" * 20, 601, hashes.SHA1()).build().public_bytes(serialization.Encoding.DER)
    answer = cocsp.load_der_ocsp_response(pki.factory.ocsp_response(
        other, issuer_certificate=pki.ca, issuer_key_id=pki.ca_key, issuer_algorithm=pki.algorithm,
        statuses={601: SerialStatus(True)}, at=T0, next_update=T0 + timedelta(hours=1)))
    assert answer.certificate_status == cocsp.OCSPCertStatus.UNKNOWN
    for garbage in (b"", b"\x30\x00", b"junk", b"\x30\x03\x02\x01\x00"):
        with pytest.raises(InvalidInput):
            pki.factory.ocsp_serials(garbage)
    malformed = cocsp.load_der_ocsp_response(pki.factory.malformed_ocsp_response())
    assert malformed.response_status == cocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_requests_made_by_openssl_are_read_and_bad_ones_refused(tmp_path: Path) -> None:
    factory = X509Factory(MemoryKeyStore())
    for args, algorithm in ((["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], KeyAlgorithm.EC_P256),
                            (["-newkey", "rsa:2048"], KeyAlgorithm.RSA_2048)):
        path = tmp_path / f"{algorithm.value}.csr"
        openssl("req", "-new", *args, "-nodes", "-keyout", str(tmp_path / "k.pem"), "-subj",
                "/CN=phone", "-out", str(path))
        info = factory.read_csr(path.read_bytes())
        assert (info.algorithm, info.common_name) == (algorithm, "phone")
        der = subprocess.run(["openssl", "req", "-in", str(path), "-outform", "DER"],
                             capture_output=True, check=True).stdout
        assert factory.read_csr(der).public_key == info.public_key
        tampered = bytearray(der)
        tampered[-3] ^= 0x01
        with pytest.raises(InvalidInput) as bad:
            factory.read_csr(bytes(tampered))
        assert bad.value.code == "certificate.csr"
    p384 = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
            .sign(ec.generate_private_key(ec.SECP384R1()), hashes.SHA256()))
    for bad_input in (b"", b"   ", b"garbage", b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n",
                      p384.public_bytes(serialization.Encoding.DER), b"0" * 70_000):
        with pytest.raises(InvalidInput) as refused:
            factory.read_csr(bad_input)
        assert refused.value.code == "certificate.csr"
