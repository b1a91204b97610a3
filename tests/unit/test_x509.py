"""Certificates and CRLs of the X.509 factory, judged by OpenSSL (chains, purposes, extensions as
it prints them, CRL checking) and read back with cryptography (signatures, names, times)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.unit.x509_support import (  # noqa: F401  (pki is a fixture)
    AT,
    CAS,
    LEAVES,
    SPECS,
    T0,
    Pki,
    build,  # noqa: F401  (tests/e2e/test_stamping.py imports it from here)
    flat,
    openssl,
    pki,
    urls,
    write_pem,
)
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import CertificateRequest, Profile, RevocationReason
from yunzhang.errors import InvalidInput

PURPOSE = {"tsa": "timestampsign", "enterprise": "sslclient", "seal": "any",
           "revoked-seal": "any", "person": "sslclient"}
DOCUMENT_SIGNING = r"(?:1\.3\.6\.1\.5\.5\.7\.3\.36|Document Signing)"  # OpenSSL 3.0 has no name
SIGNING = "X509v3 Key Usage: critical Digital Signature, Non Repudiation X509v3"
SHORT = {"country_name": "C", "organization_name": "O",
         "organization_identifier": "organizationIdentifier", "common_name": "CN"}
OIDS = {"country_name": NameOID.COUNTRY_NAME, "organization_name": NameOID.ORGANIZATION_NAME,
        "organization_identifier": NameOID.ORGANIZATION_IDENTIFIER,
        "common_name": NameOID.COMMON_NAME}


def aia(issuer: str) -> str:
    return (f"Authority Information Access: OCSP - URI:{urls(issuer)['ocsp_url']} "
            f"CA Issuers - URI:{urls(issuer)['ca_issuers_url']}")


def crl_dp(issuer: str) -> str:
    return f"X509v3 CRL Distribution Points: Full Name: URI:{urls(issuer)['crl_url']}"


# What `openssl x509 -text` must show (regular expressions over the flattened text), per label.
EXPECTED: dict[str, list[str]] = {
    "root": [r"Basic Constraints: critical CA:TRUE X509v3",
             r"Key Usage: critical Certificate Sign, CRL Sign X509v3"],
    "organization": [r"Basic Constraints: critical CA:TRUE, pathlen:0 X509v3",
                     r"Key Usage: critical Certificate Sign, CRL Sign X509v3",
                     re.escape(crl_dp("root")), re.escape(aia("root"))],
    "tsa": [r"Basic Constraints: critical CA:FALSE", SIGNING,
            r"Extended Key Usage: critical Time Stamping X509v3",
            re.escape(crl_dp("organization")), re.escape(aia("organization"))],
    "enterprise": [r"Basic Constraints: critical CA:FALSE", SIGNING,
                   rf"Extended Key Usage: TLS Web Client Authentication, {DOCUMENT_SIGNING} X509v3",
                   re.escape(crl_dp("organization")), re.escape(aia("organization"))],
    "seal": [r"Basic Constraints: critical CA:FALSE", SIGNING,
             rf"Extended Key Usage: {DOCUMENT_SIGNING} X509v3",
             re.escape(crl_dp("organization")), re.escape(aia("organization"))],
    "person": [r"Basic Constraints: critical CA:FALSE", SIGNING,
               rf"Extended Key Usage: TLS Web Client Authentication, {DOCUMENT_SIGNING} X509v3",
               re.escape(crl_dp("person-ca")), re.escape(aia("person-ca"))],
}
ABSENT: dict[str, list[str]] = {
    "root": ["Extended Key Usage", "CRL Distribution Points", "Authority Information Access",
             "pathlen"],
    "organization": ["Extended Key Usage"],
}


def text_of(path: Path) -> str:
    return openssl("x509", "-in", path, "-noout", "-text", "-nameopt", "utf8",
                   "-certopt", "no_pubkey,no_sigdump").stdout


def key_ids(text: str) -> tuple[str, str]:
    ski = re.search(r"Subject Key Identifier: ?\n\s*([0-9A-F:]+)", text)
    aki = re.search(r"Authority Key Identifier: ?\n\s*(?:keyid:)?([0-9A-F:]+)", text)
    assert ski and aki, text
    return ski.group(1), aki.group(1)


def shown(subject: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{SHORT[attribute]}={value}" for attribute, value in subject)


# --- chains and purposes -----------------------------------------------------------------------

@pytest.mark.parametrize("label", LEAVES)
def test_each_leaf_chains_to_the_root_for_openssl(pki: Pki, label: str, tmp_path: Path) -> None:
    issuer = pki.issuer_of(label)
    root, ca, leaf = pki.files(tmp_path, "root", issuer, label)
    done = openssl("verify", "-x509_strict", *AT, "-purpose", PURPOSE[label], "-CAfile", root,
                   "-untrusted", ca, leaf)
    assert f"{leaf}: OK" in done.stdout


def test_the_cas_verify_strictly(pki: Pki, tmp_path: Path) -> None:
    root, organization, person = pki.files(tmp_path, *CAS)
    for path in (root, organization, person):
        openssl("verify", "-x509_strict", *AT, "-CAfile", root, path)


@pytest.mark.parametrize(("label", "purpose"), [
    ("seal", "sslclient"),  # documentSigning alone
    ("tsa", "sslclient"),  # RFC 3161 §2.3: timeStamping alone
    ("enterprise", "timestampsign"),
])
def test_purposes_outside_the_profile_are_refused(pki: Pki, label: str, purpose: str,
                                                  tmp_path: Path) -> None:
    root, ca, leaf = pki.files(tmp_path, "root", "organization", label)
    refused = openssl("verify", "-x509_strict", *AT, "-purpose", purpose, "-CAfile", root,
                      "-untrusted", ca, leaf, check=False)
    assert refused.returncode != 0 and "unsuitable certificate purpose" in refused.stdout


def test_a_leaf_cannot_issue_and_an_issuing_ca_cannot_have_a_sub_ca(pki: Pki, tmp_path: Path) -> None:
    def under(issuer: str, profile: Profile, serial: int) -> bytes:
        key = pki.keys.generate(pki.algorithm, label="extra")
        return pki.factory.issue(CertificateRequest(
            profile=profile, subject=(("common_name", f"under {issuer} {serial}"),),
            public_key=key.public_key, serial=serial, not_before=T0,
            not_after=T0 + timedelta(days=30), issuer_key_id=pki.key_ids[issuer],
            issuer_algorithm=pki.algorithm, issuer_certificate=pki.der[issuer]))
    root, organization, enterprise = pki.files(tmp_path, "root", "organization", "enterprise")
    by_leaf = write_pem(tmp_path / "by-leaf.pem", "CERTIFICATE",
                        under("enterprise", Profile.SEAL, 901))
    refused = openssl("verify", *AT, "-CAfile", root, "-untrusted", organization, "-untrusted",
                      enterprise, by_leaf, check=False)
    assert refused.returncode != 0 and "invalid CA certificate" in refused.stdout
    # pathLen 0 (RFC 5280 §4.2.1.9): no CA below an issuing CA.
    sub_ca = under("organization", Profile.ISSUING_CA, 902)
    pki.der["sub-ca"], pki.key_ids["sub-ca"] = sub_ca, pki.key_ids["organization"]
    sub = write_pem(tmp_path / "sub.pem", "CERTIFICATE", sub_ca)
    leaf = write_pem(tmp_path / "leaf.pem", "CERTIFICATE", under("sub-ca", Profile.SEAL, 903))
    refused = openssl("verify", *AT, "-CAfile", root, "-untrusted", organization, "-untrusted",
                      sub, leaf, check=False)
    assert refused.returncode != 0 and "path length constraint exceeded" in refused.stdout


def test_a_flipped_signature_byte_fails_verification(pki: Pki, tmp_path: Path) -> None:
    root, ca = pki.files(tmp_path, "root", "organization")
    der = bytearray(pki.der["seal"])
    der[-1] ^= 0x01  # the last octet of the signature value
    bad = write_pem(tmp_path / "bad.pem", "CERTIFICATE", bytes(der))
    refused = openssl("verify", *AT, "-CAfile", root, "-untrusted", ca, bad, check=False)
    assert refused.returncode != 0 and "certificate signature failure" in refused.stdout


# --- what the certificates say -----------------------------------------------------------------

@pytest.mark.parametrize("label", [*CAS[:2], "tsa", "enterprise", "seal", "person"])
def test_openssl_shows_each_profiles_extensions_and_names(pki: Pki, label: str,
                                                         tmp_path: Path) -> None:
    issuer = pki.issuer_of(label)
    (path,) = pki.files(tmp_path, label)
    text = text_of(path)
    one_line = flat(text)
    for expected in EXPECTED[label]:
        assert re.search(expected, one_line), f"{expected!r} not in:\n{text}"
    for absent in ABSENT.get(label, []):
        assert absent not in one_line
    # RFC 5280 §4.2.1.2 method 1, and the chain of key identifiers.
    ski, aki = key_ids(text)
    digest = x509.SubjectKeyIdentifier.from_public_key(pki.cert(label).public_key()).digest
    assert ski == digest.hex(":").upper()
    assert aki == key_ids(text_of(pki.files(tmp_path, issuer)[0]))[0]
    # Names in UTF-8, as given, in order; the issuer is the issuing CA's subject.
    assert f"Subject: {shown(pki.requests[label].subject)}\n" in text
    assert f"Issuer: {shown(pki.requests[issuer].subject)}\n" in text
    assert f"Not Before: {T0:%b %d %H:%M:%S %Y} GMT" in text


def test_name_strings_are_utf8_except_the_country(pki: Pki, tmp_path: Path) -> None:
    (path,) = pki.files(tmp_path, "seal")
    parsed = openssl("asn1parse", "-in", path).stdout
    assert re.search(r"OBJECT\s+:countryName\n.*PRINTABLESTRING\s+:CN\n", parsed)
    assert re.search(r"OBJECT\s+:organizationIdentifier\n.*UTF8STRING\s+:NTRCN-", parsed)
    assert re.search(r"OBJECT\s+:commonName\n.*UTF8STRING\s+:上海云章示范科技有限公司合同专用章\n", parsed)


@pytest.mark.parametrize("label", [*CAS, *LEAVES])
def test_cryptography_reads_back_what_was_asked_and_checks_the_signature(pki: Pki,
                                                                         label: str) -> None:
    cert, request = pki.cert(label), pki.requests[label]
    cert.verify_directly_issued_by(pki.cert(pki.issuer_of(label)))
    assert cert.version is x509.Version.v3
    assert cert.serial_number == request.serial
    assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == (request.not_before,
                                                                     request.not_after)
    assert [(a.oid, a.value) for a in cert.subject] == [(OIDS[k], v) for k, v in request.subject]
    assert cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo
                                          ) == request.public_key
    # RFC 5758 §3.2: no parameters for ECDSA; RFC 4055 §5: NULL for RSA (twice: TBS and outer).
    identifier = (bytes.fromhex("300a06082a8648ce3d040302") if pki.algorithm is KeyAlgorithm.EC_P256
                  else bytes.fromhex("300d06092a864886f70d01010b0500"))
    assert pki.der[label].count(identifier) == 2


def test_times_from_2050_on_are_generalized_time(pki: Pki, tmp_path: Path) -> None:
    key = pki.keys.generate(pki.algorithm, label="long")
    late = datetime(2051, 3, 1, 12, 30, 15, 999_000, tzinfo=UTC)
    der = pki.factory.issue(CertificateRequest(
        profile=Profile.SEAL, subject=(("common_name", "long-lived"),), public_key=key.public_key,
        serial=77, not_before=T0, not_after=late, issuer_key_id=pki.key_ids["organization"],
        issuer_algorithm=pki.algorithm, issuer_certificate=pki.der["organization"]))
    path = write_pem(tmp_path / "long.pem", "CERTIFICATE", der)
    parsed = openssl("asn1parse", "-in", path).stdout
    assert "UTCTIME           :261122080000Z" in parsed  # RFC 5280 §4.1.2.5: through 2049
    assert "GENERALIZEDTIME   :20510301123015Z" in parsed  # from 2050, whole seconds
    assert x509.load_der_x509_certificate(der).not_valid_after_utc == late.replace(microsecond=0)
    root, ca = pki.files(tmp_path, "root", "organization")
    openssl("verify", *AT, "-CAfile", root, "-untrusted", ca, path)


def test_the_issuer_name_is_copied_byte_for_byte(pki: Pki, tmp_path: Path) -> None:
    """A root made elsewhere, with a PrintableString name and no subjectKeyIdentifier: its name is
    not re-encoded (RFC 5280 §7.1 compares names; many verifiers compare bytes), and the authority
    key identifier falls back to the SHA-1 of its key."""
    private = ec.generate_private_key(ec.SECP256R1())
    legacy_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Legacy Root",
                                                x509.name._ASN1Type.PrintableString)])
    legacy = (x509.CertificateBuilder().subject_name(legacy_name).issuer_name(legacy_name)
              .public_key(private.public_key()).serial_number(5).not_valid_before(T0)
              .not_valid_after(T0 + timedelta(days=3650))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                           key_encipherment=False, data_encipherment=False,
                                           key_agreement=False, key_cert_sign=True, crl_sign=True,
                                           encipher_only=False, decipher_only=False), critical=True)
              .sign(private, hashes.SHA256()))
    pki.keys.keys["legacy"] = private
    key = pki.keys.generate(pki.algorithm, label="under-legacy")
    der = pki.factory.issue(CertificateRequest(
        profile=Profile.ISSUING_CA, subject=(("common_name", "新 CA"),), public_key=key.public_key,
        serial=6, not_before=T0, not_after=T0 + timedelta(days=30), issuer_key_id="legacy",
        issuer_algorithm=KeyAlgorithm.EC_P256,
        issuer_certificate=legacy.public_bytes(serialization.Encoding.DER)))
    cert = x509.load_der_x509_certificate(der)
    assert cert.issuer.public_bytes() == legacy_name.public_bytes()
    assert b"\x13\x0bLegacy Root" in der  # still a PrintableString
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    method_1 = x509.SubjectKeyIdentifier.from_public_key(private.public_key()).digest
    assert aki.key_identifier == method_1
    root = write_pem(tmp_path / "legacy.pem", "CERTIFICATE",
                     legacy.public_bytes(serialization.Encoding.DER))
    # Not -x509_strict: that wants the subjectKeyIdentifier the legacy root lacks on purpose.
    openssl("verify", *AT, "-CAfile", root, write_pem(tmp_path / "new.pem", "CERTIFICATE", der))


@pytest.mark.parametrize(("subject", "detail"), [
    ((("country_name", "中国"),), "PrintableString"),
    ((("common_name", ""),), "empty"),
    ((("surname_of_the_cat", "x"),), "unknown name attribute"),
])
def test_names_that_cannot_be_encoded_are_refused(pki: Pki, subject: tuple[tuple[str, str], ...],
                                                  detail: str) -> None:
    key = pki.keys.generate(pki.algorithm, label="bad-name")
    with pytest.raises(InvalidInput) as refused:
        pki.factory.issue(CertificateRequest(
            profile=Profile.SEAL, subject=subject, public_key=key.public_key, serial=8,
            not_before=T0, not_after=T0 + timedelta(days=1), issuer_key_id=pki.key_ids["organization"],
            issuer_algorithm=pki.algorithm, issuer_certificate=pki.der["organization"]))
    assert refused.value.code == "certificate.subject" and detail in refused.value.detail


# --- CRLs ----------------------------------------------------------------------------------------

REVOKED_SEAL = SPECS["revoked-seal"].serial


def test_a_crl_verifies_and_revokes_for_openssl(pki: Pki, tmp_path: Path) -> None:
    root, ca, good, revoked = pki.files(tmp_path, "root", "organization", "seal", "revoked-seal")
    crl = write_pem(tmp_path / "organization.crl", "X509 CRL", pki.crl(
        "organization", (REVOKED_SEAL, RevocationReason.KEY_COMPROMISE), number=42))
    root_crl = write_pem(tmp_path / "root.crl", "X509 CRL", pki.crl("root"))
    chain = tmp_path / "chain.pem"
    chain.write_bytes(root.read_bytes() + ca.read_bytes())
    assert "verify OK" in openssl("crl", "-in", crl, "-CAfile", chain, "-noout").stdout
    assert "verify OK" in openssl("crl", "-in", root_crl, "-CAfile", root, "-noout").stdout
    for check in (["-crl_check"], ["-crl_check_all", "-CRLfile", root_crl]):
        common = ("verify", "-x509_strict", *AT, *check, "-CAfile", root, "-untrusted", ca,
                  "-CRLfile", crl)
        assert f"{good}: OK" in openssl(*common, good).stdout
        refused = openssl(*common, revoked, check=False)
        assert refused.returncode != 0 and "certificate revoked" in refused.stdout


def test_the_crl_says_what_rfc_5280_asks(pki: Pki, tmp_path: Path) -> None:
    reasons = [(REVOKED_SEAL, RevocationReason.KEY_COMPROMISE), (0x100, RevocationReason.UNSPECIFIED),
               (0x101, RevocationReason.AFFILIATION_CHANGED), (0x102, RevocationReason.SUPERSEDED),
               (0x103, RevocationReason.CESSATION_OF_OPERATION)]
    der = pki.crl("organization", *reasons, number=42)
    path = write_pem(tmp_path / "organization.crl", "X509 CRL", der)
    text = openssl("crl", "-in", path, "-noout", "-text", "-nameopt", "utf8").stdout
    one_line = flat(text)
    (ca_pem,) = pki.files(tmp_path, "organization")
    ski, _ = key_ids(text_of(ca_pem))
    assert "Version 2 (0x1)" in text
    assert f"Issuer: {shown(pki.requests['organization'].subject)}\n" in text
    assert f"Last Update: {T0:%b %d %H:%M:%S %Y} GMT" in text
    assert f"Next Update: {T0 + timedelta(days=1):%b %d %H:%M:%S %Y} GMT" in text
    assert "X509v3 CRL Number: 42" in one_line
    assert f"X509v3 Authority Key Identifier: {ski}" in one_line
    assert f"Serial Number: {REVOKED_SEAL:04X} Revocation Date: Nov 22 09:00:00 2026 GMT " \
           "CRL entry extensions: X509v3 CRL Reason Code: Key Compromise" in one_line
    # RFC 5280 §5.3.1: no reason code at all rather than "unspecified".
    assert "Serial Number: 0100 Revocation Date: Nov 22 09:00:00 2026 GMT Serial Number: 0101" \
        in one_line
    for shown_reason in ("Affiliation Changed", "Superseded", "Cessation Of Operation"):
        assert f"CRL Reason Code: {shown_reason}" in one_line
    crl = x509.load_der_x509_crl(der)
    assert crl.is_signature_valid(pki.cert("organization").public_key())
    assert crl.issuer.public_bytes() == pki.cert("organization").subject.public_bytes()
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).critical is False


def test_an_empty_crl_has_no_revoked_list_and_a_tampered_one_fails(pki: Pki, tmp_path: Path) -> None:
    root = pki.files(tmp_path, "root")[0]
    der = pki.crl("root")
    path = write_pem(tmp_path / "root.crl", "X509 CRL", der)
    assert "No Revoked Certificates." in openssl("crl", "-in", path, "-noout", "-text").stdout
    tampered = bytearray(der)
    tampered[-1] ^= 0x01
    bad = write_pem(tmp_path / "bad.crl", "X509 CRL", bytes(tampered))
    refused = openssl("crl", "-in", bad, "-CAfile", root, "-noout", check=False)
    assert "verify failure" in refused.stdout
