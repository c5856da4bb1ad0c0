"""Activity kinds are kept here; activities themselves are organised on the site,
through the services that put them on the room calendar, and only read here."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from linli.activities.models import Activity, Kind, Session, Signup


@admin.register(Kind)
class KindAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "order")
    search_fields = ("code", "name", "name_en")


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class SessionInline(admin.TabularInline):
    model = Session
    fields = ("starts", "ends", "room", "status", "cancel_reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Activity)
class ActivityAdmin(ReadOnly):
    list_display = ("title", "kind", "community", "room", "mode", "audience", "capacity", "status")
    list_filter = ("kind", "mode", "audience", "status", "community")
    search_fields = ("title", "organiser_name")
    list_select_related = ("kind", "community", "room__center")
    inlines = [SessionInline]


@admin.register(Session)
class SessionAdmin(ReadOnly):
    list_display = ("activity", "starts", "ends", "room", "status")
    list_filter = ("status", "room__center")
    list_select_related = ("activity", "room__center")
    date_hierarchy = "starts"


@admin.register(Signup)
class SignupAdmin(ReadOnly):
    list_display = ("activity", "person", "session", "status", "channel", "created_at")
    list_filter = ("status", "channel")
    list_select_related = ("activity", "person", "session")
    search_fields = ("activity__title", "person__name")
