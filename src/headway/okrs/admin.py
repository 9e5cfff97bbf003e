from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective, ObjectiveContributor


@admin.register(Cycle)
class CycleAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("key", "name", "start", "end", "state")
    list_filter = ("state",)
    search_fields = ("key", "name")


class KeyResultInline(admin.StackedInline[KeyResult, Objective]):
    model = KeyResult
    extra = 0
    autocomplete_fields = ("owner", "kpi", "counter_kpis")
    exclude = ("current", "version")


class ContributorInline(admin.TabularInline[ObjectiveContributor, Objective]):
    """Contributing teams of a shared objective (docs/okrs.md, "Shared objectives")."""

    model = ObjectiveContributor
    extra = 0
    autocomplete_fields = ("team",)
    verbose_name = "contributing team"


@admin.register(Objective)
class ObjectiveAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("title", "key", "cycle", "team", "owner", "type", "visibility")
    list_filter = ("cycle", "type", "visibility")
    list_select_related = ("cycle", "team", "owner")
    search_fields = ("title", "key")
    autocomplete_fields = ("team", "owner", "parent")
    inlines = (ContributorInline, KeyResultInline)


@admin.register(KeyResult)
class KeyResultAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("title", "key", "objective", "kind", "current", "target")
    list_filter = ("kind",)
    list_select_related = ("objective",)
    search_fields = ("title", "key")
    autocomplete_fields = ("objective", "owner", "kpi", "counter_kpis")


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin[CheckIn]):
    list_display = ("key_result", "at", "value", "done", "confidence", "author")
    list_select_related = ("key_result", "author")
    raw_id_fields = ("key_result",)

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False  # check-ins are history: never edited in place
