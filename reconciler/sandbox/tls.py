"""A local certificate authority and a loopback server certificate for the HTTPS sandbox.

`ensure_certificates(cert_dir)` creates (once) and then reuses:

* ``ca.pem`` / ``ca-key.pem`` — a self-signed CA, valid ten years; point the SDK's
  ``connection_verify`` (or ``REQUESTS_CA_BUNDLE``) at ``ca.pem``;
* ``server.pem`` / ``server-key.pem`` — a certificate for ``localhost`` and ``127.0.0.1``
  signed by that CA, valid one year and renewed a month before it expires.

Keys are ECDSA P-256 (fast to make, accepted by OpenSSL, urllib3 and httpx). Files are
written atomically and keys are readable by the owner only; two processes racing to create
them each produce a consistent pair (the CA is re-read before a server certificate is
signed with it).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "reconcile sandbox local CA"
SERVER_DNS = ("localhost",)
SERVER_IPS = ("127.0.0.1",)
CA_DAYS = 3650
SERVER_DAYS = 365
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class CertPaths:
    """Where the CA and the server certificate live."""

    cert_dir: Path
    ca_path: Path
    ca_key_path: Path
    cert_path: Path
    key_path: Path


def default_cert_dir(state_path: str | os.PathLike[str]) -> Path:
    """The certificate folder kept next to a sandbox state file (``<state>.certs/``)."""
    state = Path(state_path)
    return state.with_name(state.name + ".certs")


def _paths(cert_dir: Path) -> CertPaths:
    return CertPaths(
        cert_dir=cert_dir,
        ca_path=cert_dir / "ca.pem",
        ca_key_path=cert_dir / "ca-key.pem",
        cert_path=cert_dir / "server.pem",
        key_path=cert_dir / "server-key.pem",
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write(path: Path, data: bytes, *, private: bool) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        if private:
            os.chmod(tmp, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_pair(cert_path: Path, key_path: Path):
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    # Both are the elliptic-curve keys this module writes; anything else is not our pair.
    public, private = cert.public_key(), key.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(
        private, ec.EllipticCurvePublicKey
    ):
        return None
    if public.public_numbers() != private.public_numbers():
        return None
    return cert, key


def _fresh(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - RENEW_BEFORE > _now() >= cert.not_valid_before_utc


def _builder(subject: x509.Name, issuer: x509.Name, key, days: int) -> x509.CertificateBuilder:
    """A certificate for `key`, valid from five minutes ago (clock skew) for `days` days."""
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """A CA signs certificates and CRLs; the server signs and agrees keys (ECDHE with P-256)."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not ca,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _make_ca(paths: CertPaths):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        _builder(name, name, key, CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(paths.ca_key_path, _key_pem(key), private=True)
    _write(paths.ca_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return cert, key


def _make_server(paths: CertPaths, ca_cert: x509.Certificate, ca_key) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [x509.DNSName(d) for d in SERVER_DNS]
        + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
    )
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (
        _builder(subject, ca_cert.subject, key, SERVER_DAYS)
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(paths.key_path, _key_pem(key), private=True)
    _write(paths.cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)


def _signed_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except Exception:  # InvalidSignature, ValueError, TypeError
        return False
    return True


def ensure_certificates(cert_dir: str | os.PathLike[str]) -> CertPaths:
    """Create the local CA and server certificate in `cert_dir` unless valid ones exist."""
    paths = _paths(Path(cert_dir))
    paths.cert_dir.mkdir(parents=True, exist_ok=True)
    ca = _load_pair(paths.ca_path, paths.ca_key_path)
    if ca is None or not _fresh(ca[0]):
        ca = _make_ca(paths)
    server = _load_pair(paths.cert_path, paths.key_path)
    if server is None or not _fresh(server[0]) or not _signed_by(server[0], ca[0]):
        _make_server(paths, *ca)
    return paths
