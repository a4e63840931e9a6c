"""The local CA and server certificate behind the HTTPS sandbox, and the loopback-only rule."""

from __future__ import annotations

import ipaddress
import ssl
import stat

import pytest
from cryptography import x509

from reconciler.sandbox import server as sandbox_server
from reconciler.sandbox.tls import default_cert_dir, ensure_certificates


def test_certificates_are_created_for_loopback_and_signed_by_the_local_ca(tmp_path):
    """The server certificate names localhost and 127.0.0.1 and chains to the generated CA."""
    certs = ensure_certificates(tmp_path / "certs")
    ca = x509.load_pem_x509_certificate(certs.ca_path.read_bytes())
    leaf = x509.load_pem_x509_certificate(certs.cert_path.read_bytes())
    leaf.verify_directly_issued_by(ca)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    context = ssl.create_default_context(cafile=str(certs.ca_path))
    assert context.get_ca_certs()


def test_certificates_are_reused_and_keys_are_private(tmp_path):
    """A second call reuses the files; private keys are readable by the owner only."""
    first = ensure_certificates(tmp_path)
    before = first.cert_path.read_bytes(), first.ca_path.read_bytes()
    second = ensure_certificates(tmp_path)
    assert (second.cert_path.read_bytes(), second.ca_path.read_bytes()) == before
    for key in (first.key_path, first.ca_key_path):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_server_certificate_not_signed_by_the_current_ca_is_replaced(tmp_path):
    """If the CA is regenerated, the server certificate is re-signed by the new CA."""
    certs = ensure_certificates(tmp_path)
    certs.ca_path.unlink()
    ensure_certificates(tmp_path)
    ca = x509.load_pem_x509_certificate(certs.ca_path.read_bytes())
    x509.load_pem_x509_certificate(certs.cert_path.read_bytes()).verify_directly_issued_by(ca)


def test_cert_dir_sits_next_to_the_state_file(tmp_path):
    """The default certificate folder is beside the state file."""
    assert default_cert_dir(tmp_path / "world.db") == tmp_path / "world.db.certs"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_non_loopback_hosts_are_refused(tmp_path, host):
    """The server refuses to bind anything but loopback."""
    with pytest.raises(ValueError, match="loopback"):
        sandbox_server.start_in_thread(state_path=tmp_path / "s.db", host=host, sandbox=object())
