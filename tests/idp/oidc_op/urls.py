"""The provider's own sign-in page and django-oidc-provider's endpoints under /openid/."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import include, path
from django.utils.http import url_has_allowed_host_and_scheme

from tests.idp.oidc_op.claims import people


def sign_in(request: HttpRequest) -> HttpResponse:
    """Check the password against the people file; create the local user on first sign-in."""
    error = ""
    if request.method == "POST":
        username = request.POST.get("username", "")
        who = people().get(username)
        if who is not None and who.get("password") == request.POST.get("password"):
            user, _ = User.objects.get_or_create(username=username)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")  # type: ignore[arg-type]
            target = request.POST.get("next", "/")
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = "/"
            return redirect(target)
        error = "Wrong user name or password."
    return render(request, "login.html", {"next": request.GET.get("next", ""), "error": error})


def no_icon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)  # browsers ask; a 404 would be a console error


urlpatterns = [
    path("favicon.ico", no_icon),
    path("login/", sign_in),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
]
