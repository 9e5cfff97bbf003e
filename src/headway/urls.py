from django.contrib import admin
from django.urls import include, path

from headway.directory.views import django_admin_login
from headway.web import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    # Before the admin's own URLs: its sign-in goes through the app's (lockout, two factors).
    path("admin/login/", django_admin_login, name="django-admin-login"),
    path("admin/", admin.site.urls),
    path("", include("headway.directory.urls")),  # SCIM and the sign-in settings page
    path("", include("headway.api.urls")),
    path("", include("headway.web.urls")),
    path("", include("headway.notify.urls")),  # notifications: inbox, settings, webhooks
    path("", include("headway.sources.urls")),  # data sources: a KPI's source, connections
    path("", include("headway.initiatives.urls")),  # issue trackers initiatives follow
]
