"""Helpers shared by the operation modules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpResponse

from headway.api.errors import BadRequest, ErrorOut
from headway.api.serialize import etag
from headway.moments import to_utc


def responses(ok: dict[int, Any], *errors: int) -> dict[Any, Any]:
    """A `response=` mapping: the success bodies plus the error shape for `errors`."""
    declared: dict[Any, Any] = dict(ok)
    if errors:
        declared[frozenset(errors)] = ErrorOut
    return declared


# The statuses every operation may answer, by kind of operation.
READ = (400, 401, 404)
LIST = (400, 401)
WRITE = (400, 401, 403, 404, 409, 422)
VERSIONED = (*WRITE, 412)


def page(count: int, limit: int, offset: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"count": count, "limit": limit, "offset": offset, "items": items}


def with_etag(response: HttpResponse, version: int) -> None:
    response["ETag"] = etag(version)


def moment(at: datetime | None) -> datetime | None:
    """A moment from a query: naive means UTC; years outside 1900-2999 are refused."""
    if at is None:
        return None
    try:
        return to_utc(at)
    except ValueError:
        raise BadRequest(
            "`at` is out of range.", fields={"at": ["Give a year from 1900 to 2999."]}
        ) from None


IF_MATCH_HELP = (
    'Optional: the ETag you read (e.g. "3"). When it is not the current version the '
    "change is refused with 412 and nothing changes. Without it the change applies."
)
