"""Pages of the API app: personal tokens in the settings, the docs' assets, JSON 404s."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import ninja
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from headway.api.errors import error_body
from headway.api.models import ApiToken, Scope
from headway.api.tokens import create_token, revoke_token
from headway.teams.models import Person

# Swagger UI as shipped in the django-ninja wheel (a PyPI package): nothing copied here.
NINJA_STATIC = Path(ninja.__file__).resolve().parent / "static" / "ninja"
DOCS_ASSETS = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js", "favicon.png"}
)


@require_GET
@login_not_required
def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    """One file of Swagger UI for /api/docs (public, like any static file)."""
    if name not in DOCS_ASSETS:
        raise Http404(name)
    path = NINJA_STATIC / name
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=86400"
    return response


@login_not_required
def api_not_found(request: HttpRequest) -> JsonResponse:
    """Any other address under /api/: a 404 in the API's error shape."""
    return JsonResponse(
        error_body("not_found", f"No API operation at {request.path}; see /api/docs."),
        status=404,
    )


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “nightly KPI export”.")
    scope = forms.ChoiceField(choices=Scope.choices, initial=Scope.READ)


def _person(request: HttpRequest) -> Person:
    person = request.user
    assert isinstance(person, Person)
    return person


@never_cache
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """List, create (the secret is shown once, on this answer only) and revoke tokens."""
    person = _person(request)
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            new = create_token(
                person=person, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"]
            )
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            secret = new.secret
            form = TokenForm()
    status = 400 if request.method == "POST" and secret is None else 200
    return render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "secret": secret,
            "tokens": ApiToken.objects.filter(person=person).order_by("-created_at", "-id"),
        },
        status=status,
    )


@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = revoke_token(token_id=token_id, person=_person(request))
    except ApiToken.DoesNotExist:
        raise Http404("No such token of yours.") from None
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("api-tokens")
