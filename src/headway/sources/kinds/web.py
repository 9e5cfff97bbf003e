"""The HTTP GET that the `http_json`, `csv_url` and `prometheus` kinds share.

With a connection, the URL is relative to the connection's base URL (or starts with it),
and the connection's secret headers are sent; redirects are then not followed, so a
secret never travels to another host. Error messages name the host and path only (a query
string may carry a token). The body is read up to the byte limit, never more.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from functools import cache
from urllib.parse import urljoin, urlsplit

import httpx

from headway.sources.kinds.base import ConnectionInfo, FetchError, Limits
from headway.words import Number, _

MAX_CONNECT_SECONDS = 10.0


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every fetch: building one loads the CA bundle (tens of ms)."""
    return httpx.create_ssl_context()


def resolve(url: str, connection: ConnectionInfo | None) -> str:
    """The absolute URL to fetch; with a connection it must stay under its base URL."""
    if connection is None:
        return url
    base = connection.base_url.rstrip("/") + "/"
    if not url:
        return base
    if "://" in url:
        if not url.startswith(base) and url.rstrip("/") != base.rstrip("/"):
            raise FetchError(
                _(
                    "the URL is not under the connection %(name)s (%(base)s); give a path "
                    "relative to it",
                    name=repr(connection.name),
                    base=where(base),
                )
            )
        return url
    return urljoin(base, url.lstrip("/"))


def where(url: str) -> str:
    """scheme://host[:port]/path of a URL, without its query string or credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_url(url: str, *, relative_ok: bool) -> str | None:
    """A problem with a URL as configured, or None."""
    if not url:
        return None
    if "://" not in url:
        return None if relative_ok else _("must be an http:// or https:// URL")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return _("must be an http:// or https:// URL")
    if parts.username or parts.password:
        return _("must not carry a user or password; put secrets in a connection")
    return None


def get(
    url: str,
    *,
    connection: ConnectionInfo | None,
    headers: Mapping[str, str],
    limits: Limits,
    timeout: float,
    params: Mapping[str, str] | None = None,
    answered: tuple[int, ...] = (),
) -> tuple[bytes, str]:
    """GET `url`; returns (body, content type) or raises FetchError with a readable reason.

    Statuses in `answered` return their body too (an API's own error document).
    """
    target = resolve(url, connection)
    sent = dict(headers)
    secret = bool(connection and connection.headers)
    if connection is not None:
        sent.update(connection.headers)
    sent.setdefault("User-Agent", "Headway data source")
    label = where(target)
    try:
        with (
            httpx.Client(
                timeout=httpx.Timeout(timeout, connect=min(timeout, MAX_CONNECT_SECONDS)),
                follow_redirects=not secret,
                max_redirects=5,
                verify=_tls(),
            ) as client,
            client.stream("GET", target, headers=sent, params=params) as response,
        ):
            if response.status_code >= 400 and response.status_code not in answered:
                raise FetchError(
                    _(
                        "%(where)s answered HTTP %(status)s %(reason)s",
                        where=label,
                        status=str(response.status_code),
                        reason=response.reason_phrase,
                    )
                )
            if 300 <= response.status_code < 400:
                raise FetchError(
                    _(
                        "%(where)s answered a redirect (HTTP %(status)s), which is not "
                        "followed with a connection's secrets",
                        where=label,
                        status=str(response.status_code),
                    )
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > limits.max_bytes:
                    raise FetchError(
                        _(
                            "%(where)s sent more than %(bytes)s bytes; fetch less",
                            where=label,
                            bytes=Number(limits.max_bytes, ",.0f"),
                        )
                    )
            return bytes(body), response.headers.get("content-type", "")
    except httpx.ConnectError as error:
        raise FetchError(
            _("cannot connect to %(where)s: %(reason)s", where=label, reason=_reason(error))
        ) from None
    except httpx.TimeoutException:
        raise FetchError(
            _(
                "%(where)s did not answer within %(seconds)s s",
                where=label,
                seconds=Number(timeout),
            )
        ) from None
    except httpx.TooManyRedirects:
        raise FetchError(_("%(where)s redirected too many times", where=label)) from None
    except httpx.HTTPError as error:
        # The error's name and text are httpx's: quoted, not translated.
        raise FetchError(f"{label}: {type(error).__name__}: {_reason(error)}") from None


def _reason(error: Exception) -> str:
    text = str(error)
    if "refused" in text.lower():
        return _("connection refused")
    return text.splitlines()[0] if text else type(error).__name__


def header_lines(raw: object) -> tuple[dict[str, str], str | None]:
    """Headers from a mapping or from "Name: value" lines; (headers, problem)."""
    if raw in (None, ""):
        return {}, None
    items: list[tuple[object, object]]
    if isinstance(raw, Mapping):
        items = list(raw.items())
    elif isinstance(raw, str):
        items = []
        for line in raw.splitlines():
            if not line.strip():
                continue
            head, sep, tail = line.partition(":")
            if not sep:
                return {}, _("%(line)s is not a 'Name: value' line", line=repr(line.strip()))
            items.append((head, tail))
    else:
        return {}, _("must be 'Name: value' lines or a mapping")
    headers: dict[str, str] = {}
    for raw_name, value in items:
        if not isinstance(raw_name, str) or not isinstance(value, str | int | float):
            return {}, _("header names and values must be text")
        name = raw_name.strip()
        if not name or any(ch in name for ch in " \t\r\n:") or not name.isascii():
            return {}, _("%(name)s is not a header name", name=repr(name))
        text = str(value).strip()
        if "\n" in text or "\r" in text:
            return {}, _("the value of %(name)s spans lines", name=name)
        headers[name] = text
    return headers, None
