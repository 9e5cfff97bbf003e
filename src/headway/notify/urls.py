"""URLs of the notify app, included at the site root by headway.urls."""

from django.urls import path

from headway.notify import views

app_name = "notify"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/read", views.mark_read, name="mark_read"),
    path("inbox/read-all", views.mark_all_read, name="mark_all_read"),
    path("settings/notifications", views.settings_page, name="settings"),
    path("teams/<slug:key>/webhooks", views.team_webhooks, name="team_webhooks"),
    path(
        "teams/<slug:key>/webhooks/<int:pk>/delete",
        views.team_webhook_delete,
        name="team_webhook_delete",
    ),
    path("admin-tools/deliveries", views.deliveries, name="deliveries"),
    path("admin-tools/deliveries/retry", views.deliveries_retry, name="deliveries_retry"),
    path("admin-tools/outbox", views.outbox, name="outbox"),
    path("admin-tools/invitations", views.invitations, name="invitations"),
]
