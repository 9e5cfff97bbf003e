"""A real SAML 2.0 identity provider for the tests: pysaml2's IdP, signing with Debian's xmlsec1.

It serves HTTP on 127.0.0.1 in a thread: its metadata at /metadata and single sign-on at
/sso/redirect (HTTP-Redirect binding in, an auto-submitting HTTP-POST form out, as real IdPs
answer a browser). Whom it signs in is `current`, set by the test, with the attributes in
`people`.
"""

from __future__ import annotations

import datetime
import tempfile
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

XMLSEC = "/usr/bin/xmlsec1"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def self_signed(directory: Path, name: str) -> tuple[Path, Path, str]:
    """A key and a self-signed certificate (PEM files) and the certificate's PEM text."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "idp.key", directory / "idp.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_path.write_text(pem)
    return key_path, cert_path, pem


class SamlIdentityProvider:
    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="headway-test-idp-")
        self.key_file, self.cert_file, self.certificate = self_signed(
            Path(self._dir.name), "Headway test IdP"
        )
        self.people: dict[str, dict[str, list[str]]] = {}
        self.current = ""
        self._sp_metadata: list[str] = []
        self._httpd = make_server(
            "127.0.0.1", 0, self._app, server_class=_Server, handler_class=_Quiet
        )
        self.base_url = f"http://127.0.0.1:{self._httpd.server_port}"
        self.entity_id = f"{self.base_url}/metadata"
        self.sso_url = f"{self.base_url}/sso/redirect"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self._server: Any = None

    def trust_service_provider(self, metadata_xml: str) -> None:
        """Load a service provider's metadata (its entity ID and ACS URL)."""
        self._sp_metadata = [metadata_xml]
        self._server = None

    def server(self) -> Any:
        if self._server is None:
            from saml2 import BINDING_HTTP_REDIRECT
            from saml2.config import IdPConfig
            from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS
            from saml2.server import Server

            config = IdPConfig()
            config.load(
                {
                    "entityid": self.entity_id,
                    "service": {
                        "idp": {
                            "name": "Headway test IdP",
                            "endpoints": {
                                "single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]
                            },
                            "policy": {
                                "default": {
                                    "lifetime": {"minutes": 5},
                                    "attribute_restrictions": None,
                                    "name_form": NAME_FORMAT_URI,
                                }
                            },
                            "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                        }
                    },
                    "key_file": str(self.key_file),
                    "cert_file": str(self.cert_file),
                    "xmlsec_binary": XMLSEC,
                    "metadata": {"inline": self._sp_metadata},
                    "debug": 0,
                }
            )
            self._server = Server(config=config)
        return self._server

    def metadata(self) -> str:
        from saml2.metadata import create_metadata_string

        text: bytes = create_metadata_string(None, self.server().config, valid=4)
        return text.decode()

    def answer(self, saml_request: str, relay_state: str) -> tuple[str, str, str]:
        """(ACS URL, SAMLResponse, RelayState) for a request, signing in `current`."""
        from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
        from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID

        server = self.server()
        request = server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)
        message = request.message
        destination = message.assertion_consumer_service_url
        attributes = self.people[self.current]
        response = server.create_authn_response(
            identity=attributes,
            in_response_to=message.id,
            destination=destination,
            sp_entity_id=message.issuer.text,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=attributes["mail"][0]),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_response=True,
            sign_assertion=True,
            sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            digest_alg="http://www.w3.org/2001/04/xmlenc#sha256",
        )
        info = server.apply_binding(
            BINDING_HTTP_POST, str(response), destination, relay_state, response=True
        )
        import re

        html = info["data"]
        found = re.search(r'name="SAMLResponse" value="([^"]+)"', html)
        state = re.search(r'name="RelayState" value="([^"]*)"', html)
        assert found is not None
        return destination, found.group(1), state.group(1) if state else ""

    def _app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metadata":
            start_response("200 OK", [("Content-Type", "application/samlmetadata+xml")])
            return [self.metadata().encode()]
        if path == "/sso/redirect":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            acs, saml_response, relay = self.answer(
                query["SAMLRequest"][0], query.get("RelayState", [""])[0]
            )
            from html import escape

            page = (
                f'<!doctype html><form method="post" action="{escape(acs)}">'
                f'<input type="hidden" name="SAMLResponse" value="{saml_response}">'
                f'<input type="hidden" name="RelayState" value="{escape(relay)}">'
                '<button type="submit">Continue</button></form>'
            )
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [page.encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._dir.cleanup()
