"""`headway token …`: create, list and revoke personal API tokens from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

token_app = typer.Typer(
    help="Personal API tokens: create (the secret is printed once), list, revoke.",
    no_args_is_help=True,
)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(2)


@token_app.command("create")
def create(
    email: Annotated[str, typer.Option(help="E-mail of the person the token acts as.")],
    name: Annotated[str, typer.Option(help="What will use it, e.g. 'kpi-pipeline'.")],
    scope: Annotated[str, typer.Option(help="read (safe methods only) or write.")] = "read",
) -> None:
    """Create a token and print its secret: it is shown this once."""
    from headway.terminal import setup_django

    setup_django()
    from django.core.exceptions import ValidationError

    from headway.api.tokens import create_token
    from headway.teams.models import Person

    person = Person.objects.filter(email=email.strip().lower()).first()
    if person is None:
        raise _fail(f"No person with e-mail {email!r}.")
    try:
        new = create_token(person=person, name=name, scope=scope.strip().lower())
    except ValidationError as exc:
        raise _fail(" ".join(exc.messages)) from None
    err_console.print(
        f"Token {new.token.pk} “{new.token.name}” ({new.token.scope}) for {person.email}. "
        "Store the secret now: it is not shown again."
    )
    print(new.secret)


@token_app.command("list")
def list_tokens(
    email: Annotated[str | None, typer.Option(help="Only this person's tokens.")] = None,
) -> None:
    """List tokens (never their secrets)."""
    from headway.terminal import setup_django

    setup_django()
    from headway.api.models import ApiToken

    tokens = ApiToken.objects.select_related("person").order_by("-created_at", "-id")
    if email:
        tokens = tokens.filter(person__email=email.strip().lower())
    table = Table("id", "person", "name", "scope", "prefix", "created", "last used", "revoked")
    for t in tokens:
        table.add_row(
            str(t.pk),
            t.person.email,
            t.name,
            t.scope,
            f"{t.prefix}…",
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
            f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
        )
    console.print(table)


@token_app.command("revoke")
def revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `list`).", min=1, max=2**62)],
) -> None:
    """Revoke a token: requests with it are refused from now on."""
    from headway.terminal import setup_django

    setup_django()
    from headway.api.models import ApiToken
    from headway.api.tokens import revoke_token

    try:
        token = revoke_token(token_id=token_id, person=None)
    except ApiToken.DoesNotExist:
        raise _fail(f"No token {token_id}.") from None
    console.print(f"Token {token.pk} “{token.name}” of {token.person.email} is revoked.")


def register(app: typer.Typer) -> None:
    """Add the `token` command group to the `headway` CLI."""
    app.add_typer(token_app, name="token")
