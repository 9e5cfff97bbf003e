"""The HTTP side of SCIM at /scim/v2/: bearer token, JSON in and out, errors as SCIM Errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from headway.directory.scim import schema, service
from headway.directory.scim.service import Page, ScimError
from headway.directory.scim.tokens import find_scim_token
from headway.teams.models import Person

CONTENT_TYPE = "application/scim+json"
MAX_BODY = 1_000_000
CORE_URNS = (schema.USER.casefold() + ":", schema.GROUP.casefold() + ":")


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(data), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _error(exc: ScimError) -> HttpResponse:
    body: dict[str, Any] = {
        "schemas": [schema.ERROR],
        "status": str(exc.status),
        "detail": exc.detail,
    }
    if exc.scim_type:
        body["scimType"] = exc.scim_type
    headers = {"WWW-Authenticate": 'Bearer realm="Headway SCIM"'} if exc.status == 401 else None
    return _json(body, exc.status, headers)


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("scim", args=[""])).rstrip("/")


def _actor(request: HttpRequest) -> Person:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ScimError(
            401, "Send a SCIM token from Headway's sign-in settings: Authorization: Bearer …"
        )
    token = find_scim_token(secret.strip())
    if token is None:
        raise ScimError(
            401,
            "This SCIM token is unknown or revoked, or the admin who created it is no longer "
            "an active admin.",
        )
    return token.created_by


def _body(request: HttpRequest) -> Any:
    if len(request.body) > MAX_BODY:
        raise ScimError(413, "The request body is too large.")
    try:
        return json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScimError(400, f"The body is not JSON: {exc}.", "invalidSyntax") from None


def _names(values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, list):
        raise ScimError(400, "attributes must be a list of attribute names.", "invalidValue")
    names = []
    for value in values:
        name = str(value).strip()
        if name.casefold().startswith(CORE_URNS):
            name = name.split(":")[-1]
        if name:
            names.append(name)
    return names


def project(doc: dict[str, Any], attributes: list[str], excluded: list[str]) -> dict[str, Any]:
    """RFC 7644 3.4.2.5: only `attributes` (plus id and schemas), or all but `excluded`."""
    always = {"id", "schemas"}
    if attributes:
        wanted: dict[str, set[str]] = {}
        for name in attributes:
            top, _, sub = name.partition(".")
            wanted.setdefault(top.casefold(), set())
            if sub:
                wanted[top.casefold()].add(sub.casefold())
        kept: dict[str, Any] = {}
        for key, value in doc.items():
            folded = key.casefold()
            if folded in always:
                kept[key] = value
            elif folded in wanted:
                subs = wanted[folded]
                kept[key] = _only(value, subs) if subs else value
        return kept
    if excluded:
        result = dict(doc)
        for name in excluded:
            top, _, sub = name.partition(".")
            found = next((k for k in result if k.casefold() == top.casefold()), None)
            if found is None or found.casefold() in always:
                continue
            if sub:
                result[found] = _without(result[found], sub)
            else:
                del result[found]
        return result
    return doc


def _only(value: Any, subs: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k.casefold() in subs}
    if isinstance(value, list):
        return [_only(item, subs) for item in value]
    return value


def _without(value: Any, sub: str) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k.casefold() != sub.casefold()}
    if isinstance(value, list):
        return [_without(item, sub) for item in value]
    return value


def _integer(raw: Any, default: int, name: str) -> int:
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ScimError(400, f"{name} must be a whole number.", "invalidValue") from None


def _list_response(page: Page, attributes: list[str], excluded: list[str]) -> HttpResponse:
    return _json(
        {
            "schemas": [schema.LIST],
            "totalResults": page.total,
            "itemsPerPage": len(page.resources),
            "startIndex": page.start,
            "Resources": [project(r, attributes, excluded) for r in page.resources],
        }
    )


def _query(request: HttpRequest, kind: str, params: dict[str, Any]) -> HttpResponse:
    attributes = _names(params.get("attributes"))
    excluded = _names(params.get("excludedAttributes"))
    start = _integer(params.get("startIndex"), 1, "startIndex")
    count = _integer(params.get("count"), 100, "count")
    base = base_url(request)
    text = params.get("filter")
    if text is not None and not isinstance(text, str):
        raise ScimError(400, "filter must be a string.", "invalidFilter")
    if kind == "Users":
        page = service.list_users(base, text, start, count)
    else:
        with_members = not any(n.casefold() == "members" for n in excluded) and (
            not attributes or any(n.casefold().startswith("members") for n in attributes)
        )
        page = service.list_groups(base, text, start, count, with_members)
    return _list_response(page, attributes, excluded)


def _search_everything(request: HttpRequest) -> HttpResponse:
    """POST /.search: users, then groups; a filter on what one type lacks matches none of it."""
    if request.method != "POST":
        raise ScimError(405, "/.search takes POST.")
    body = _body(request)
    if not isinstance(body, dict):
        raise ScimError(400, "The body must be a SearchRequest object.", "invalidSyntax")
    attributes = _names(body.get("attributes"))
    excluded = _names(body.get("excludedAttributes"))
    start = max(1, _integer(body.get("startIndex"), 1, "startIndex"))
    count = max(0, min(_integer(body.get("count"), 100, "count"), schema.MAX_RESULTS))
    text = body.get("filter")
    base = base_url(request)
    pages: list[Page] = []
    for kind in ("Users", "Groups"):
        try:
            if kind == "Users":
                pages.append(service.list_users(base, text, 1, 0))
            else:
                pages.append(service.list_groups(base, text, 1, 0, False))
        except ScimError as exc:
            if exc.scim_type != "invalidFilter" or "cannot filter" not in exc.detail:
                raise
            pages.append(Page([], 0, 1))
    users_total, groups_total = pages[0].total, pages[1].total
    resources: list[dict[str, Any]] = []
    if start <= users_total and count:
        resources += service.list_users(base, text, start, count).resources
    left = count - len(resources)
    group_start = max(1, start - users_total)
    if left > 0 and groups_total and start + len(resources) > users_total:
        resources += service.list_groups(base, text, group_start, left, True).resources
    page = Page(resources, users_total + groups_total, start)
    return _list_response(page, attributes, excluded)


def _one(request: HttpRequest, doc: dict[str, Any], status: int = 200) -> HttpResponse:
    attributes = _names(request.GET.get("attributes"))
    excluded = _names(request.GET.get("excludedAttributes"))
    location = doc.get("meta", {}).get("location")
    headers = {"Location": location} if status == 201 and location else None
    return _json(project(doc, attributes, excluded), status, headers)


def _resources(request: HttpRequest, by: Person, kind: str, rest: list[str]) -> HttpResponse:
    base = base_url(request)
    method = request.method
    users = kind == "Users"
    if not rest:
        if method == "GET":
            return _query(request, kind, request.GET.dict())
        if method == "POST":
            create = service.create_user if users else service.create_group
            return _one(request, create(by, base, _body(request)), 201)
        raise ScimError(405, f"{method} is not allowed on /{kind}.")
    if rest == [".search"]:
        if method != "POST":
            raise ScimError(405, "/.search takes POST.")
        body = _body(request)
        if not isinstance(body, dict):
            raise ScimError(400, "The body must be a SearchRequest object.", "invalidSyntax")
        return _query(request, kind, body)
    if len(rest) != 1:
        raise ScimError(404, "No such resource.")
    scim_id = rest[0]
    if method == "GET":
        if users:
            return _one(request, service.read_user(base, scim_id))
        excluded = _names(request.GET.get("excludedAttributes"))
        with_members = not any(n.casefold() == "members" for n in excluded)
        return _one(request, service.read_group(base, scim_id, with_members))
    if method == "PUT":
        replace = service.replace_user if users else service.replace_group
        return _one(request, replace(by, base, scim_id, _body(request)))
    if method == "PATCH":
        patch = service.patch_user if users else service.patch_group
        return _one(request, patch(by, base, scim_id, _body(request)))
    if method == "DELETE":
        delete = service.delete_user if users else service.delete_group
        delete(by, scim_id)
        return HttpResponse(status=204)
    raise ScimError(405, f"{method} is not allowed on /{kind}/{{id}}.")


def _discovery(request: HttpRequest, what: str, rest: list[str]) -> HttpResponse:
    if request.method != "GET":
        raise ScimError(405, f"/{what} is read-only: only GET.")
    base = base_url(request)
    documentation = request.build_absolute_uri("/") + "docs/sign-in.md"
    if what == "ServiceProviderConfig":
        if rest:
            raise ScimError(404, "No such resource.")
        return _json(schema.service_provider_config(base, documentation))
    if what == "ResourceTypes":
        names = list(schema.RESOURCE_TYPES)
        make: Callable[[str, str], dict[str, Any]] = schema.resource_type_document
    else:
        names = list(schema.SCHEMAS)
        make = schema.schema_document
    if not rest:
        documents = [make(name, base) for name in names]
        return _json(
            {
                "schemas": [schema.LIST],
                "totalResults": len(documents),
                "itemsPerPage": len(documents),
                "startIndex": 1,
                "Resources": documents,
            }
        )
    if len(rest) == 1 and rest[0] in names:
        return _json(make(rest[0], base))
    raise ScimError(404, f"No {what[:-1]} {'/'.join(rest)}.")


@csrf_exempt
@login_not_required
def endpoint(request: HttpRequest, rest: str) -> HttpResponse:
    """Every SCIM request: authenticate, route, answer; failures are SCIM Error objects."""
    try:
        by = _actor(request)
        parts = [part for part in rest.split("/") if part]
        if not parts:
            raise ScimError(404, "This is the SCIM service: use /Users, /Groups or discovery.")
        head, tail = parts[0], parts[1:]
        if head in {"Users", "Groups"}:
            return _resources(request, by, head, tail)
        if head in {"ServiceProviderConfig", "ResourceTypes", "Schemas"}:
            return _discovery(request, head, tail)
        if head == ".search" and not tail:
            return _search_everything(request)
        if head == "Bulk":
            raise ScimError(501, "Bulk operations are not supported.")
        raise ScimError(404, f"No SCIM endpoint /{rest}.")
    except ScimError as exc:
        return _error(exc)
