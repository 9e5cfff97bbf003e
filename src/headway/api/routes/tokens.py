"""Your own API tokens. Session only: a token cannot mint or list tokens."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.params.functions import Path as PathParam

from headway.api import lookups
from headway.api import serialize as ser
from headway.api.auth import caller
from headway.api.errors import NotFound
from headway.api.models import ApiToken
from headway.api.routes.common import LIST, WRITE, page, responses
from headway.api.schemas import Page, PageParams, TokenCreated, TokenIn, TokenOut
from headway.api.tokens import create_token, revoke_token

router = Router(tags=["tokens"])


@router.get("/tokens", response=responses({200: Page[TokenOut]}, *LIST), summary="List your tokens")
def list_tokens(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    """Your tokens, the newest first, revoked ones included. Secrets are never shown again."""
    tokens = ApiToken.objects.filter(person=caller(request)).order_by("-created_at", "-id")
    count, items = lookups.paginate(tokens, params.limit, params.offset)
    return page(count, params.limit, params.offset, [ser.token(t) for t in items])


@router.post("/tokens", response=responses({201: TokenCreated}, *WRITE), summary="Create a token")
def create_api_token(request: HttpRequest, payload: TokenIn) -> Status[dict[str, Any]]:
    """The answer holds the secret, shown this once. Send it as `Authorization: Bearer …`."""
    new = create_token(person=caller(request), name=payload.name, scope=payload.scope)
    return Status(201, {**ser.token(new.token), "token": new.secret})


@router.delete(
    "/tokens/{token_id}", response=responses({200: TokenOut}, *WRITE), summary="Revoke a token"
)
def revoke_api_token(
    request: HttpRequest, token_id: int = PathParam(..., ge=1, le=2**62)
) -> dict[str, Any]:
    """Revoke one of your tokens; requests with it are refused (401) from now on."""
    try:
        token = revoke_token(token_id=token_id, person=caller(request))
    except ApiToken.DoesNotExist:
        raise NotFound(f"You have no token {token_id}.") from None
    return ser.token(token)
