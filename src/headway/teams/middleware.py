"""The signed-in person's own interface language, over the one LocaleMiddleware chose."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


def language_of(person: object) -> str:
    """The language `person` reads Headway in: their choice, else the organisation's."""
    return str(getattr(person, "language", "") or settings.LANGUAGE_CODE)


class PersonLanguageMiddleware:
    """Signed in: the person's language (blank: the organisation's default, LANGUAGE_CODE).

    Signed out (the sign-in page), LocaleMiddleware's choice stands: the browser's language
    when Headway speaks it, else the organisation's.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = language_of(user)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
