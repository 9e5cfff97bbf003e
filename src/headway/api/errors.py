"""One JSON error shape for every failure of the API, and the handlers that produce it.

    {"error": {"code": "...", "message": "...", "fields": {"field": ["msg"]},
               "rows": [{"line": n, "message": "..."}]}}

`fields` and `rows` are always present (empty when they do not apply).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from headway.kpis.actions import IngestError
from headway.versions import StaleVersion

if TYPE_CHECKING:
    from ninja import NinjaAPI

CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "invalid",
    428: "precondition_required",
    429: "throttled",
    431: "headers_too_large",
    503: "unavailable",
}

# Statuses any operation may answer, whatever it does: a malformed request (400), no or a
# bad credential (401), a request line or header fields over the server's limits (414, 431:
# answered by gunicorn itself, headway.gunicorn_worker), and the database unreachable
# (the server answers 503 with Retry-After rather than a 500 page).
EVERY_OPERATION = (400, 401, 414, 431, 503)
# Statuses any operation taking a body may answer besides: a body too large for the server
# (413), sent with a content type other than JSON (415), or invalid (422).
WITH_BODY = (413, 415, 422)


class ErrorRow(Schema):
    line: int
    message: str


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]
    rows: list[ErrorRow]


class ErrorOut(Schema):
    """The body of every error response."""

    error: ErrorDetail


class ApiError(Exception):
    """An error answered with `status` and the error shape."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        fields: Mapping[str, Sequence[str]] | None = None,
        rows: Sequence[tuple[int, str]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.code = code or CODES.get(self.status, "error")
        self.fields = {name: list(messages) for name, messages in (fields or {}).items()}
        self.rows = list(rows)


class BadRequest(ApiError):
    status = 400


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PreconditionFailed(ApiError):
    status = 412


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


JSON_TYPES = frozenset({"application/json"})


def is_json(content_type: str | None) -> bool:
    """Whether a request's content type (without parameters) names JSON."""
    kind = (content_type or "").lower()
    return kind in JSON_TYPES or kind.endswith("+json")


def not_json(content_type: str | None) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"Send the body as application/json, not {content_type or 'without a content type'!r}."
    )


def error_body(
    code: str,
    message: str,
    fields: Mapping[str, Sequence[str]] | None = None,
    rows: Sequence[tuple[int, str]] = (),
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "fields": {name: list(messages) for name, messages in (fields or {}).items()},
            "rows": [{"line": line, "message": text} for line, text in rows],
        }
    }


def ingest_message(exc: IngestError) -> str:
    count = len(exc.rows)
    return f"{count} row{'s' if count != 1 else ''} cannot be stored; nothing was stored."


def error_response(
    api: NinjaAPI,
    request: HttpRequest,
    status: int,
    message: str,
    *,
    code: str | None = None,
    fields: Mapping[str, Sequence[str]] | None = None,
    rows: Sequence[tuple[int, str]] = (),
) -> HttpResponse:
    body = error_body(code or CODES.get(status, "error"), message, fields, rows)
    response = api.create_response(request, body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="headway"'
    return response


def _django_validation_fields(exc: DjangoValidationError) -> tuple[str, dict[str, list[str]]]:
    """The message and field errors of a Django ValidationError (non-field ones in message)."""
    if hasattr(exc, "error_dict"):
        fields = {name: list(messages) for name, messages in exc.message_dict.items()}
        general = fields.pop("__all__", [])
        if general:
            return " ".join(general), fields
        names = ", ".join(sorted(fields))
        return f"Some fields are invalid: {names}.", fields
    return " ".join(exc.messages) or "The request is invalid.", {}


def _ninja_validation_fields(exc: NinjaValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ())]
        source, rest = (loc[0], loc[1:]) if loc else ("body", [])
        if source == "body" and len(rest) > 1:
            rest = rest[1:]  # drop the name of the view's body parameter
        name = ".".join(rest) or source
        fields.setdefault(name, []).append(str(error.get("msg", "Invalid value.")))
    return fields


def install(api: NinjaAPI) -> None:
    """Replace ninja's handlers so every error answers with the one shape."""

    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(
            api, request, exc.status, exc.message, code=exc.code, fields=exc.fields, rows=exc.rows
        )

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        message = exc.message
        if isinstance(exc, AuthenticationError) and message == "Unauthorized":
            message = "Sign in, or send a valid API token as `Authorization: Bearer <token>`."
        return error_response(api, request, exc.status_code, message)

    def request_invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        return error_response(
            api,
            request,
            400,
            "The request does not match the API's schema.",
            fields=_ninja_validation_fields(exc),
        )

    def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        message = str(exc) if isinstance(exc, NotFound | Http404) and str(exc) else "Not found."
        return error_response(api, request, 404, message)

    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return error_response(api, request, 403, str(exc) or "You may not do this.")

    def invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        message, fields = _django_validation_fields(exc)
        return error_response(api, request, 422, message, fields=fields)

    def ingest_invalid(request: HttpRequest, exc: IngestError) -> HttpResponse:
        return error_response(api, request, 422, ingest_message(exc), rows=exc.rows)

    def conflict(request: HttpRequest, exc: Exception) -> HttpResponse:
        if isinstance(exc, ProtectedError | RestrictedError):
            message = "Other records still depend on this one; remove or move them first."
        else:
            message = "The change conflicts with the current data; reload and try again."
        return error_response(api, request, 409, message)

    def stale(request: HttpRequest, exc: StaleVersion) -> HttpResponse:
        return error_response(api, request, 412, exc.message)

    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return error_response(api, request, 413, "The request body is too large.")

    def unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
        response = error_response(
            api, request, 503, "The database cannot be reached right now; try again shortly."
        )
        response["Retry-After"] = "5"
        return response

    handlers: list[tuple[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]] = [
        (ApiError, api_error),
        (HttpError, http_error),
        (NinjaValidationError, request_invalid),
        (Http404, not_found),
        (ObjectDoesNotExist, not_found),
        (PermissionDenied, forbidden),
        (DjangoValidationError, invalid),
        (IngestError, ingest_invalid),
        (StaleVersion, stale),
        (ProtectedError, conflict),
        (RestrictedError, conflict),
        (IntegrityError, conflict),
        (RequestDataTooBig, too_big),
        (OperationalError, unavailable),
        (InterfaceError, unavailable),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)
