"""An HTTP server on 127.0.0.1 that records every request and answers from a table.

Stands in for webhook receivers and for Slack's Web API (https://slack.com/api/<method>,
form- or JSON-encoded POSTs answered with `{"ok": true, ...}`), which cannot be reached
from the tests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def method(self) -> str:
        """The Web API method of /api/<method>."""
        return self.path.rsplit("/", 1)[-1]


@dataclass
class RecordingServer:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    #: path's last segment -> answer (a JSON object), or a function of the call.
    answers: dict[str, dict[str, Any] | Callable[[Call], dict[str, Any]]] = field(
        default_factory=dict
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def methods(self) -> list[str]:
        with self.lock:
            return [call.method for call in self.calls]


def _decode(content_type: str, raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        data = json.loads(raw)
        return data if isinstance(data, dict) else {"_": data}
    form = parse_qs(raw.decode(), keep_blank_values=True)
    return {key: values[-1] for key, values in form.items()}


@contextmanager
def recording_server() -> Iterator[RecordingServer]:
    server_state = RecordingServer()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = urlsplit(self.path)
            # Slack's read methods (users.info) take their arguments in the query string.
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            call = Call(
                path=parts.path,
                headers=dict(self.headers),
                body={**query, **_decode(self.headers.get("Content-Type", ""), raw)},
            )
            with server_state.lock:
                server_state.calls.append(call)
            answer = server_state.answers.get(call.method, {"ok": True})
            payload = answer(call) if callable(answer) else answer
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = _answer
        do_GET = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()
