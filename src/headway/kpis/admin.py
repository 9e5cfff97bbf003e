from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from headway.kpis.models import Kpi, Measurement


@admin.register(Kpi)
class KpiAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = (
        "name",
        "key",
        "team",
        "owner",
        "direction",
        "target",
        "cadence",
        "tier",
        "health",
    )
    list_filter = ("tier", "cadence", "health", "direction")
    list_select_related = ("team", "owner")
    search_fields = ("name", "key")
    autocomplete_fields = ("team", "owner")


@admin.register(Measurement)
class MeasurementAdmin(admin.ModelAdmin[Measurement]):
    list_display = ("kpi", "at", "value", "source")
    list_select_related = ("kpi",)
    raw_id_fields = ("kpi",)
    date_hierarchy = "at"
