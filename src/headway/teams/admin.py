from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from headway.teams.models import Membership, Person, Team


class MembershipInline(admin.TabularInline[Membership, Person]):
    model = Membership
    extra = 0
    autocomplete_fields = ("team",)


@admin.register(Person)
class PersonAdmin(UserAdmin):  # type: ignore[type-arg]
    ordering = ("email",)
    list_display = ("email", "name", "is_active", "is_superuser")
    search_fields = ("email", "name")
    list_filter = ("is_active", "is_superuser")
    inlines = (MembershipInline,)
    fieldsets = (
        (None, {"fields": ("email", "name", "password")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),
    )


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("name", "key", "kind", "parent")
    list_filter = ("kind",)
    search_fields = ("name", "key")
    autocomplete_fields = ("parent",)
