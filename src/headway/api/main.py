"""The Headway JSON API: one NinjaAPI mounted at /api/, operations under /api/v1/.

The OpenAPI document is at /api/openapi.json and the browsable docs at /api/docs (Swagger
UI from the files django-ninja ships, served by us: no CDN, CSP-clean).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, reverse
from ninja import NinjaAPI
from ninja.openapi.docs import DocsBase
from ninja.params.models import BodyModel

from headway.api import errors
from headway.api.auth import DEFAULT_AUTH, session_auth
from headway.api.routes import (
    carry,
    coach,
    cycles,
    discussion,
    exports,
    initiatives,
    insight,
    kpis,
    objectives,
    search,
    teams,
    tokens,
    trackers,
)
from headway.api.tokens import find_token
from headway.sources import api as sources_api

if TYPE_CHECKING:
    from ninja.operation import Operation

DESCRIPTION = """OKRs and KPIs of the organisation. Authenticate with a personal API token
(`Authorization: Bearer hw_…`, made at /settings/tokens) or the browser session (send the
CSRF token as `X-CSRFToken` on writes). Errors always have the shape
`{"error": {"code", "message", "fields", "rows"}}`. See docs/api.md."""


class SelfHostedSwagger(DocsBase):
    """Swagger UI from the files django-ninja ships, served from this site under its CSP."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        config = {
            "url": self.get_openapi_url(api, kwargs),
            "layout": "BaseLayout",
            "deepLinking": True,
            "persistAuthorization": False,
        }
        return render(
            request,
            "api/docs.html",
            {"api": api, "swagger_settings": json.dumps(config)},
        )


def _signed_in(request: HttpRequest) -> bool:
    if request.user.is_authenticated:
        return True
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    return scheme.lower() == "bearer" and find_token(secret.strip()) is not None


def guard_docs(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The document and the docs need a session or a token, like everything but /healthz."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _signed_in(request):
            if request.path.endswith(".json"):
                return errors.error_response(
                    api, request, 401, "Sign in, or send a valid API token as a Bearer token."
                )
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


class HeadwayAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        return str(operation.view_func.__name__)


api = HeadwayAPI(
    title="Headway API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs=SelfHostedSwagger(),
    docs_url="/docs",
    docs_decorator=guard_docs,
    auth=DEFAULT_AUTH,
)
errors.install(api)
# Exports first: `/kpis/export` must not be read as the KPI with the key "export".
api.add_router("/v1", exports.router)
api.add_router("/v1", teams.router)
api.add_router("/v1", cycles.router)
api.add_router("/v1", objectives.router)
api.add_router("/v1", kpis.router)
api.add_router("/v1", coach.router)
api.add_router("/v1", insight.router)
api.add_router("/v1", search.router)
api.add_router("/v1", discussion.router)
api.add_router("/v1", carry.router)
api.add_router("/v1", initiatives.router)
api.add_router("/v1", tokens.router, auth=[session_auth])
api.add_router("/v1", sources_api.router)
api.add_router("/v1", trackers.router)


def _answer_in_shape(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Around every operation: no credentials at all is a 401 whatever the method, and a
    method the path does not take is a 405 in the error shape (ninja answers in HTML)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated and "Authorization" not in request.headers:
            return errors.error_response(
                api, request, 401, "Sign in, or send an API token as `Authorization: Bearer`."
            )
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = errors.error_response(
                api, request, 405, f"{request.method} is not an operation here; use {allowed}."
            )
            response["Allow"] = allowed
        return response

    return wrapper


def _has_body(request: HttpRequest) -> bool:
    length = request.META.get("CONTENT_LENGTH") or "0"
    return (length.isdigit() and int(length) > 0) or "HTTP_TRANSFER_ENCODING" in request.META


def _takes_body(operation: Operation) -> bool:
    extra = operation.openapi_extra or {}
    return "requestBody" in extra or any(issubclass(m, BodyModel) for m in operation.models)


def _json_bodies_only(operation: Operation) -> None:
    """Before ninja reads a JSON body (after authentication), refuse a body whose content
    type is not JSON with 415. Operations reading their own body (CSV pushes) check it."""
    read_values = operation._get_values

    @wraps(read_values)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if _has_body(request) and not errors.is_json(request.content_type):
            raise errors.not_json(request.content_type)
        return read_values(request, *args, **kwargs)

    setattr(operation, "_get_values", checked)  # noqa: B010


def _declare_statuses(operation: Operation) -> None:
    """Every operation lists the statuses it may answer whatever it does (401, 503) and,
    when it takes a body, those of the body (400, 413, 415, 422), in the error shape."""
    statuses = list(errors.EVERY_OPERATION)
    if _takes_body(operation):
        statuses += errors.WITH_BODY
    for status in statuses:
        if status not in operation.response_models:
            operation.response_models[status] = operation._create_response_model(errors.ErrorOut)


_guarded = False


def guard_operations() -> None:
    """Once, on every operation of the API: JSON bodies only, and the full list of statuses."""
    global _guarded
    if _guarded:
        return
    _guarded = True
    for bound in api._get_bound_routers():
        for path_view in bound.path_operations.values():
            for operation in path_view.operations:
                if operation.view_func.__name__ not in OWN_BODY:
                    _json_bodies_only(operation)
                _declare_statuses(operation)


# Operations that read their own body (JSON or CSV) and check its content type themselves.
OWN_BODY = frozenset({"push_measurements", "push_kpi_measurements"})


def url_patterns() -> list[Any]:
    """The API's URL patterns, open to the login middleware: the API answers 401 itself."""
    guard_operations()
    patterns, _app, _namespace = api.urls
    for pattern in patterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name not in {"openapi-json", "openapi-view", "api-root"}:
            pattern.callback = _answer_in_shape(pattern.callback)
        setattr(pattern.callback, "login_required", False)  # noqa: B010
        setattr(pattern.callback, "csrf_exempt", True)  # noqa: B010
    return patterns


def openapi_url() -> str:
    return reverse("api:openapi-json")
