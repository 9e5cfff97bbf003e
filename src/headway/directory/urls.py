"""SCIM at /scim/v2/ and the admins' sign-in settings page."""

from __future__ import annotations

from django.urls import path, re_path

from headway.directory import views
from headway.directory.scim import views as scim

urlpatterns = [
    re_path(r"^scim/v2/(?P<rest>.*)$", scim.endpoint, name="scim"),
    path("settings/sign-in/", views.sign_in_settings, name="sign-in-settings"),
    path(
        "settings/sign-in/providers/new/<slug:kind>/",
        views.provider_edit,
        name="sign-in-provider-new",
    ),
    path("settings/sign-in/providers/<slug:key>/", views.provider_edit, name="sign-in-provider"),
]
