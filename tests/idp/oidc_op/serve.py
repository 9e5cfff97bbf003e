"""Start the test OpenID Connect provider: migrate a fresh SQLite file, register the client, serve.

Usage: python -m tests.idp.oidc_op.serve CLIENT_JSON  (with TEST_OP_DB and TEST_OP_PEOPLE set)
CLIENT_JSON: {"client_id": ..., "client_secret": ..., "redirect_uris": [...]}.
Prints `listening on PORT` once it accepts connections on 127.0.0.1 (a free port).
"""

from __future__ import annotations

import json
import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.idp.oidc_op.settings"
    import django

    django.setup()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from oidc_provider.models import Client, ResponseType, RSAKey

    call_command("migrate", verbosity=0)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    RSAKey.objects.create(key=pem)
    spec = json.loads(sys.argv[1])
    client = Client.objects.create(
        name="Headway",
        client_type="confidential",
        client_id=spec["client_id"],
        client_secret=spec["client_secret"],
        jwt_alg="RS256",
        require_consent=False,
        reuse_consent=True,
    )
    client.redirect_uris = spec["redirect_uris"]
    client.save()
    client.response_types.add(ResponseType.objects.get(value="code"))
    server = make_server(
        "127.0.0.1", 0, get_wsgi_application(), server_class=_Server, handler_class=_QuietHandler
    )
    print(f"listening on {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
