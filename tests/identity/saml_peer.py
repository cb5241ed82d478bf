"""A real SAML 2.0 identity provider for the tests: pysaml2's own IdP (`saml2.server.Server`) with
a key and certificate made here, signing with xmlsec1 exactly as in production. It reads the
AuthnRequests CoachHub sends (HTTP-Redirect) and answers with signed responses for the HTTP-POST
binding; `serve()` puts it on a loopback port with a sign-in page that posts the response to the
service provider's ACS, as Okta's or Entra's would."""

from __future__ import annotations

import base64
import datetime
import html
import shutil
import socket
import tempfile
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

AUTHN = {"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_key_pair(directory: Path, name: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.crt"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_path), str(cert_path)


class SamlIdp:
    """One identity provider. `base_url` is where its endpoints live (a loopback server, or a
    name nobody serves when the tests only need its metadata and responses)."""

    def __init__(self, base_url: str = "https://idp.test.example", *, name: str = "idp"):
        self.base_url = base_url.rstrip("/")
        self.entity_id = f"{self.base_url}/metadata"
        self.sso_url = f"{self.base_url}/sso/redirect"
        self._dir = Path(tempfile.mkdtemp(prefix="saml-idp-"))
        self.key_file, self.cert_file = make_key_pair(self._dir, name)
        self.sp_metadata: list[str] = []

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def trust(self, sp_metadata_xml: str) -> None:
        """Registers a service provider (its metadata, as CoachHub publishes it)."""
        self.sp_metadata.append(sp_metadata_xml)

    def _config(self, lifetime_minutes: int = 5):
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig
        from saml2.saml import NAMEID_FORMAT_EMAILADDRESS

        config = IdPConfig()
        config.load({
            "entityid": self.entity_id,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "key_file": self.key_file,
            "cert_file": self.cert_file,
            "service": {"idp": {
                "endpoints": {"single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]},
                "policy": {"default": {"lifetime": {"minutes": lifetime_minutes}, "attribute_restrictions": None}},
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
            }},
            "metadata": {"inline": self.sp_metadata} if self.sp_metadata else {},
        })
        return config

    @property
    def metadata_xml(self) -> str:
        from saml2.metadata import entity_descriptor

        return entity_descriptor(self._config()).to_string().decode()

    def read_request(self, redirect_url: str):
        """The AuthnRequest in a redirect CoachHub sent the browser to (HTTP-Redirect binding)."""
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.server import Server

        query = parse_qs(urlsplit(redirect_url).query)
        request = Server(config=self._config()).parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        return request.message

    def response(self, *, email: str, sp_entity_id: str, acs_url: str, in_response_to: str | None = None,
                 attributes: dict | None = None, sign_assertion: bool = True, sign_response: bool = False,
                 lifetime_minutes: int = 5) -> str:
        """A SAMLResponse (base64, for the HTTP-POST binding) signing `email` in."""
        from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
        from saml2.server import Server
        from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

        server = Server(config=self._config(lifetime_minutes=lifetime_minutes))
        identity = {"mail": [email], **(attributes or {})}
        response = server.create_authn_response(
            identity, in_response_to, acs_url, sp_entity_id,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email), authn=AUTHN,
            sign_assertion=sign_assertion, sign_response=sign_response, sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        return base64.b64encode(str(response).encode()).decode()

    def error_response(self, *, acs_url: str, status: str, message: str) -> str:
        """A SAMLResponse reporting that the sign-in failed at the IdP (no assertion)."""
        from saml2.server import Server

        response = Server(config=self._config()).create_error_response(None, acs_url, (status, message))
        return base64.b64encode(str(response).encode()).decode()


def tamper(saml_response: str, old: str, new: str) -> str:
    """The same response with text inside the signed assertion changed."""
    xml = base64.b64decode(saml_response).decode()
    assert old in xml
    return base64.b64encode(xml.replace(old, new).encode()).decode()


@contextmanager
def serve(idp_factory, *, people: dict[str, dict]):
    """Runs an IdP on a loopback port: `/metadata` serves its metadata, `/sso/redirect` reads the
    AuthnRequest and shows a sign-in page (one button per person) that posts the signed response
    to the ACS the request names; `/launch?sp=…&acs=…&who=…` starts an IdP-initiated sign-in.
    Yields the SamlIdp (made by `idp_factory(base_url)`)."""
    port = _free_port()
    idp: SamlIdp = idp_factory(f"http://127.0.0.1:{port}")

    def page(response_b64: str, acs: str, relay_state: str, who: str) -> bytes:
        relay = f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">' if relay_state else ""
        return (
            "<!doctype html><html lang=en><head><title>Test IdP</title></head><body>"
            f"<form method=post action=\"{html.escape(acs)}\">"
            f'<input type="hidden" name="SAMLResponse" value="{response_b64}">{relay}'
            f"<button type=submit>Continue as {html.escape(who)}</button></form></body></html>"
        ).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            parts = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            if parts.path == "/metadata":
                return self._send(200, idp.metadata_xml.encode(), "application/samlmetadata+xml")
            if parts.path == "/sso/redirect":
                request = idp.read_request(self.path)
                who = query.get("who") or next(iter(people))
                response = idp.response(email=people[who]["email"], sp_entity_id=request.issuer.text,
                                        acs_url=request.assertion_consumer_service_url, in_response_to=request.id,
                                        attributes=people[who].get("attributes"))
                return self._send(200, page(response, request.assertion_consumer_service_url,
                                            query.get("RelayState", ""), who))
            if parts.path == "/launch":
                who = query["who"]
                response = idp.response(email=people[who]["email"], sp_entity_id=query["sp"], acs_url=query["acs"],
                                        attributes=people[who].get("attributes"))
                return self._send(200, page(response, query["acs"], "", who))
            return self._send(404, b"not found")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        server.shutdown()
        server.server_close()
        idp.close()
