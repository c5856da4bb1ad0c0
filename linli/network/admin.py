from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from linli.network import services
from linli.network.models import Center, Closure, Function, Occupancy, OpeningHours, Room


class RoomInline(admin.TabularInline):
    model = Room
    extra = 0


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


@admin.register(Center)
class CenterAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "parent", "provision", "floor_area")
    list_filter = ("kind", "provision")
    search_fields = ("code", "name", "address")
    filter_horizontal = ("functions",)
    inlines = [RoomInline, OpeningHoursInline]
    list_select_related = ("parent",)


@admin.register(Function)
class FunctionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "fixed", "order")
    list_filter = ("fixed",)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "center", "kind", "capacity", "floor_area")
    list_filter = ("kind",)
    search_fields = ("name", "center__name")
    list_select_related = ("center",)


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    """A closure is made through the calendar service, which cancels what it covers;
    it is not edited afterwards (lift it and make a new one)."""

    list_display = ("center", "room", "starts", "ends", "reason", "created_by")
    list_filter = ("center",)
    list_select_related = ("center", "room", "created_by")
    fields = ("center", "room", "starts", "ends", "reason")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Closure, form: object, change: bool) -> None:
        made = services.closure_create(
            actor=request.user,  # type: ignore[arg-type]
            center_id=obj.center_id,
            room_id=obj.room_id,
            starts=obj.starts,
            ends=obj.ends,
            reason=obj.reason,
        )
        obj.pk = made.pk

    def delete_model(self, request: HttpRequest, obj: Closure) -> None:
        services.closure_lift(obj)
        obj.delete()


@admin.register(Occupancy)
class OccupancyAdmin(admin.ModelAdmin):
    """The room calendar, to read: only the calendar service writes it."""

    list_display = ("room", "kind", "title", "starts", "ends", "released_at")
    list_filter = ("kind", "room__center")
    search_fields = ("title", "room__name")
    list_select_related = ("room__center",)
    date_hierarchy = "starts"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
