"""URLs of the API and the token settings page (included at the site root)."""

from __future__ import annotations

from django.urls import path, re_path

from headway.api import views
from headway.api.main import url_patterns

urlpatterns = [
    path("api/docs/assets/<str:name>", views.docs_asset, name="api-docs-asset"),
    path("api/", (url_patterns(), "ninja", "api")),
    re_path(r"^api/", views.api_not_found),
    path("settings/tokens", views.tokens, name="api-tokens"),
    path("settings/tokens/<int:token_id>/revoke", views.revoke, name="api-token-revoke"),
]
