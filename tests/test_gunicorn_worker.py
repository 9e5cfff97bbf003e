"""The gunicorn worker's error answers: gunicorn's status kept, the body in the API's shape."""

from __future__ import annotations

import json

import pytest

from headway.gunicorn_worker import json_error

GUNICORN_414 = (
    b"HTTP/1.1 414 Request-URI Too Long\r\nConnection: close\r\nContent-Type: text/html\r\n"
    b"Content-Length: 60\r\n\r\n<html><body><h1>Request-URI Too Long</h1></body></html>"
)


def _parse(answer: bytes) -> tuple[str, dict[str, str], dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    assert int(headers["Content-Length"]) == len(body)
    return status_line, headers, json.loads(body)


@pytest.mark.parametrize(
    ("status", "reason", "code"),
    [
        (414, "Request-URI Too Long", "uri_too_long"),
        (431, "Request Header Fields Too Large", "headers_too_large"),
        (400, "Bad Request", "invalid_request"),
    ],
)
def test_gunicorn_refusals_keep_their_status_and_take_the_error_shape(
    status: int, reason: str, code: str
) -> None:
    raw = GUNICORN_414.replace(b"414 Request-URI Too Long", f"{status} {reason}".encode())
    kept, answer = json_error(raw)
    status_line, headers, body = _parse(answer)
    assert kept == status
    assert status_line == f"HTTP/1.1 {status} {reason}"
    assert headers["Content-Type"] == "application/json"
    assert headers["Connection"] == "close"
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == code
    assert error["message"]
    assert error["fields"] == {}
    assert error["rows"] == []


def test_an_unreadable_status_line_becomes_a_500_in_the_error_shape() -> None:
    kept, answer = json_error(b"garbage\r\n\r\n")
    status_line, _headers, body = _parse(answer)
    assert kept == 500
    assert status_line == "HTTP/1.1 500 Internal Server Error"
    assert isinstance(body["error"], dict)
