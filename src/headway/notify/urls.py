"""URLs of the notify app, included at the site root by headway.urls."""

from django.urls import path

from headway.notify import slack_views, views

app_name = "notify"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/read", views.mark_read, name="mark_read"),
    path("inbox/read-all", views.mark_all_read, name="mark_all_read"),
    path("settings/notifications", views.settings_page, name="settings"),
    path("settings/language", views.language_page, name="language"),
    path("teams/<slug:key>/webhooks", views.team_webhooks, name="team_webhooks"),
    path(
        "teams/<slug:key>/webhooks/<int:pk>/delete",
        views.team_webhook_delete,
        name="team_webhook_delete",
    ),
    path("admin-tools/deliveries", views.deliveries, name="deliveries"),
    path("admin-tools/slack", slack_views.slack_app, name="slack_app"),
    path("slack/commands", slack_views.commands, name="slack_commands"),
    path("slack/interactions", slack_views.interactions, name="slack_interactions"),
    path("slack/sparkline.png", slack_views.sparkline, name="slack_sparkline"),
    path("admin-tools/deliveries/retry", views.deliveries_retry, name="deliveries_retry"),
    path("admin-tools/outbox", views.outbox, name="outbox"),
    path("admin-tools/invitations", views.invitations, name="invitations"),
]
