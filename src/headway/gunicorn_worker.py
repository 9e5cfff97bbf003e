"""gunicorn's sync worker, answering the requests it refuses itself in the API's error shape.

A request line longer than gunicorn's limit, too many or too long header fields, or a
malformed request never reach Django: gunicorn writes a small HTML page and closes. Clients
of the API then meet the one response that is not in `{"error": {...}}` (docs/api.md). This
worker lets gunicorn decide everything as before (which status, its log line) and only
changes the body it writes: it runs gunicorn's own handler against a socket that keeps
what would have been sent, reads the status off it, and sends the JSON instead.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from gunicorn import util
from gunicorn.workers.sync import SyncWorker


class _Kept:
    """A stand-in socket: keeps what gunicorn writes (`util.write_nonblock` needs these)."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def setblocking(self, flag: bool) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.data += data


def json_error(raw: bytes) -> tuple[int, bytes]:
    """The status of gunicorn's error answer `raw`, and the same answer in the error shape."""
    status_line = raw.split(b"\r\n", 1)[0].decode("latin1")
    _version, code, reason = [*status_line.split(" ", 2), "", ""][:3]
    status = int(code) if code.isdigit() else 500
    if not reason or not code.isdigit():
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    from headway.api.errors import CODES, error_body  # the app is loaded by now

    message = {
        414: "The request line (the address with its query) is too long.",
        431: "The request has too many header fields, or one that is too long.",
    }.get(status, f"The server could not read the request: {reason or 'error'}.")
    body = json.dumps(error_body(CODES.get(status, "error"), message)).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return status, head.encode("latin1") + body


class JsonErrorWorker(SyncWorker):  # type: ignore[misc]  # gunicorn has no type hints
    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        kept = _Kept()
        super().handle_error(req, kept, addr, exc)
        if not kept.data:
            return
        _status, answer = json_error(kept.data)
        try:
            util.write_nonblock(client, answer)
        except Exception:
            self.log.debug("Failed to send error message.")
