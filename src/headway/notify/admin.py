from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from headway.notify.delivery import retry_now
from headway.notify.models import Delivery, Event, TeamWebhook


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    list_display = ("title", "kind", "occurred_at", "team", "private")
    list_filter = ("kind", "private")
    search_fields = ("title", "dedupe_key")
    readonly_fields = [f.name for f in Event._meta.get_fields() if f.concrete]
    date_hierarchy = "occurred_at"


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    list_display = (
        "event",
        "channel",
        "address",
        "status",
        "attempts",
        "next_attempt_at",
        "send_started_at",
    )
    list_filter = ("status", "channel")
    list_select_related = ("event",)
    search_fields = ("address", "event__title", "last_error")
    raw_id_fields = ("event", "person", "team_webhook")
    actions = ("retry",)

    @admin.action(description="Retry the selected failed or uncertain deliveries")
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        retry_now(list(queryset.values_list("pk", flat=True)))


@admin.register(TeamWebhook)
class TeamWebhookAdmin(admin.ModelAdmin[TeamWebhook]):
    list_display = ("name", "team", "active", "created_at")
    list_filter = ("active",)
    raw_id_fields = ("team", "created_by")
